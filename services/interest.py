"""结息: a year's interest on each person's account, settled once on 30 June.

Interest is the daily balance product (积数) × rate / 360: every ledger row of the account
up to the settlement day counts its amount for each day from its booking (or the start of
the interest year, 1 July, if earlier) to 30 June, both included. It is computed by the
database, one grouped INSERT … SELECT per unit (no loop over persons), to the 分 half-up.
A settlement row per unit and year, written first under a unique constraint, makes a
second run change nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import (
    BigInteger,
    Date,
    DateTime,
    Integer,
    String,
    cast,
    func,
    literal,
    select,
    union_all,
)
from sqlalchemy.exc import IntegrityError

from . import ledger
from .db import db, one_of, set_wise, utcnow
from .errors import BusinessRuleViolation
from .models import AccountEvent, InterestSettlement, PersonAccount, Unit
from .models.account_event import TRANSFER_IN
from .models.ledger import MEMO, PERSON

_COLUMNS = ["serial_no", "unit_id", "person_account_id", "account_kind", "biz_type", "summary",
            "amount", "interest", "head_count", "month", "booked_on", "instance_id", "created_at"]


@dataclass(frozen=True)
class Settled:
    unit_id: int
    year: int
    head_count: int
    interest: Decimal
    serial_no: str


def period(year: int) -> tuple[date, date]:
    """The interest year settled on 30 June of `year`: 1 July of the year before to that
    day. Settlement is on 30 June whatever month a city starts its contribution year in
    (`Policy.year_start_month` moves base adjustments, not this): taking the start from it
    made consecutive periods overlap and a year's interest count some days twice."""
    return date(year - 1, 7, 1), date(year, 6, 30)


def settle(year: int, today: date) -> tuple[list[Settled], int]:
    """Every unit's interest for `year`, each unit in its own transaction (committed
    here). Returns what was settled and how many units had been settled before."""
    if today < date(year, 6, 30):
        raise BusinessRuleViolation(f"{year} 年度的结息日 {year}-06-30 尚未到来")
    unit_ids = list(db.session.execute(select(Unit.id).order_by(Unit.id)).scalars())
    db.session.rollback()
    done, skipped = [], 0
    for unit_id in unit_ids:
        result = settle_unit(unit_id, year)
        if result is None:
            db.session.rollback()
            skipped += 1
        else:
            db.session.commit()
            done.append(result)
    return done, skipped


def settle_unit(unit_id: int, year: int) -> Settled | None:
    """One unit's interest for `year`, or None when it was settled before."""
    policy = db.session.get(Unit, unit_id).policy
    start, end = period(year)
    serial = ledger.new_serial_no(end)
    record = InterestSettlement(unit_id=unit_id, year=year, settled_on=end, serial_no=serial,
                                created_at=utcnow())
    try:
        with db.session.begin_nested():
            db.session.add(record)
            db.session.flush()
    except IntegrityError:
        return None
    source = _accounts_rows(unit_id, end)
    days = _days(source.c.booked_on, start, end)
    product = (select(source.c.person_account_id.label("person_account_id"),
                      func.sum((source.c.amount + source.c.interest) * days).label("product"))
               .group_by(source.c.person_account_id).subquery("product"))
    numerator, denominator = policy.interest_rate.as_integer_ratio()
    scale = denominator * 360
    interest = _int_div(product.c.product * (2 * numerator) + scale, 2 * scale)
    summary = f"{year} 年度结息（{start} 至 {end}）"
    query = (select(literal(serial, String), literal(unit_id, Integer), product.c.person_account_id,
                    literal(PERSON, String), literal("interest", String),
                    literal(summary, String), literal(0, BigInteger), interest,
                    literal(1, Integer), literal(None, Integer), literal(end, Date),
                    literal(None, Integer), literal(utcnow(), DateTime))
             .where(product.c.product > 0, interest > 0))
    with set_wise():
        count, total = ledger.post_select(_COLUMNS, query, unit_id, serial)
    ledger.post([ledger.entry(serial_no=serial, unit_id=unit_id, kind=MEMO, biz_type="interest",
                              summary=summary, amount=Decimal("0.00"), interest=total,
                              head_count=count, booked_on=end)])
    record.head_count, record.interest = count, total
    db.session.flush()
    return Settled(unit_id, year, count, total, serial)


def _accounts_rows(unit_id: int, end: date):
    """The rows up to `end` of the accounts the unit holds now, wherever they were booked:
    its own rows of them, and for an account transferred in, its rows in the units it
    came from. Interest is the account's over the whole year, booked where it is now; a
    unit settling the rows booked in it paid interest into accounts it had handed on,
    which no later transfer carried along. Both parts are read by index (by unit; the few
    accounts transferred in by person)."""
    rows = ledger.PERSON_ROWS
    picked = (rows.c.person_account_id, rows.c.amount, rows.c.interest, rows.c.booked_on)
    held = select(PersonAccount.id).where(PersonAccount.unit_id == unit_id)
    here = select(*picked).where(rows.c.unit_id == unit_id, rows.c.booked_on <= end,
                                 rows.c.person_account_id.in_(held))
    moved_in = db.session.execute(select(AccountEvent.person_account_id).join(
        PersonAccount, PersonAccount.id == AccountEvent.person_account_id).where(
        AccountEvent.unit_id == unit_id, AccountEvent.change == TRANSFER_IN,
        PersonAccount.unit_id == unit_id).distinct()).scalars().all()
    if not moved_in:
        return here.subquery("booked")
    before = select(*picked).where(one_of(rows.c.person_account_id, moved_in),
                                   rows.c.unit_id != unit_id, rows.c.booked_on <= end)
    return union_all(here, before).subquery("booked")


def _days(booked_on, start: date, end: date):
    """Days a row counts: from its booking (or `start`) to `end`, both included."""
    if db.session.get_bind().dialect.name == "postgresql":
        return literal(end, Date) - func.greatest(booked_on, literal(start, Date)) + 1
    return cast(func.julianday(literal(end, Date))
                - func.julianday(func.max(booked_on, literal(start, Date))), Integer) + 1


def _int_div(numerator, denominator: int):
    """Whole-number division of a non-negative value (rounding already added)."""
    if db.session.get_bind().dialect.name == "postgresql":
        return cast(func.div(numerator, denominator), BigInteger)
    return cast(numerator / denominator, BigInteger)
