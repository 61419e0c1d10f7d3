"""汇缴核定 (manual 5.1) and 汇缴核定查询 (5.2): fixing a month's persons and amounts,
what stops it, the verified-but-unpaid months, their 明细, and deleting one while unpaid.

A verification is set-wise: one INSERT … SELECT writes every person's line of the month
(`reconciliation.month_rows`), however many persons the unit has; the database's unique
index lets one verification of a month stand however many requests race.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from sqlalchemy import bindparam, column, func, insert, literal, select, table
from sqlalchemy.exc import IntegrityError

from . import ledger
from .changes import Who
from .clock import CST
from .db import YearMonthType, db, set_wise
from .errors import BusinessRuleViolation, Conflict, NotFound
from .models import Payable, PayableLine, Person, PersonAccount, Unit, UnitAccount
from .models.ledger import MEMO
from .models.money import ALLOCATED, DELETED, REMIT, UNPAID
from .money import ZERO
from .months import YearMonth
from .reconciliation import Reconciliation, lines_of, month_rows, reconcile

#: Read without importing the engine (services know no workflow): is a base adjustment
#: of the unit still running?
_INSTANCES = table("process_instance", column("id"), column("unit_id"), column("process_key"),
                   column("status"))
_LINE_COLUMNS = ["payable_id", "person_account_id", "month", "base", "unit_amount",
                 "person_amount", "amount"]


def _account(unit_id: int) -> UnitAccount:
    account = db.session.execute(select(UnitAccount).where(UnitAccount.unit_id == unit_id)
                                 ).scalar_one_or_none()
    if account is None:
        raise NotFound("单位不存在")
    return account


def month_payable(unit_id: int, month: YearMonth) -> Payable | None:
    """The standing verification of a month, if any."""
    return db.session.execute(select(Payable).where(
        Payable.unit_id == unit_id, Payable.kind == REMIT, Payable.month == month,
        Payable.active.is_(True))).scalar_one_or_none()


def latest_verified(unit_id: int) -> Payable | None:
    return db.session.execute(select(Payable).where(
        Payable.unit_id == unit_id, Payable.kind == REMIT, Payable.active.is_(True))
        .order_by(Payable.month.desc()).limit(1)).scalar_one_or_none()


def latest_verified_month():
    """The unit's (bindparam `unit_id`) latest verified month, as a scalar subquery: one
    more column of a statement that reads the unit anyway."""
    return (select(func.max(Payable.month))
            .where(Payable.unit_id == bindparam("unit_id"), Payable.kind == REMIT,
                   Payable.active.is_(True)).scalar_subquery())


#: The unit's 应汇缴年月 and its latest verified month, in one read (registration, seals,
#: transfers; a 清册's checks read them with the unit: services.units.unit_facts).
_DUE_AND_LATEST = (select(UnitAccount.paid_through, UnitAccount.first_month,
                          latest_verified_month())
                   .where(UnitAccount.unit_id == bindparam("unit_id")))


def _due_and_latest(unit_id: int) -> tuple[YearMonth, YearMonth | None]:
    found = db.session.execute(_DUE_AND_LATEST, {"unit_id": unit_id}).first()
    if found is None:
        raise NotFound("单位不存在")
    paid_through, first_month, latest = found
    return UnitAccount.due_of(paid_through, first_month), latest


def standing_month(due: YearMonth, latest: YearMonth | None) -> YearMonth | None:
    """The latest month whose 汇缴核定 stands unpaid (its persons and amounts fixed until
    it is paid or deleted), or None: from the 应汇缴年月 and the latest verified month."""
    return latest if latest is not None and latest >= due else None


def verified_through(unit_id: int) -> YearMonth | None:
    """`standing_month` of the unit."""
    return standing_month(*_due_and_latest(unit_id))


def month_after(due: YearMonth, latest: YearMonth | None) -> YearMonth:
    """The month 汇缴核定 opens on: the 应汇缴年月, or the month after the latest one
    verified and not yet paid."""
    return max(due, latest + 1) if latest is not None else due


def next_month(unit_id: int) -> YearMonth:
    """`month_after` of the unit."""
    return month_after(*_due_and_latest(unit_id))


def refusal(unit_id: int, month: YearMonth, today: date, count_persons: bool = True
            ) -> str | None:
    """Why `month` cannot be verified now, in the words the unit reads; None if it can."""
    account = _account(unit_id)
    if account.status == "05":
        return "单位账户已封存，不能办理汇缴核定"
    if account.status == "04":
        return "单位账户已销户，不能办理汇缴核定"
    current = YearMonth.of(today)
    if month > current:
        return f"不能核定未来月份：{month} 尚未到来（当前月份为 {current}）"
    if account.paid_through and month <= account.paid_through:
        return f"{month} 已汇缴（本单位缴至 {account.paid_through}），无需核定"
    # The next month is read before the month's own record: a verification of it that
    # commits between the two reads is then said as 已核定 (the other order said “须逐月
    # 办理：下一个为 <the month after>” to the slower of two simultaneous clicks).
    expected = next_month(unit_id)
    if month_payable(unit_id, month) is not None:
        return f"{month} 已核定，不能重复核定"
    if month != expected:
        return f"汇缴核定须逐月办理：本单位下一个应核定的年月为 {expected}，不能核定 {month}"
    open_adjustment = db.session.execute(select(_INSTANCES.c.id).where(
        _INSTANCES.c.unit_id == unit_id, _INSTANCES.c.process_key == "base_adjustment",
        _INSTANCES.c.status == "running").limit(1)).scalar()
    if open_adjustment is not None:
        return (f"您单位有未办结的基数调整（申请号 #{open_adjustment}），"
                "请办结或结束该流程后再办理汇缴核定")
    if count_persons and not _counts(month_rows(unit_id, month))[0]:
        return f"本单位 {month} 没有状态正常的缴存人，无需核定"
    return None


@dataclass
class Preview:
    """What 单位汇缴核定 shows before the button is pressed."""

    month: YearMonth
    head_count: int
    amount: Decimal
    unit_amount: Decimal
    person_amount: Decimal
    reconciliation: Reconciliation
    problem: str | None
    pay_by: date

    def to_dict(self) -> dict:
        return {"month": str(self.month), "head_count": self.head_count,
                "amount": str(self.amount), "unit_amount": str(self.unit_amount),
                "person_amount": str(self.person_amount), "can_verify": self.problem is None,
                "problem": self.problem, "pay_by": self.pay_by.isoformat(),
                "reconciliation": self.reconciliation.to_dict()}


def preview(unit_id: int, today: date) -> Preview:
    month = next_month(unit_id)
    prev = month_payable(unit_id, month - 1)
    rec = reconcile(month, month_rows(unit_id, month), prev.id if prev else None)
    return Preview(month, rec.count, rec.amount, rec.unit_amount, rec.person_amount, rec,
                   refusal(unit_id, month, today, count_persons=False)
                   or (None if rec.count else f"本单位 {month} 没有状态正常的缴存人，无需核定"),
                   due_date(month, _policy(unit_id)))


def _counts(rows) -> tuple[int, Decimal, Decimal, Decimal]:
    sub = rows.subquery()
    count, amount, unit_amount, person_amount = db.session.execute(select(
        func.count(), func.sum(sub.c.amount), func.sum(sub.c.unit_amount),
        func.sum(sub.c.person_amount))).one()
    return count, amount or ZERO, unit_amount or ZERO, person_amount or ZERO


def _policy(unit_id: int):
    return db.session.get(Unit, unit_id).policy


def due_date(month: YearMonth, policy) -> date:
    """缴款截止日 of a verified month (the policy's day of that month)."""
    return month.first_day() + timedelta(days=policy.remittance_due_day - 1)


def reminder_at(month: YearMonth, policy, today: date) -> str:
    """When an unpaid month is overdue: the start of the day after its due date (Beijing
    time); for a month verified after that, the start of the next day. As the diagram's
    timer reads it: ISO 8601 with the offset."""
    day = max(due_date(month, policy), today) + timedelta(days=1)
    return datetime.combine(day, time(0), CST).isoformat()


def verify(unit_id: int, month: YearMonth, who: Who, today: date) -> Payable:
    """汇缴核定: the month's persons and amounts fixed as lines, its reconciliation
    stored, a 汇缴核定 row in the 业务流水. Refused (BusinessRuleViolation) for any reason
    of `refusal`; a concurrent verification of the same month is a Conflict."""
    problem = refusal(unit_id, month, today, count_persons=False)
    if problem:
        raise BusinessRuleViolation(problem)
    payable = Payable(unit_id=unit_id, kind=REMIT, month=month, instance_id=who.instance_id,
                      status=UNPAID, active=True, created_on=today, actor=who.actor,
                      actor_name=who.actor_name, reconciliation_json="{}")
    try:
        with db.session.begin_nested():
            db.session.add(payable)
            db.session.flush()
    except IntegrityError:
        raise Conflict(f"{month} 已核定，不能重复核定") from None
    rows = month_rows(unit_id, month).subquery()
    prev = month_payable(unit_id, month - 1)
    with set_wise():
        db.session.execute(insert(PayableLine.__table__).from_select(_LINE_COLUMNS, select(
            literal(payable.id), rows.c.person_account_id, literal(month, YearMonthType),
            rows.c.base, rows.c.unit_amount, rows.c.person_amount, rows.c.amount)))
        recon = reconcile(month, lines_of(payable.id), prev.id if prev else None)
    count, amount = recon.count, recon.amount
    unit_amount, person_amount = recon.unit_amount, recon.person_amount
    if not count:
        raise BusinessRuleViolation(f"本单位 {month} 没有状态正常的缴存人，无需核定")
    serial = ledger.new_serial_no(today)
    payable.head_count, payable.amount = count, amount
    payable.unit_amount, payable.person_amount = unit_amount, person_amount
    payable.prev_count, payable.prev_amount = recon.prev_count, recon.prev_amount
    payable.added_count, payable.added_amount = recon.added_count, recon.added_amount
    payable.removed_count, payable.removed_amount = recon.removed_count, recon.removed_amount
    payable.reconciliation_json = recon.breakdown_json()
    payable.verify_serial = serial
    ledger.post([ledger.entry(serial_no=serial, unit_id=unit_id, kind=MEMO, biz_type="verify",
                              summary=f"{month} 汇缴核定", amount=amount, head_count=count,
                              month=month, booked_on=today, instance_id=who.instance_id)])
    db.session.flush()
    return payable


def stored_reconciliation(payable: Payable) -> Reconciliation:
    return Reconciliation.stored(payable.month, payable.prev_count, payable.prev_amount,
                                 payable.reconciliation_json)


def delete(unit_id: int, month: YearMonth, today: date) -> Payable:
    """核定删除: an unpaid verification is withdrawn (the month becomes due again), the
    latest one first; a reversing row keeps the 业务流水 whole."""
    payable = month_payable(unit_id, month)
    if payable is None:
        raise NotFound(f"没有 {month} 的汇缴核定记录")
    if payable.status != UNPAID:
        raise BusinessRuleViolation(f"{month} 已缴款分配，不能删除")
    latest = latest_verified(unit_id)
    if latest is not None and latest.month != month:
        raise BusinessRuleViolation(f"请先删除 {latest.month} 的核定记录（须从最近核定的月份起删除）")
    payable.active, payable.status = None, DELETED
    ledger.post([ledger.entry(
        serial_no=ledger.new_serial_no(today), unit_id=unit_id, kind=MEMO, biz_type="verify",
        summary=f"{month} 汇缴核定删除", amount=-payable.amount, head_count=-payable.head_count,
        month=month, booked_on=today, instance_id=payable.instance_id)])
    db.session.flush()
    return payable


def unallocated(unit_id: int) -> list[Payable]:
    """汇缴核定查询: the verified months not yet paid and allocated, oldest first."""
    return list(db.session.execute(select(Payable).where(
        Payable.unit_id == unit_id, Payable.kind == REMIT, Payable.active.is_(True),
        Payable.status != ALLOCATED).order_by(Payable.month)).scalars())


def lines(payable_id: int, page: int = 1, per_page: int = 20) -> tuple[list[dict], int]:
    """明细: a verification's persons, by 个人账号; per_page 0 gives all (export, print)."""
    total = db.session.execute(select(func.count()).select_from(PayableLine).where(
        PayableLine.payable_id == payable_id)).scalar_one()
    query = (select(PersonAccount.account_no, Person.name, Person.id_number, PayableLine.base,
                    PayableLine.unit_amount, PayableLine.person_amount, PayableLine.amount)
             .join(PersonAccount, PersonAccount.id == PayableLine.person_account_id)
             .join(Person, Person.id == PersonAccount.person_id)
             .where(PayableLine.payable_id == payable_id).order_by(PersonAccount.account_no))
    if per_page:
        query = query.limit(per_page).offset((page - 1) * per_page)
    return [{"person_account": r[0], "name": r[1], "id_number": r[2], "base": r[3],
             "unit_amount": r[4], "person_amount": r[5], "monthly_amount": r[6]}
            for r in db.session.execute(query).all()], total


def payable_dict(payable: Payable) -> dict:
    return {"payable_id": payable.id, "kind": payable.kind, "month": str(payable.month),
            "head_count": payable.head_count, "amount": str(payable.amount),
            "unit_amount": str(payable.unit_amount),
            "person_amount": str(payable.person_amount), "status": payable.status,
            "status_name": {UNPAID: "未缴款", ALLOCATED: "已分配", DELETED: "已删除"}
            .get(payable.status, payable.status),
            "verified_on": payable.created_on.isoformat(), "instance_id": payable.instance_id,
            "verify_serial": payable.verify_serial,
            "reconciliation": stored_reconciliation(payable).to_dict()
            if payable.kind == REMIT else None}
