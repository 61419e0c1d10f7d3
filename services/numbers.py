"""Reserve account numbers in bulk: one locked counter row per kind of number."""

from __future__ import annotations

from sqlalchemy import select, update

from .db import db
from .identifiers import person_account_number, unit_account_number
from .models import NumberSequence


def reserve(name: str, count: int = 1) -> range:
    """Reserve `count` consecutive sequence values; safe under concurrent transactions
    because the UPDATE locks the counter row until commit."""
    if db.session.get(NumberSequence, name) is None:
        db.session.add(NumberSequence(name=name, next_value=1))
        db.session.flush()
    db.session.execute(update(NumberSequence).where(NumberSequence.name == name)
                       .values(next_value=NumberSequence.next_value + count))
    end = db.session.execute(select(NumberSequence.next_value)
                             .where(NumberSequence.name == name)).scalar_one()
    return range(end - count, end)


def new_unit_accounts(count: int = 1) -> list[str]:
    return [unit_account_number(n) for n in reserve("unit_account", count)]


def new_person_accounts(count: int = 1) -> list[str]:
    return [person_account_number(n) for n in reserve("person_account", count)]
