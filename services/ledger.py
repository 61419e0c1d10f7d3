"""The ledger (业务流水): posting rows and reading balances as sums of rows."""

from __future__ import annotations

import secrets
from datetime import date
from decimal import Decimal

from sqlalchemy import func, select

from .db import db
from .models import LedgerEntry
from .models.ledger import PERSON, UNALLOCATED
from .money import ZERO


def new_serial_no(day: date) -> str:
    """业务流水号: booking date + 10 random digits (the unique key is the row id)."""
    return f"{day:%Y%m%d}{secrets.randbelow(10**10):010d}"


def unit_balance(unit_id: int) -> Decimal:
    """单位账户余额: the sum of the unit's person-account rows (amount + interest)."""
    total = db.session.execute(
        select(func.sum(LedgerEntry.amount), func.sum(LedgerEntry.interest))
        .where(LedgerEntry.unit_id == unit_id, LedgerEntry.account_kind == PERSON)).one()
    return (total[0] or ZERO) + (total[1] or ZERO)


def unallocated_balance(unit_id: int) -> Decimal:
    """单位未分配金额: payments received and not yet allocated to persons."""
    total = db.session.execute(
        select(func.sum(LedgerEntry.amount))
        .where(LedgerEntry.unit_id == unit_id, LedgerEntry.account_kind == UNALLOCATED)
    ).scalar()
    return total or ZERO


def person_balances(person_account_ids: list[int]) -> dict[int, Decimal]:
    if not person_account_ids:
        return {}
    found = _balances_by_account(LedgerEntry.person_account_id.in_(person_account_ids))
    return {pid: found.get(pid, ZERO) for pid in person_account_ids}


def unit_person_balances(unit_id: int) -> dict[int, Decimal]:
    """Every person account's balance in the unit, in one grouped query."""
    return _balances_by_account(LedgerEntry.unit_id == unit_id, LedgerEntry.account_kind == PERSON,
                                LedgerEntry.person_account_id.is_not(None))


def _balances_by_account(*conditions) -> dict[int, Decimal]:
    rows = db.session.execute(
        select(LedgerEntry.person_account_id,
               func.sum(LedgerEntry.amount), func.sum(LedgerEntry.interest))
        .where(*conditions).group_by(LedgerEntry.person_account_id)).all()
    return {row[0]: (row[1] or ZERO) + (row[2] or ZERO) for row in rows}
