"""Money actions as the pages and the API start them, each one user action in one
transaction (the caller commits): 汇缴核定 (start the month's application and complete its
task), 缴款 (record the money, then deliver the payment message to every application whose
应缴 it now covers), paying from 未分配, and deleting an unpaid verification.

They live here, not in services, because they drive workflows (the engine) as well as the
domain: an application waits for its payment as a BPMN message event, and allocation is
the service task that message leads to."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import select

from engine import runner
from engine.actors import EMPLOYER_LANE, Actor
from engine.jobs import actor_from, actor_payload, submit_completion
from engine.models import READY, RUNNING, HumanTask, ProcessInstance
from processes.remittance import work_size
from services import allocation, clock, jobs, ledger, payments, remittance
from services.changes import Who
from services.db import db
from services.errors import BusinessRuleViolation, Forbidden, HallError, InvalidInput
from services.models import Payable
from services.models.money import REMIT
from services.money import fmt
from services.months import YearMonth

FINANCE_GROUP = "centre_finance"


def money_text(value: str) -> str:
    return fmt(Decimal(value))
PAID = "payment_arrived"
DELETED = "verification_deleted"


def require_finance(actor: Actor) -> None:
    if not actor.is_staff or FINANCE_GROUP not in actor.groups:
        raise Forbidden("仅中心财务人员（或以财务身份接入的银行接口）可以登记缴款")


def verify_month(actor: Actor, month: str | None = None) -> Payable:
    """【汇缴核定】: the unit's open verification task is completed (or a new application
    started and its task completed at once) for `month`, by default the next one due."""
    task_id, wanted = verification_task(actor, month)
    runner.complete(task_id, actor, {"month": wanted})
    return remittance.month_payable(actor.unit_id, YearMonth.parse(wanted))


def queue_verification(actor: Actor, month: str | None, back: str) -> str:
    """【汇缴核定】 of a large unit as a job (`engine.jobs.submit_completion`), once the
    month's refusals are checked; the job's page says “核定成功” and leads to `back`."""
    task_id, wanted = verification_task(actor, month)
    problem = remittance.refusal(actor.unit_id, YearMonth.parse(wanted), clock.today())
    if problem:
        raise BusinessRuleViolation(problem, {"month": [problem]})
    return submit_completion(task_id, actor, {"month": wanted}, message="核定成功", back=back)


def verification_task(actor: Actor, month: str | None = None) -> tuple[str, str]:
    """The unit's open verification task (a new application started if there is none)
    and the month to verify: `month`, by default the next one due."""
    if not actor.is_operator:
        raise Forbidden("汇缴核定由缴存单位经办人办理")
    task_id = db.session.execute(
        select(HumanTask.id).join(ProcessInstance, ProcessInstance.id == HumanTask.instance_id)
        .where(ProcessInstance.unit_id == actor.unit_id, ProcessInstance.status == RUNNING,
               ProcessInstance.process_key == "remittance", HumanTask.state == READY,
               HumanTask.lane == EMPLOYER_LANE).limit(1)).scalar()
    if task_id is None:
        instance = runner.start("remittance", actor.unit_id, actor)
        task_id = db.session.execute(select(HumanTask.id).where(
            HumanTask.instance_id == instance.id, HumanTask.state == READY)).scalar_one()
    wanted = (month or "").strip()
    if wanted:
        try:
            wanted = str(YearMonth.parse(wanted, "汇缴年月"))
        except ValueError as exc:
            raise InvalidInput(str(exc), {"month": [str(exc)]}) from None
    else:
        wanted = str(remittance.next_month(actor.unit_id))
    return task_id, wanted


def delete_verification(actor: Actor, month: str) -> Payable:
    """删除 on 汇缴核定查询: the month becomes due again and its application ends."""
    if not actor.is_operator:
        raise Forbidden("核定记录由缴存单位经办人删除")
    try:
        parsed = YearMonth.parse(month, "汇缴年月")
    except ValueError as exc:
        raise InvalidInput(str(exc), {"month": [str(exc)]}) from None
    payable = remittance.delete(actor.unit_id, parsed, clock.today())
    if payable.instance_id is not None:
        runner.send_message(payable.instance_id, DELETED, {"month": str(parsed)}, actor=actor)
    return payable


def deliver_payment(data: dict, actor: Actor) -> tuple[dict, bool]:
    """缴款 (转账 / 托收) from centre finance or a bank: the money lands in 未分配, then
    pays each 应缴 it covers, in order. Returns the answer and whether the notice was a
    repeat (then nothing changed and the first delivery's answer is given again)."""
    require_finance(actor)
    notice = payments.check(data if isinstance(data, dict) else {})
    received = payments.receive(notice, actor.key, actor.name, clock.today())
    if received.replayed:
        return payments.result_of(received.payment), True
    paid = settle(notice.unit_id, actor, notice.method)
    waiting = None if paid else next(iter(allocation.queue(notice.unit_id)), None)
    payment = received.payment
    result = {"payment_id": payment.id, "serial_no": payment.serial_no,
              "unit_account": notice.unit_account, "amount": str(payment.amount),
              "method": payment.method, "method_name": payments.METHODS[payment.method],
              "reference": payment.reference, "idempotency_key": payment.idempotency_key,
              "received_on": payment.received_on.isoformat(), "allocated": paid,
              "unallocated": str(ledger.unallocated_balance(notice.unit_id))}
    result["message"] = _told(result, waiting)
    payments.record_result(payment, result)
    return result, False


def _told(result: dict, waiting: Payable | None) -> str:
    """What a delivery did; when it paid nothing, why the 应缴 next in line is still unpaid
    (short, or out of turn) or that none is waiting."""
    paid = "、".join(f"{p['month']} {p['kind_name']} {money_text(p['amount'])} 元"
                    for p in result["allocated"])
    text = f"已登记缴款 {money_text(result['amount'])} 元（{result['method_name']}）"
    if paid:
        text += f"，已分配：{paid}"
    elif waiting is not None and (why := allocation.problem(waiting)):
        text += f"，已计入单位未分配金额，暂未分配（{why}）"
    else:
        text += "，未匹配到待缴的核定月份，已计入单位未分配金额"
    return text + f"；单位未分配金额 {money_text(result['unallocated'])} 元"


def settle(unit_id: int, actor: Actor, method: str) -> list[dict]:
    """Pay every 应缴 the unit's 未分配 now covers, in order. One that another action
    settled meanwhile is left to it (its money stays 未分配)."""
    paid = []
    for item in allocation.coverable(unit_id):
        try:
            paid.append(pay(item, actor, method))
        except HallError:
            continue
    return paid


def pay_from_unallocated(actor: Actor, payable_id: int) -> dict:
    """The unit pays an 应缴 from its 未分配 balance (when that covers it)."""
    if not actor.is_operator:
        raise Forbidden("使用未分配金额缴款由缴存单位经办人办理")
    item = allocation.payable(payable_id, actor.unit_id)
    allocation.check(item)
    return pay(item, actor, "unallocated")


def pay(item: Payable, actor: Actor, method: str) -> dict:
    """Allocate one 应缴: through its application's payment message, or directly for one
    that has no application (made outside the hall)."""
    kind_name = "汇缴" if item.kind == REMIT else "补缴"
    done = {"payable_id": item.id, "kind": item.kind, "kind_name": kind_name,
            "month": str(item.month), "amount": str(item.amount),
            "instance_id": item.instance_id}
    if item.instance_id is None:
        allocation.allocate(item.id, Who(actor.key, actor.name, kind_name), clock.today(), method)
    else:
        runner.send_message(item.instance_id, PAID, {"method": method}, actor=actor)
    return done


# -- a large unit's allocation, off the request ----------------------------------------------

PAYMENT_JOB = "payment_delivery"
PAY_JOB = "pay_from_unallocated"


def is_large(unit_id: int, limit: int) -> bool:
    """Whether allocating the unit's month moves more than `limit` persons."""
    return work_size(unit_id) > limit


def queue_payment(data: dict, actor: Actor, limit: int, back: str) -> str | None:
    """缴款登记 for a unit with more than `limit` persons in 正常 as a job (its 分配
    moves every person's 缴至年月), once the notice itself is valid; None for a smaller unit or
    a notice whose key is already recorded (the caller delivers it at once: a repeat
    answers the first result). The idempotency key goes with the job, so the same notice
    sent again before the job ran queues a job that changes nothing."""
    require_finance(actor)
    notice = payments.check(data if isinstance(data, dict) else {})
    if payments.by_key(notice.idempotency_key) is not None or not is_large(notice.unit_id, limit):
        return None  # a notice already recorded is answered at once, as a repeat
    return jobs.submit(PAYMENT_JOB, {"data": data, "actor": actor_payload(actor), "back": back},
                       owner=actor.key, unit_id=notice.unit_id)


@jobs.handler(PAYMENT_JOB, "缴款登记与分配")
def payment_job(ctx: jobs.JobContext) -> dict:
    result, replayed = deliver_payment(ctx.payload["data"], actor_from(ctx.payload["actor"]))
    return {**result, "replayed": replayed,  # the API's answer, as a small unit's
            "message": ("该笔缴款已登记过（同一表单重复提交），未重复记账。" if replayed else "")
            + result["message"]}


def queue_pay(actor: Actor, payable_id: int, back: str) -> str:
    """使用未分配金额缴款 as a job, once it would be allowed now (the job checks again)."""
    if not actor.is_operator:
        raise Forbidden("使用未分配金额缴款由缴存单位经办人办理")
    allocation.check(allocation.payable(payable_id, actor.unit_id))
    return jobs.submit(PAY_JOB, {"payable_id": payable_id, "actor": actor_payload(actor),
                                 "back": back}, owner=actor.key, unit_id=actor.unit_id)


@jobs.handler(PAY_JOB, "使用未分配金额缴款")
def pay_job(ctx: jobs.JobContext) -> dict:
    paid = pay_from_unallocated(actor_from(ctx.payload["actor"]), ctx.payload["payable_id"])
    return {"message": paid_text(paid)}


def paid_text(paid: dict) -> str:
    return (f"已使用未分配金额缴纳 {paid['month']} {paid['kind_name']} "
            f"{money_text(paid['amount'])} 元，并已分配至职工个人账户")
