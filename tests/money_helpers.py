"""Shared steps of the money tests: the books check every money test calls after each
step, a movable 'today', and the unit a demo login belongs to."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy import func, select

from services import clock
from services.db import db
from services.models import LedgerEntry, UnitAccount, UnitBalance
from services.models.ledger import PERSON, UNALLOCATED

ZERO = Decimal("0.00")


def cents(value) -> Decimal:
    return Decimal(int(value or 0)).scaleb(-2)


def check_books(app, unit_id: int, api=None) -> dict:
    """The unit's books balance to the 分: the personal balances (each summed from its
    own rows) plus 未分配 equal the unit's ledger balance (every money row); the kept
    balances equal the rows; money in (payments and interest) equals money held, so
    every allocation moved exactly what it took; and the home page (API) says the same."""
    with app.app_context():
        per_person = db.session.execute(
            select(LedgerEntry.person_account_id,
                   func.sum(LedgerEntry.amount) + func.sum(LedgerEntry.interest))
            .where(LedgerEntry.unit_id == unit_id, LedgerEntry.account_kind == PERSON)
            .group_by(LedgerEntry.person_account_id)).all()
        persons = sum((cents(v) for _, v in per_person), ZERO)
        unallocated = cents(db.session.execute(select(func.sum(LedgerEntry.amount)).where(
            LedgerEntry.unit_id == unit_id, LedgerEntry.account_kind == UNALLOCATED)).scalar())
        ledger_total = cents(db.session.execute(
            select(func.sum(LedgerEntry.amount) + func.sum(LedgerEntry.interest)).where(
                LedgerEntry.unit_id == unit_id,
                LedgerEntry.account_kind.in_([PERSON, UNALLOCATED]))).scalar())
        assert persons + unallocated == ledger_total
        money_in = cents(db.session.execute(
            select(func.sum(LedgerEntry.amount) + func.sum(LedgerEntry.interest)).where(
                LedgerEntry.unit_id == unit_id,
                ((LedgerEntry.account_kind == UNALLOCATED) & (LedgerEntry.biz_type == "payment"))
                | ((LedgerEntry.account_kind == PERSON) & LedgerEntry.biz_type.in_(
                    ["interest", "transfer"])))).scalar())
        assert money_in == ledger_total, "an allocation moved a different amount than it took"
        kept = db.session.get(UnitBalance, unit_id)
        assert kept is not None
        assert (kept.balance, kept.unallocated) == (persons, unallocated)
        db.session.remove()
    if api is not None:
        me = api.get("/api/v1/units/me").json
        assert (Decimal(me["balance"]), Decimal(me["unallocated"])) == (persons, unallocated)
    return {"persons": persons, "unallocated": unallocated, "total": ledger_total}


def unit_id_of(app, demo: dict, unit: int = 0) -> int:
    with app.app_context():
        found = db.session.execute(select(UnitAccount.unit_id).where(
            UnitAccount.account_no == demo["units"][unit]["unit_account"])).scalar_one()
        db.session.remove()
        return found


class Today:
    """`services.clock.today`, set by a test: months turn when the test says so."""

    def __init__(self, monkeypatch):
        self.day = clock.today()
        monkeypatch.setattr(clock, "today", lambda: self.day)

    def set(self, day: date) -> date:
        self.day = day
        return day

    def next_month(self, day: int = 10) -> date:
        month = self.day.month % 12 + 1
        year = self.day.year + (1 if month == 1 else 0)
        return self.set(date(year, month, day))
