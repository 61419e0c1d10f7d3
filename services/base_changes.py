"""基数调整生效: new bases and amounts from a 生效年月, written set-wise (one statement per
table for any number of persons), with a base period and change records for each."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from . import changes
from .db import defer, utcnow
from .direct_sql import insert_rows, update_by_key
from .models import BasePeriod, PersonAccount
from .months import YearMonth

#: (field, label) of what a base adjustment changes, in the order records show them.
FIELDS = (("base", "缴存基数"), ("person_rate", "个人缴存比例"), ("unit_amount", "单位月缴存额"),
          ("person_amount", "个人月缴存额"))
_CHANGED = tuple(field for field, _ in FIELDS)


@dataclass(frozen=True)
class NewBase:
    account_id: int
    base: Decimal
    person_rate: Decimal
    unit_amount: Decimal
    person_amount: Decimal
    from_month: YearMonth


def apply_new_bases(unit_id: int, unit_rate: Decimal, new_bases: list[NewBase],
                    who: changes.Who, current: dict) -> None:
    """Set each account's base, person rate and amounts; record what they were (`current`:
    the accounts as `persons.refs_by_ids` read them, by id)."""
    if not new_bases:
        return
    now = utcnow()
    defer(update_by_key, PersonAccount, "id", _CHANGED, [
        (n.account_id, n.base, n.person_rate, n.unit_amount, n.person_amount)
        for n in new_bases], {"updated_at": now})
    defer(insert_rows, BasePeriod, [
        {"person_account_id": n.account_id, "from_month": n.from_month, "base": n.base,
         "unit_rate": unit_rate, "person_rate": n.person_rate, "unit_amount": n.unit_amount,
         "person_amount": n.person_amount, "instance_id": who.instance_id, "created_at": now}
        for n in new_bases])
    records = []
    for n in new_bases:
        old = current[n.account_id]
        records += changes.change_rows(
            unit_id=unit_id, subject="person", person_account_id=n.account_id, who=who, at=now,
            changes=[(field, label, getattr(old, field), getattr(n, field))
                     for field, label in FIELDS])
    changes.record(records)
