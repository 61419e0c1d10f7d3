"""The money print points (see web/printing.py): 汇补缴书 of a verified month, the 补缴
application's 凭条 and 补缴书, 业务流水 and its 明细, 缴费凭条. A unit prints only its own;
an application's papers, whoever may see the application."""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy import exists, select

from engine import history
from engine.actors import EMPLOYER_LANE, Actor
from engine.models import DONE, HumanTask
from engine.queries import instance_for
from forms.review import APPROVE
from services import clock, documents, unit_query
from services.db import db
from services.documents import money as builders
from services.errors import BusinessRuleViolation, Forbidden, NotFound
from services.models import Payable
from services.months import YearMonth

from .printing import OWN_UNIT, print_point

BACK_PAY = "back_pay"


def _operator(actor: Actor) -> int:
    if not actor.is_operator:
        raise Forbidden("该文件由缴存单位经办人打印")
    return actor.unit_id


def _own_dates(actor: Actor, ref: str, args: Mapping[str, str]) -> tuple[int, dict]:
    """The unit of a print of its own list (`ref` me) and the dates it is filtered by."""
    if ref != OWN_UNIT:
        raise NotFound("没有这份打印文件")
    unit_id = _operator(actor)
    dates, problems = clock.dates_from(args, ("since", "开始日期"), ("until", "结束日期"))
    if problems:
        raise BusinessRuleViolation("查询条件有误：" + "；".join(problems.values()))
    return unit_id, dates


@print_point("remittance_notice")
def remittance_notice(actor: Actor, ref: str, args: Mapping[str, str]) -> documents.Document:
    """5.2 打印: the 汇补缴书 of a verified month; `ref` is the month (2026-11)."""
    unit_id = _operator(actor)
    try:
        month = YearMonth.parse(ref[:10], "汇缴年月")
    except ValueError:
        raise NotFound("没有这份汇补缴书") from None
    return builders.remittance_notice(unit_id, month)


def _back_pay(ref: str, actor: Actor):
    if not ref.isdigit() or len(ref) > 12:
        raise NotFound("业务申请不存在")
    instance = instance_for(int(ref), actor)
    if instance.process_key != BACK_PAY:
        raise NotFound("该申请不是补缴")
    return instance


def _submitted(detail: dict) -> bool:
    return detail["process_key"] == BACK_PAY and db.session.execute(select(exists().where(
        HumanTask.instance_id == detail["instance_id"], HumanTask.state == DONE,
        HumanTask.form_key == "back_pay.edit"))).scalar()


def _approved(detail: dict) -> bool:
    return detail["process_key"] == BACK_PAY and db.session.execute(select(exists().where(
        Payable.instance_id == detail["instance_id"], Payable.kind == BACK_PAY))).scalar()


@print_point("back_pay_receipt", label="打印凭条", shows_on=_submitted)
def back_pay_receipt(actor: Actor, ref: str, args: Mapping[str, str]) -> documents.Document:
    """Ch.6 the 凭条 of a back pay submitted for approval; `ref` is the application."""
    instance = _back_pay(ref, actor)
    submitted = [t for t in history.trail(instance.id)
                 if t.lane == EMPLOYER_LANE and t.state == DONE and t.form_key == "back_pay.edit"]
    if not submitted:
        raise BusinessRuleViolation("该补缴尚未提交审批，还没有凭条")
    last = submitted[-1]
    return builders.back_pay_receipt(instance.unit_id, instance.id,
                                     last.completed_by_name or "", last.completed_at)


@print_point("back_pay_notice", label="打印补缴书", shows_on=_approved)
def back_pay_notice(actor: Actor, ref: str, args: Mapping[str, str]) -> documents.Document:
    """Ch.6 the 补缴书 of an approved back pay; `ref` is the application."""
    instance = _back_pay(ref, actor)
    approvals = [t for t in history.trail(instance.id) if t.decision == APPROVE and t.completed_at]
    if not approvals:
        raise BusinessRuleViolation("该补缴尚未审核通过，还没有补缴书")
    review = approvals[-1]
    return builders.back_pay_notice(instance.unit_id, instance.id, review.completed_by_name or "",
                                    review.completed_at)


@print_point("ledger")
def ledger(actor: Actor, ref: str, args: Mapping[str, str]) -> documents.Document:
    """8.3 打印: the 业务流水 as filtered (type, since, until)."""
    unit_id, dates = _own_dates(actor, ref, args)
    return builders.ledger(unit_id, unit_query.parse_type(args.get("type")), dates["since"],
                           dates["until"], clock.today())


@print_point("unit_account")
def unit_account(actor: Actor, ref: str, args: Mapping[str, str]) -> documents.Document:
    """8.2 打印: 账户信息 for the dates the page shows, with the period's 业务流水."""
    unit_id, dates = _own_dates(actor, ref, args)
    since, until, _ = unit_query.account_period(dates["since"], dates["until"], clock.today())
    return builders.unit_account(unit_id, since, until, clock.today())


@print_point("ledger_details")
def ledger_details(actor: Actor, ref: str, args: Mapping[str, str]) -> documents.Document:
    """8.3 明细 【打印】: one 业务流水's persons; `ref` is its 业务流水号."""
    return builders.ledger_details(_operator(actor), ref, clock.today())


@print_point("payment_receipt")
def payment_receipt(actor: Actor, ref: str, args: Mapping[str, str]) -> documents.Document:
    """8.3.3 打印缴费凭条 of one 缴款; `ref` is its 业务流水号."""
    return builders.payment_receipt(_operator(actor), ref)
