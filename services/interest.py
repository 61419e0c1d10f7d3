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

from sqlalchemy import BigInteger, Date, DateTime, Integer, String, cast, func, literal, select
from sqlalchemy.exc import IntegrityError

from . import ledger
from .db import db, set_wise, utcnow
from .errors import BusinessRuleViolation
from .models import InterestSettlement, Unit
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
    rows = ledger.PERSON_ROWS
    days = _days(rows.c.booked_on, start, end)
    product = (select(rows.c.person_account_id.label("person_account_id"),
                      func.sum((rows.c.amount + rows.c.interest) * days).label("product"))
               .where(rows.c.unit_id == unit_id, rows.c.booked_on <= end)
               .group_by(rows.c.person_account_id).subquery("product"))
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
