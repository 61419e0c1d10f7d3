"""上月 + 增加 − 减少 = 本月: how a month's remittance differs from the month before, in
persons and money, each change named by the business that caused it.

Who takes part in a month is one SELECT (`month_rows`): the unit's persons in 正常 with
the base period in force that month. The month before is the verified lines of its
remittance. Comparing the two sets is one grouped query over their full join, whatever
the unit's size: who joined (and why: the latest account event that made them 正常: 登记,
启封, 转入), who left (封存, 转出) and whose amount changed (基数调整, up or down). The
equation holds by construction; the causes explain it.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from decimal import Decimal

from sqlalchemy import and_, case, exists, func, literal, or_, select, type_coerce

from .db import Money, db
from .models import AccountEvent, BasePeriod, PayableLine, PersonAccount
from .models.account_event import TRANSFER_IN, TRANSFER_OUT
from .models.person import ACTIVE
from .money import ZERO
from .months import YearMonth

#: Causes of a change, by account event kind; 基数调整 from base periods.
JOIN_CAUSES = {"open": "登记", "unseal": "启封", TRANSFER_IN: "转入"}
LEAVE_CAUSES = {"seal": "封存", TRANSFER_OUT: "转出"}
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
    #: This month's 单位 / 个人 sides (as `reconcile` summed them; not stored).
    unit_amount: Decimal = ZERO
    person_amount: Decimal = ZERO

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
    before (none for a unit's first month: everyone then joins), in one pass: a full join
    of the two sets, each person classed as joined, left, raised, lowered or the same,
    and the joined and the left named by their latest account event."""
    cur = current.subquery("cur")
    prev = lines_of(prev_payable_id if prev_payable_id is not None else -1).subquery("prev")
    kind = case((prev.c.person_account_id.is_(None), literal("joined")),
                (cur.c.person_account_id.is_(None), literal("left")),
                (cur.c.amount > prev.c.amount, literal("raised")),
                (cur.c.amount < prev.c.amount, literal("lowered")), else_=literal("same"))
    cause = case(
        (prev.c.person_account_id.is_(None), _latest_event(cur.c.person_account_id, True, month)),
        (cur.c.person_account_id.is_(None),
         _latest_event(prev.c.person_account_id, False, month)))
    both = (select(kind.label("kind"), cause.label("cause"), cur.c.amount.label("cur_amount"),
                   prev.c.amount.label("prev_amount"), cur.c.unit_amount, cur.c.person_amount)
            .select_from(cur.outerjoin(prev, prev.c.person_account_id == cur.c.person_account_id,
                                       full=True)).subquery("both"))
    rows = db.session.execute(select(
        both.c.kind, both.c.cause, func.count(), func.sum(both.c.cur_amount),
        func.sum(both.c.prev_amount), func.sum(both.c.unit_amount),
        func.sum(both.c.person_amount)).group_by(both.c.kind, both.c.cause)).all()
    result = Reconciliation(month)
    added: dict[str, Cause] = {}
    removed: dict[str, Cause] = {}
    for kind_, key, count, now, before, unit_amount, person_amount in rows:
        now, before = _money(now), _money(before)
        result.unit_amount += _money(unit_amount)
        result.person_amount += _money(person_amount)
        if kind_ != "joined":
            result.prev_count += count
            result.prev_amount += before
        if kind_ == "joined":
            _add(added, key if key in JOIN_CAUSES else OTHER, count, now)
        elif kind_ == "left":
            _add(removed, key if key in LEAVE_CAUSES else OTHER, count, before)
        elif kind_ == "raised":
            _add(added, BASE, 0, now - before)
        elif kind_ == "lowered":
            _add(removed, BASE, 0, before - now)
    result.added = _ordered(added, [*JOIN_CAUSES, BASE, OTHER])
    result.removed = _ordered(removed, [*LEAVE_CAUSES, BASE, OTHER])
    return result


def _latest_event(account_id, joined: bool, month: YearMonth):
    """The change of the latest account event, effective by `month`, that made the account
    正常 (joined) or took it out of the unit's month (left): 封存, or 转出. A person leaves
    by 转出 only once sealed (转出 is 封存 → 封存), so when both fall between two months the
    later one names why they are gone: they are no longer the unit's at all. Only events
    effective by then: a person transferred in carries events of the old unit, whose
    months run on that unit's calendar and may lie after this unit's month."""
    events = AccountEvent.__table__
    condition = events.c.to_status == ACTIVE if joined else \
        events.c.change.in_(list(LEAVE_CAUSES))
    return (select(events.c.change).where(events.c.person_account_id == account_id, condition,
                                          events.c.month <= month)
            .order_by(events.c.month.desc(), events.c.id.desc()).limit(1).scalar_subquery())


def _add(causes: dict[str, Cause], key: str, count: int, amount: Decimal) -> None:
    found = causes.setdefault(key, Cause(key, LABELS[key], 0, ZERO))
    found.count += count
    found.amount += amount


def _ordered(causes: dict[str, Cause], order: list[str]) -> list[Cause]:
    return [causes[key] for key in order if key in causes]


def _money(value) -> Decimal:
    """A SUM the database typed as Money (Decimal) or as a plain integer of 分."""
    if value is None:
        return ZERO
    return value if isinstance(value, Decimal) else Decimal(int(value)).scaleb(-2)
