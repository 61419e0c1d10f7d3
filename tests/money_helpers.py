"""Shared steps of the money tests: the books check every money test calls after each
step, a movable 'today', and the unit a demo login belongs to."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy import BigInteger, func, select, type_coerce

from services import clock
from services.changes import Who
from services.db import db
from services.ledger import PERSON_ROWS
from services.models import LedgerEntry, UnitAccount, UnitBalance
from services.models.ledger import PERSON, UNALLOCATED

ZERO = Decimal("0.00")


def cents(value) -> Decimal:
    return Decimal(int(value or 0)).scaleb(-2)


def raw(expression):
    """SUM as the database's own integer of 分 (no column type applied)."""
    return type_coerce(func.sum(type_coerce(expression, BigInteger)), BigInteger)


def check_books(app, unit_id: int, api=None) -> dict:
    """The unit's books balance to the 分: the personal balances (each summed from its
    own rows: those posted and the allocated 应缴's lines) plus 未分配 equal the unit's
    ledger balance; the kept balances equal the rows; money in (payments, interest,
    transfers) equals money held, so every allocation moved exactly what it took; and the
    home page (API) says the same."""
    rows = PERSON_ROWS
    with app.app_context():
        per_person = db.session.execute(
            select(rows.c.person_account_id, raw(rows.c.amount + rows.c.interest))
            .where(rows.c.unit_id == unit_id).group_by(rows.c.person_account_id)).all()
        persons = sum((cents(v) for _, v in per_person), ZERO)
        unallocated = cents(db.session.execute(select(raw(LedgerEntry.amount)).where(
            LedgerEntry.unit_id == unit_id, LedgerEntry.account_kind == UNALLOCATED)).scalar())
        ledger_total = persons + unallocated
        money_in = cents(db.session.execute(
            select(raw(LedgerEntry.amount + LedgerEntry.interest)).where(
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


def ledger_cents(app, account_ids) -> dict[int, int]:
    """Each account's balance in 分, summed here straight from the ledger rows."""
    with app.app_context():
        return dict(db.session.execute(
            select(PERSON_ROWS.c.person_account_id,
                   func.sum(PERSON_ROWS.c.amount) + func.sum(PERSON_ROWS.c.interest))
            .where(PERSON_ROWS.c.person_account_id.in_(account_ids))
            .group_by(PERSON_ROWS.c.person_account_id)).all())


def year_after(day: date) -> int:
    """The 结息 year whose 30 June is on or after `day` (its settlement counts that day)."""
    return day.year if (day.month, day.day) <= (6, 30) else day.year + 1


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


# -- what other businesses write, made directly (the lead switches these to the real
#    businesses — 缴存人登记, 封存/启封, 基数调整 — once they are merged) -----------------

def _who():
    return {"actor": "operator:test", "actor_name": "测试经办人"}


def register_person(unit_id: int, month, base: str, name: str = "新职工") -> int:
    """缴存人登记 through the real service (services.registration.open_accounts): an
    account in 正常 from `month`, its base period and an 开户 account event, for a made-up
    person. Returns the account id (call inside an app context)."""
    from services.contribution import monthly_amounts
    from services.models import Person, UnitAccount
    from services.registration import NewAccount, open_accounts
    from tests.people import mobile, resident_id

    global _registered
    account = db.session.execute(select(UnitAccount).where(UnitAccount.unit_id == unit_id)
                                 ).scalar_one()
    unit_amount, person_amount, _ = monthly_amounts(Decimal(base), account.unit_rate,
                                                    account.person_rate)
    while True:
        _registered += 1
        number = resident_id(_registered, region="110108")
        if db.session.execute(select(Person.id).where(Person.id_number == number)).first() is None:
            break
    row = NewAccount(name, "01", number, mobile(_registered), Decimal(base), account.person_rate,
                     unit_amount, person_amount)
    who = _who()
    opened = open_accounts(unit_id, account.unit_rate, [row], month,
                           Who(who["actor"], who["actor_name"], "缴存人登记"), clock.today())
    return opened[0].account_id


_registered = 0


def change_status(account_id: int, change: str, month) -> None:
    """封存 (seal) or 启封 (unseal) of one account from `month`, with its event: the
    缴存人状态变更 business's own service (services.status_change)."""
    from services import status_change
    from services.changes import Who

    status_change.change_one(account_id, change, month, "01",
                             Who(**_who(), business="缴存人状态变更"))


def new_base(account_id: int, month, base: str) -> Decimal:
    """基数调整 from `month`: a base period and the account's current amounts. Returns
    the new monthly amount."""
    from services.contribution import monthly_amounts
    from services.models import BasePeriod, PersonAccount, UnitAccount

    row = db.session.get(PersonAccount, account_id)
    unit_rate = db.session.execute(select(UnitAccount.unit_rate).where(
        UnitAccount.unit_id == row.unit_id)).scalar_one()
    unit_amount, person_amount, total = monthly_amounts(Decimal(base), unit_rate,
                                                        row.person_rate)
    row.base, row.unit_amount, row.person_amount = Decimal(base), unit_amount, person_amount
    db.session.add(BasePeriod(person_account_id=row.id, from_month=month, base=Decimal(base),
                              unit_rate=unit_rate, person_rate=row.person_rate,
                              unit_amount=unit_amount, person_amount=person_amount))
    db.session.flush()
    return total


def new_unit(first_month, persons: list[str], password: str = "Hall2026demo") -> dict:
    """A unit opened in `first_month` (开户, never paid) with an operator and a person per
    base in `persons` (each registered from that month). Returns its login and ids."""
    from services.accounts import hash_password
    from services.models import City, Operator, Unit, UnitAccount
    from services.numbers import new_unit_accounts

    city = db.session.execute(select(City)).scalars().first()
    number = new_unit_accounts(1)[0]
    unit = Unit(city_id=city.id, name=f"测试单位{number}", uscc=f"9135010{number}X")
    db.session.add(unit)
    db.session.flush()
    db.session.add(UnitAccount(unit_id=unit.id, account_no=number, status="02",
                               unit_rate=Decimal("0.10"), person_rate=Decimal("0.10"),
                               opened_on=first_month.first_day(), first_month=first_month))
    db.session.add(Operator(unit_id=unit.id, login_name="jbr01", name="新单位经办人",
                            password_hash=hash_password(password)))
    db.session.flush()
    ids = [register_person(unit.id, first_month, base, f"职工{i}") for i, base in enumerate(persons)]
    return {"unit_id": unit.id, "unit_account": number, "login_name": "jbr01",
            "password": password, "accounts": ids, "ukey": _issue_ukey(number)}


def _issue_ukey(unit_account: str) -> dict:
    """The new unit's UKey, as demo.json describes a demo unit's (login signs with it)."""
    from pathlib import Path

    from flask import current_app

    from services.ukey.registry import issue_ukey

    keys = Path(current_app.config["INSTANCE_DIR"]) / "ukeys"
    keys.mkdir(exist_ok=True)
    issued = issue_ukey(unit_account, Path(current_app.config["UKEY_CA_DIR"]), keys)
    return {"card_key_file": str(issued.key_file),
            "certificate_file": str(issued.certificate_file), "pin": issued.pin}
