"""上月 + 增加 − 减少 = 本月: how a month's remittance differs from the month before, in
persons and money, each change named by the business that caused it.

Who takes part in a month is one SELECT (`month_rows`): the unit's persons in 正常 with
the base period in force that month. The month before is the verified lines of its
remittance. Comparing the two sets is three grouped queries, whatever the unit's size:
who joined (and why: the latest account event that made them 正常: 登记, 启封, 转入), who
left (封存, 转出) and whose amount changed (基数调整, up or down). The equation holds by
construction; the causes explain it.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from decimal import Decimal

from sqlalchemy import and_, case, exists, func, literal, or_, select, type_coerce

from .db import Money, db
from .models import AccountEvent, BasePeriod, PayableLine, PersonAccount
from .models.person import ACTIVE
from .money import ZERO
from .months import YearMonth

#: Causes of a change, by account event kind; 基数调整 from base periods.
JOIN_CAUSES = {"open": "登记", "unseal": "启封", "transfer_in": "转入"}
LEAVE_CAUSES = {"seal": "封存", "transfer_out": "转出"}
BASE, OTHER = "base", "other"
LABELS = {**JOIN_CAUSES, **LEAVE_CAUSES, BASE: "基数调整", OTHER: "其他"}


@dataclass
class Cause:
    key: str
    label: str
    count: int
    amount: Decimal


@dataclass
class Reconciliation:
    month: YearMonth
    prev_count: int = 0
    prev_amount: Decimal = ZERO
    added: list[Cause] = field(default_factory=list)
    removed: list[Cause] = field(default_factory=list)

    @property
    def added_count(self) -> int:
        return sum(c.count for c in self.added)

    @property
    def added_amount(self) -> Decimal:
        return sum((c.amount for c in self.added), ZERO)

    @property
    def removed_count(self) -> int:
        return sum(c.count for c in self.removed)

    @property
    def removed_amount(self) -> Decimal:
        return sum((c.amount for c in self.removed), ZERO)

    @property
    def count(self) -> int:
        return self.prev_count + self.added_count - self.removed_count

    @property
    def amount(self) -> Decimal:
        return self.prev_amount + self.added_amount - self.removed_amount

    def to_dict(self) -> dict:
        return {"month": str(self.month), "prev_month": str(self.month - 1),
                "prev_count": self.prev_count, "prev_amount": str(self.prev_amount),
                "added_count": self.added_count, "added_amount": str(self.added_amount),
                "removed_count": self.removed_count, "removed_amount": str(self.removed_amount),
                "count": self.count, "amount": str(self.amount),
                "added": [_cause_dict(c) for c in self.added],
                "removed": [_cause_dict(c) for c in self.removed]}

    def breakdown_json(self) -> str:
        return json.dumps({"added": [_cause_dict(c) for c in self.added],
                           "removed": [_cause_dict(c) for c in self.removed]},
                          ensure_ascii=False)

    @classmethod
    def stored(cls, month: YearMonth, prev_count: int, prev_amount: Decimal,
               breakdown: str) -> Reconciliation:
        data = json.loads(breakdown or "{}")
        return cls(month, prev_count, prev_amount,
                   [_cause(c) for c in data.get("added", [])],
                   [_cause(c) for c in data.get("removed", [])])


def _cause_dict(cause: Cause) -> dict:
    return {**asdict(cause), "amount": str(cause.amount)}


def _cause(data: dict) -> Cause:
    return Cause(data["key"], data["label"], int(data["count"]), Decimal(data["amount"]))


def month_rows(unit_id: int, month: YearMonth):
    """Who a month's remittance lists and for how much: the unit's accounts in 正常, opened
    by that month, each with the base period in force then (the latest one from on or
    before it; an account with none yet is taken at its current amounts)."""
    accounts, periods = PersonAccount.__table__, BasePeriod.__table__
    later = periods.alias("later")
    superseded = exists().where(
        later.c.person_account_id == periods.c.person_account_id, later.c.from_month <= month,
        or_(later.c.from_month > periods.c.from_month,
            and_(later.c.from_month == periods.c.from_month, later.c.id > periods.c.id)))
    joined = accounts.outerjoin(periods, and_(
        periods.c.person_account_id == accounts.c.id, periods.c.from_month <= month, ~superseded))
    unit_amount = func.coalesce(periods.c.unit_amount, accounts.c.unit_amount)
    person_amount = func.coalesce(periods.c.person_amount, accounts.c.person_amount)
    return (select(accounts.c.id.label("person_account_id"),
                   type_coerce(func.coalesce(periods.c.base, accounts.c.base), Money).label("base"),
                   type_coerce(unit_amount, Money).label("unit_amount"),
                   type_coerce(person_amount, Money).label("person_amount"),
                   type_coerce(unit_amount + person_amount, Money).label("amount"))
            .select_from(joined)
            .where(accounts.c.unit_id == unit_id, accounts.c.status == ACTIVE,
                   accounts.c.first_month <= month))


def lines_of(payable_id: int):
    """A verified month's lines, in the shape of `month_rows`."""
    lines = PayableLine.__table__
    return select(lines.c.person_account_id, lines.c.base, lines.c.unit_amount,
                  lines.c.person_amount, lines.c.amount).where(lines.c.payable_id == payable_id)


def reconcile(month: YearMonth, current, prev_payable_id: int | None) -> Reconciliation:
    """Compare `current` (rows shaped like `month_rows`) with the lines of the month
    before (none for a unit's first month: everyone then joins)."""
    cur = current.subquery("cur")
    prev = (lines_of(prev_payable_id) if prev_payable_id is not None
            else lines_of(-1)).subquery("prev")
    result = Reconciliation(month)
    count, amount = db.session.execute(select(func.count(), func.sum(prev.c.amount))).one()
    result.prev_count, result.prev_amount = count, amount or ZERO

    result.added = _by_cause(cur, prev, JOIN_CAUSES, to_status=True)
    result.removed = _by_cause(prev, cur, LEAVE_CAUSES, to_status=False)
    diff = type_coerce(cur.c.amount - prev.c.amount, Money)
    up, down, raised, lowered = db.session.execute(
        select(func.sum(case((cur.c.amount > prev.c.amount, diff), else_=literal(0))),
               func.sum(case((cur.c.amount < prev.c.amount, -diff), else_=literal(0))),
               func.sum(case((cur.c.amount > prev.c.amount, 1), else_=0)),
               func.sum(case((cur.c.amount < prev.c.amount, 1), else_=0)))
        .select_from(cur.join(prev, prev.c.person_account_id == cur.c.person_account_id))).one()
    if raised:
        result.added.append(Cause(BASE, LABELS[BASE], 0, _money(up)))
    if lowered:
        result.removed.append(Cause(BASE, LABELS[BASE], 0, _money(down)))
    return result


def _by_cause(side, other, causes: dict[str, str], to_status: bool) -> list[Cause]:
    """Persons in `side` and not in `other`, grouped by the account event that explains
    it: the latest that made them 正常 (joined) or took them out of it (left)."""
    events = AccountEvent.__table__
    condition = events.c.to_status == ACTIVE if to_status else and_(
        events.c.from_status == ACTIVE, events.c.change.in_(list(causes)))
    cause = (select(events.c.change).where(events.c.person_account_id == side.c.person_account_id,
                                           condition)
             .order_by(events.c.month.desc(), events.c.id.desc()).limit(1).scalar_subquery())
    apart = (select(side.c.amount, cause.label("cause"))
             .select_from(side.outerjoin(other, other.c.person_account_id
                                         == side.c.person_account_id))
             .where(other.c.person_account_id.is_(None)).subquery("apart"))
    rows = db.session.execute(select(apart.c.cause, func.count(), func.sum(apart.c.amount))
                              .group_by(apart.c.cause)).all()
    found = []
    for key, count, amount in rows:
        key = key if key in causes else OTHER
        found.append(Cause(key, LABELS[key], count, _money(amount)))
    order = [*causes, OTHER]
    merged: dict[str, Cause] = {}
    for item in sorted(found, key=lambda c: order.index(c.key)):
        if item.key in merged:
            merged[item.key].count += item.count
            merged[item.key].amount += item.amount
        else:
            merged[item.key] = item
    return list(merged.values())


def _money(value) -> Decimal:
    """A SUM the database typed as Money (Decimal) or as a plain integer of 分."""
    if value is None:
        return ZERO
    return value if isinstance(value, Decimal) else Decimal(int(value)).scaleb(-2)
