"""分配: money in 未分配 credited to the persons an 应缴 lists, in one transaction and
set-wise (booking the 应缴 under a 业务流水号 makes its lines the persons' ledger rows; one
UPDATE moves their 缴至年月), and which unpaid 应缴 the unit's 未分配 can pay, in the
order they must be paid."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import literal, select, update

from . import changes, ledger
from .changes import Who
from .db import YearMonthType, db, set_wise, utcnow
from .errors import BusinessRuleViolation, Conflict, NotFound
from .models import Payable, PayableLine, PersonAccount, UnitAccount
from .models.ledger import UNALLOCATED
from .models.money import ALLOCATED, BACK_PAY, REMIT, UNPAID
from .models.org import UNIT_STATUSES
from .money import fmt
from .months import YearMonth

#: How a payment reached the unit's 未分配, as the 分配 row's 摘要 says.
METHODS = {"transfer": "转账", "collection": "托收", "unallocated": "未分配金额"}


@dataclass(frozen=True)
class Allocated:
    payable_id: int
    kind: str
    month: YearMonth
    amount: Decimal
    head_count: int
    serial_no: str
    instance_id: int | None

    def to_dict(self) -> dict:
        return {"payable_id": self.payable_id, "kind": self.kind, "month": str(self.month),
                "amount": str(self.amount), "head_count": self.head_count,
                "serial_no": self.serial_no, "instance_id": self.instance_id}


def payable(payable_id: int, unit_id: int | None = None) -> Payable:
    found = db.session.get(Payable, payable_id)
    if found is None or (unit_id is not None and found.unit_id != unit_id):
        raise NotFound("应缴记录不存在")
    return found


def problem(item: Payable, available: Decimal | None = None) -> str | None:
    """Why `item` cannot be allocated now (None if it can): already done, out of turn
    (months are paid in order: 缴至年月 moves one month at a time), or not covered."""
    if item.status != UNPAID or not item.active:
        return f"{_name(item)}已分配或已删除"
    if item.kind == REMIT:
        due = db.session.execute(select(UnitAccount).where(
            UnitAccount.unit_id == item.unit_id)).scalar_one().due_month
        if item.month != due:
            return f"须先缴纳 {due} 的汇缴，才能缴纳 {item.month}"
    available = ledger.unallocated_balance(item.unit_id) if available is None else available
    if available < item.amount:
        return (f"单位未分配金额 {fmt(available)} 元，不足以缴纳{_name(item)}"
                f"（{fmt(item.amount)} 元）")
    return None


def check(item: Payable) -> None:
    """Raise why `item` cannot be allocated now: a Conflict if it already was (or was
    deleted), else the rule it breaks."""
    reason = problem(item)
    if reason:
        raise BusinessRuleViolation(reason) if item.status == UNPAID and item.active \
            else Conflict(reason)


def _name(item: Payable) -> str:
    return f" {item.month} 汇缴" if item.kind == REMIT else "补缴"


def allocate(payable_id: int, who: Who, day: date, method: str) -> Allocated:
    """分配: the persons' rows, 未分配 reduced by as much, 缴至年月 moved (a remittance;
    a unit in 开户 becomes 正常), the 应缴 marked allocated. Refused with the reason of
    `problem`. Taking the money and marking the 应缴 are each one guarded UPDATE (in
    that order, the order a payment's own allocations lock them), so they hold under
    races: of two allocations of one 应缴 (one without an application has no lock), the
    second finds it taken and changes nothing."""
    item = payable(payable_id)
    check(item)
    serial = ledger.new_serial_no(day)
    label = f"{item.month} 汇缴" if item.kind == REMIT else "补缴"
    way = METHODS.get(method, method)
    now = utcnow()
    unit_row = ledger.entry(
        serial_no=serial, unit_id=item.unit_id, kind=UNALLOCATED, biz_type=item.kind,
        summary=f"{label}分配（{way}）", amount=-item.amount, head_count=item.head_count,
        month=item.month, booked_on=day, instance_id=item.instance_id, created_at=now)
    with db.session.begin_nested():  # a Conflict undoes the money's move too
        ledger.allocate(item.unit_id, item.amount, unit_row)
        # Booked: from here the lines are the persons' ledger rows (ledger.PERSON_ROWS).
        booked = db.session.execute(update(Payable).where(
            Payable.id == item.id, Payable.status == UNPAID, Payable.active.is_(True)).values(
            status=ALLOCATED, allocate_serial=serial, allocated_on=day, allocated_at=now,
            ledger_summary=label).execution_options(synchronize_session=False))
        if not booked.rowcount:
            raise Conflict(f"{_name(item)}已分配或已删除")
    if item.kind == REMIT:
        with set_wise():
            _move_paid_through(item, who)
    allocated = Allocated(item.id, item.kind, item.month, item.amount, item.head_count, serial,
                          item.instance_id)
    db.session.expire(item)
    return allocated


def _move_paid_through(item: Payable, who: Who) -> None:
    """缴至年月 of the listed persons and of the unit become the month; a unit in 开户
    becomes 正常 (a change record says so; the monthly 缴至年月 is in the 业务流水)."""
    lines = PayableLine.__table__
    accounts = PersonAccount.__table__
    listed = select(lines.c.person_account_id).where(lines.c.payable_id == item.id)
    db.session.execute(update(accounts).where(accounts.c.id.in_(listed))
                       .values(paid_through=literal(item.month, YearMonthType)))
    account = db.session.execute(select(UnitAccount).where(
        UnitAccount.unit_id == item.unit_id)).scalar_one()
    if account.status == "02":
        changes.record_changes(unit_id=item.unit_id, subject="unit", who=who, changes=[
            ("status", "单位账户状态", UNIT_STATUSES["02"], UNIT_STATUSES["01"])])
        account.status = "01"
    account.paid_through = item.month


def queue(unit_id: int) -> list[Payable]:
    """Unpaid 应缴 of the unit in the order money pays them: its verified months first
    (each month's 汇补缴书 asks for exactly its amount, and an unpaid month is overdue),
    then its back pays, each kind in the order they were made."""
    return list(db.session.execute(select(Payable).where(
        Payable.unit_id == unit_id, Payable.status == UNPAID, Payable.active.is_(True))
        .order_by(Payable.kind != REMIT, Payable.id)).scalars())


def coverable(unit_id: int, available: Decimal | None = None) -> list[Payable]:
    """The unpaid 应缴 that 未分配 pays now, in `queue` order: remittance months one after
    the other from the 应汇缴年月 while the money covers each in full (money that matches
    no verified month stays 未分配); then back pays whenever the money left covers them."""
    available = ledger.unallocated_balance(unit_id) if available is None else available
    due = db.session.execute(select(UnitAccount).where(
        UnitAccount.unit_id == unit_id)).scalar_one().due_month
    chosen, remits_stopped = [], False
    for item in queue(unit_id):
        if item.kind == REMIT:
            if remits_stopped or item.month != due or item.amount > available:
                remits_stopped = True
                continue
            due = due + 1
        elif item.kind != BACK_PAY or item.amount > available:
            continue
        chosen.append(item)
        available -= item.amount
    return chosen
