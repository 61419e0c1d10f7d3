"""The ledger (业务流水): posting rows and reading balances.

Every money row moves a balance: a person's account (P), the unit's 未分配 (U), or none
(M, a memo such as a verification). A person's rows are `PERSON_ROWS`: those posted here
and the lines of every allocated 应缴, which 分配 books rather than copies. The unit's
two totals live in `unit_balance`, moved by the same transaction that posts the rows, so
the home page reads one row however long the history (tests/money_helpers.py
`check_books` proves after every money step that they equal the sums of the rows). Post
through `post` (rows given), `post_select` (an INSERT … SELECT) or `allocate`, never by
inserting rows alone.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import BigInteger, func, insert, literal_column, select, type_coerce, union_all, update
from sqlalchemy.dialects import postgresql, sqlite

from .db import db, utcnow
from .direct_sql import insert_rows
from .errors import BusinessRuleViolation
from .models import LedgerEntry, Payable, PayableLine, UnitBalance
from .models.ledger import MEMO, PERSON, UNALLOCATED
from .money import ZERO, fmt
from .months import YearMonth

__all__ = ["MEMO", "PERSON", "PERSON_ROWS", "UNALLOCATED", "Balances", "allocate",
           "balance_in_unit", "cents_sum", "entry",
           "move", "new_serial_no", "person_balances", "post", "post_select", "totals",
           "unallocated_balance", "unit_balance", "unit_person_balances", "yuan"]

_BALANCES = UnitBalance.__table__
LEDGER = LedgerEntry.__table__
_PAYABLES = Payable.__table__
_LINES = PayableLine.__table__

#: Every person's ledger row, as one selectable: the rows posted to ledger_entry
#: (transfers, interest, and 应缴 allocated before lines served so) and the lines of each
#: 应缴 allocated since, booked under the 应缴's 业务流水号, date and 摘要 (a back-pay line
#: keeps its own 摘要). 分配 of a 50,000-person month thus writes one row, not 50,000
#: (bench/month_end.py). Read a person's money from here, never from ledger_entry alone;
#: filters on it reach both halves' indexes.
PERSON_ROWS = union_all(
    select(LEDGER.c.serial_no, LEDGER.c.unit_id, LEDGER.c.person_account_id, LEDGER.c.biz_type,
           LEDGER.c.summary, LEDGER.c.amount, LEDGER.c.interest, LEDGER.c.month,
           LEDGER.c.booked_on, LEDGER.c.created_at).where(LEDGER.c.account_kind == PERSON),
    select(_PAYABLES.c.allocate_serial, _PAYABLES.c.unit_id, _LINES.c.person_account_id,
           _PAYABLES.c.kind, func.coalesce(_LINES.c.summary, _PAYABLES.c.ledger_summary),
           _LINES.c.amount, literal_column("0", BigInteger), _LINES.c.month,
           _PAYABLES.c.allocated_on, _PAYABLES.c.allocated_at)
    .join_from(_LINES, _PAYABLES, _PAYABLES.c.id == _LINES.c.payable_id)
    .where(_PAYABLES.c.ledger_summary.is_not(None)),
).subquery("person_ledger")


def new_serial_no(day: date) -> str:
    """业务流水号: booking date + 10 random digits (the unique key is the row id)."""
    return f"{day:%Y%m%d}{secrets.randbelow(10**10):010d}"


def entry(*, serial_no: str, unit_id: int, kind: str, biz_type: str, summary: str,
          amount: Decimal, booked_on: date, person_account_id: int | None = None,
          interest: Decimal = ZERO, head_count: int = 0, month: YearMonth | None = None,
          instance_id: int | None = None, created_at: datetime | None = None) -> dict:
    """One ledger row with every column named (what `post` inserts)."""
    return {"serial_no": serial_no, "unit_id": unit_id, "person_account_id": person_account_id,
            "account_kind": kind, "biz_type": biz_type, "summary": summary[:100],
            "amount": amount, "interest": interest, "head_count": head_count, "month": month,
            "booked_on": booked_on, "instance_id": instance_id,
            "created_at": created_at or utcnow()}


def post(rows: list[dict]) -> None:
    """Insert rows and move each unit's balances by what they add up to."""
    if not rows:
        return
    insert_rows(LedgerEntry, rows)
    moves: dict[int, list[Decimal]] = {}
    for row in rows:
        totals = moves.setdefault(row["unit_id"], [ZERO, ZERO])
        if row["account_kind"] == PERSON:
            totals[0] += row["amount"] + row["interest"]
        elif row["account_kind"] == UNALLOCATED:
            totals[1] += row["amount"]
    for unit_id, (balance, unallocated) in moves.items():
        move(unit_id, balance, unallocated)


def post_select(columns: list[str], query, unit_id: int, serial_no: str
                ) -> tuple[int, Decimal]:
    """Person rows inserted by one INSERT … SELECT under one 业务流水号 (a year's
    interest); the unit's accounts move by their sum. Returns their count and sum."""
    db.session.execute(insert(LEDGER).from_select(columns, query))
    count, total = _serial_sums(serial_no, unit_id)
    move(unit_id, total, ZERO)
    return count, total


def _serial_sums(serial_no: str, unit_id: int) -> tuple[int, Decimal]:
    count, amount, interest = db.session.execute(
        select(func.count(), func.sum(LedgerEntry.amount), func.sum(LedgerEntry.interest))
        .where(LedgerEntry.serial_no == serial_no, LedgerEntry.unit_id == unit_id,
               LedgerEntry.account_kind == PERSON)).one()
    return count, (amount or ZERO) + (interest or ZERO)


def allocate(unit_id: int, amount: Decimal, unit_row: dict) -> None:
    """分配: `amount` leaves 未分配 (the unit's row, negative) for the persons' accounts
    (the 应缴's lines, which the caller books as their rows). The guarded move comes
    first: if 未分配 does not hold the amount, nothing is written."""
    move(unit_id, amount, -amount, need_unallocated=amount)
    insert_rows(LedgerEntry, [unit_row])


def move(unit_id: int, balance: Decimal, unallocated: Decimal,
         need_unallocated: Decimal | None = None) -> None:
    """Move the unit's totals. With `need_unallocated`, 未分配 must hold at least that
    much: the check and the move are one UPDATE, so two allocations racing for the same
    money cannot both take it (the second waits for the first and then finds it gone)."""
    statement = (update(_BALANCES).where(_BALANCES.c.unit_id == unit_id)
                 .values(balance=_BALANCES.c.balance + balance,
                         unallocated=_BALANCES.c.unallocated + unallocated,
                         updated_at=utcnow()))
    if need_unallocated is not None:
        statement = statement.where(_BALANCES.c.unallocated >= need_unallocated)
    if db.session.execute(statement).rowcount:
        return
    if _ensure_row(unit_id) and db.session.execute(statement).rowcount:
        return
    have = unallocated_balance(unit_id)
    raise BusinessRuleViolation(f"单位未分配金额 {fmt(have)} 元，不足以支付 {fmt(need_unallocated)} 元")


def _ensure_row(unit_id: int) -> bool:
    """The unit's balance row, created at zero if it has none yet (True if it did not)."""
    exists = db.session.execute(select(_BALANCES.c.unit_id).where(
        _BALANCES.c.unit_id == unit_id)).first()
    if exists:
        return False
    dialect = db.session.get_bind().dialect.name
    insert_for = postgresql.insert if dialect == "postgresql" else sqlite.insert
    db.session.execute(insert_for(_BALANCES).values(
        unit_id=unit_id, balance=ZERO, unallocated=ZERO, updated_at=utcnow())
        .on_conflict_do_nothing())
    return True


def unit_balance(unit_id: int) -> Decimal:
    """单位账户余额: the persons' accounts together (amount + interest)."""
    return totals(unit_id).balance


def unallocated_balance(unit_id: int) -> Decimal:
    """单位未分配金额: payments received and not yet allocated to persons."""
    return totals(unit_id).unallocated


@dataclass(frozen=True)
class Balances:
    balance: Decimal
    unallocated: Decimal


def totals(unit_id: int) -> Balances:
    """Both kept balances of the unit, in one read."""
    row = db.session.execute(select(_BALANCES.c.balance, _BALANCES.c.unallocated).where(
        _BALANCES.c.unit_id == unit_id)).first()
    return Balances(row[0], row[1]) if row else Balances(ZERO, ZERO)


def cents_sum(expression):
    """SUM of a money expression as the database's plain integer of 分 (no type of ours
    applied to it: a sum of sums, or CASE over money, keeps no column type reliably)."""
    return type_coerce(func.coalesce(func.sum(type_coerce(expression, BigInteger)), 0),
                       BigInteger)


def yuan(cents) -> Decimal:
    """A `cents_sum` as 元."""
    return Decimal(int(cents or 0)).scaleb(-2)


def person_balances(person_account_ids: list[int]) -> dict[int, Decimal]:
    if not person_account_ids:
        return {}
    found = _balances_by_account(PERSON_ROWS.c.person_account_id.in_(person_account_ids))
    return {pid: found.get(pid, ZERO) for pid in person_account_ids}


def balance_in_unit(person_account_id: int, unit_id: int) -> Decimal:
    """A person's balance held in one unit (amount + interest of their rows booked there):
    what leaves that unit when the person is transferred out."""
    return _balances_by_account(PERSON_ROWS.c.person_account_id == person_account_id,
                                PERSON_ROWS.c.unit_id == unit_id).get(person_account_id, ZERO)


def unit_person_balances(unit_id: int) -> dict[int, Decimal]:
    """Every person account's balance in the unit, in one grouped query."""
    return _balances_by_account(PERSON_ROWS.c.unit_id == unit_id,
                                PERSON_ROWS.c.person_account_id.is_not(None))


def _balances_by_account(*conditions) -> dict[int, Decimal]:
    rows = db.session.execute(
        select(PERSON_ROWS.c.person_account_id, cents_sum(PERSON_ROWS.c.amount + PERSON_ROWS.c.interest))
        .where(*conditions).group_by(PERSON_ROWS.c.person_account_id)).all()
    return {row[0]: yuan(row[1]) for row in rows}
