"""汇缴 handlers: 汇缴核定 when the employer completes the task, 分配 when the payment
message arrives. The rules are in services.remittance and services.allocation; here the
diagram's steps call them, with the writes held until the steps are done."""

from __future__ import annotations

import math
from datetime import UTC, datetime

from sqlalchemy import select

from services import allocation, clock, remittance
from services.changes import Who
from services.db import count_capped, db, defer
from services.errors import BusinessRuleViolation, InvalidInput, NotFound
from services.models import Payable, PersonAccount
from services.models.person import ACTIVE
from services.money import fmt
from services.months import YearMonth
from services.units import get_unit

from . import Business, handler, register_business
from .context import HandlerContext

KEY = "remittance"


def initial_data(ctx: HandlerContext) -> dict:
    unit = get_unit(ctx.unit_id)
    return {"unit_account": unit.account.account_no, "unit_name": unit.name,
            "month": str(remittance.next_month(ctx.unit_id))}


def start_data(ctx: HandlerContext, data: dict) -> dict:
    """INTERFACES: a start may name the month, `{"month": "YYYY-MM"}` (default: the 应汇缴年月);
    whether that month may be verified is the verify step's rule, said when it runs."""
    unknown = set(data) - {"month"}
    if unknown:
        raise InvalidInput("发起时只能指定汇缴年月", {k: ["不允许的字段"] for k in sorted(unknown)})
    if data.get("month") in (None, ""):
        return {}
    try:
        return {"month": str(YearMonth.parse(str(data["month"]), "汇缴年月"))}
    except ValueError as exc:
        raise InvalidInput(str(exc), {"month": [str(exc)]}) from None


def work_size(unit_id: int) -> int:
    """The unit's persons in 正常 (capped): 汇缴核定 writes a line for each."""
    return count_capped(select(PersonAccount.id).where(PersonAccount.unit_id == unit_id,
                                                       PersonAccount.status == ACTIVE))


BUSINESS = register_business(Business(key=KEY, name="汇缴", initial_data=initial_data,
                                      start_data=start_data, work_size=work_size))


@handler("remittance.verify")
def verify(ctx: HandlerContext, data: dict) -> dict:
    """汇缴核定: refused with the reason (a future month, out of sequence, an unfinished
    base adjustment, a sealed unit); else the month is fixed once the steps are done."""
    try:
        month = YearMonth.parse(data.get("month") or "", "汇缴年月")
    except ValueError as exc:
        raise InvalidInput(str(exc), {"month": [str(exc)]}) from None
    today = clock.today()
    problem = remittance.refusal(ctx.unit_id, month, today)
    if problem:
        raise BusinessRuleViolation(problem, {"month": [problem]})
    who = Who(ctx.initiator, ctx.initiator_name, "汇缴", ctx.instance_id)
    defer(remittance.verify, ctx.unit_id, month, who, today)
    policy = get_unit(ctx.unit_id).policy
    remind_at = datetime.fromisoformat(remittance.reminder_at(month, policy, today))
    wait = max(1, math.ceil((remind_at - ctx.now.replace(tzinfo=UTC)).total_seconds()))
    # The reminder timer waits this long (ISO 8601), from the moment the month was verified.
    return {"month": str(month), "due_date": str(remittance.due_date(month, policy)),
            "remind_at": remind_at.isoformat(), "remind_in": f"PT{wait}S"}


def allocate_waiting(ctx: HandlerContext, data: dict, business: str) -> dict:
    """分配 of the 应缴 this application waits for, paid as the message says (转账, 托收,
    or the unit's 未分配); shared by 汇缴 and 补缴."""
    item = db.session.execute(select(Payable).where(
        Payable.instance_id == ctx.instance_id, Payable.active.is_(True))).scalar_one_or_none()
    if item is None:
        raise NotFound("该业务没有待分配的应缴记录")
    allocation.check(item)
    method = str((data.get("payment") or {}).get("method") or "transfer")
    who = Who(ctx.actor, ctx.actor_name, business, ctx.instance_id)
    defer(allocation.allocate, item.id, who, clock.today(), method)
    return {"month": str(item.month), "amount": fmt(item.amount), "head_count": item.head_count,
            "method": allocation.METHODS.get(method, method)}


@handler("remittance.allocate")
def allocate(ctx: HandlerContext, data: dict) -> dict:
    return allocate_waiting(ctx, data, "汇缴")
