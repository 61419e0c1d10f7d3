"""结息: `hpf settle-interest YEAR` posts each person's interest on the daily balance product
(balance × days × rate / 360) once, on 30 June; a second run changes nothing; the rows
show in 业务流水 and in 账户信息."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import replace
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import pytest
from sqlalchemy import func, select

from services import clock, interest
from services.db import db
from services.errors import BusinessRuleViolation
from services.ledger import PERSON_ROWS
from services.models import InterestSettlement, LedgerEntry, PersonAccount, Unit
from tests.money_helpers import Today, check_books, unit_id_of, year_after

API = "/api/v1"
ROOT = Path(__file__).resolve().parents[2]
#: `hpf` as the installed command runs it, from this checkout.
HPF = [sys.executable, "-c", "import sys; from web.cli import main; sys.argv[0] = 'hpf'; main()"]


def expected_interest(unit_id: int, year: int) -> dict[int, Decimal]:
    """Each account's interest computed here, row by row, from the ledger: the accounts
    the unit holds, over their rows in whichever unit they were booked."""
    start, end = date(year - 1, 7, 1), date(year, 6, 30)
    rows = db.session.execute(select(PERSON_ROWS).join(
        PersonAccount, PersonAccount.id == PERSON_ROWS.c.person_account_id).where(
        PersonAccount.unit_id == unit_id, PERSON_ROWS.c.booked_on <= end))
    products: dict[int, Decimal] = {}
    for row in rows:
        days = (end - max(row.booked_on, start)).days + 1
        products[row.person_account_id] = products.get(row.person_account_id, Decimal(0)) + \
            (row.amount + row.interest) * days
    rate = Decimal("0.015")
    found = {account: (product * rate / 360).quantize(Decimal("0.01"), ROUND_HALF_UP)
             for account, product in products.items()}
    return {account: value for account, value in found.items() if value > 0}


def test_interest_is_the_daily_balance_product_settled_once(app, make_api, demo, monkeypatch):
    today = Today(monkeypatch)
    unit_id = unit_id_of(app, demo, 1)
    unit = make_api().login_operator(1)
    year = year_after(today.day)
    before = check_books(app, unit_id, unit)
    with app.app_context():
        with pytest.raises(BusinessRuleViolation, match=f"{year}-06-30 尚未到来"):
            interest.settle(year, date(year, 6, 29))
        expected = expected_interest(unit_id, year)
        assert len(expected) == 19  # the unit's persons with money (the sealed one too)
        today.set(date(year, 7, 1))
        settled, skipped = interest.settle(year, clock.today())
        mine = next(s for s in settled if s.unit_id == unit_id)
        assert skipped == 0 and mine.head_count == 19
        assert mine.interest == sum(expected.values())
        posted = dict(db.session.execute(select(LedgerEntry.person_account_id, LedgerEntry.interest)
                                         .where(LedgerEntry.serial_no == mine.serial_no,
                                                LedgerEntry.account_kind == "P")).all())
        assert posted == expected
        rows_before = db.session.execute(select(func.count()).select_from(LedgerEntry)).scalar()
        db.session.remove()
    settled_books = check_books(app, unit_id, unit)
    assert settled_books == {**before, "persons": before["persons"] + mine.interest,
                             "total": before["total"] + mine.interest}

    with app.app_context():
        again, skipped = interest.settle(year, clock.today())
        assert again == [] and skipped == len(settled)
        assert db.session.execute(select(func.count()).select_from(LedgerEntry)).scalar() \
            == rows_before
        db.session.remove()
    assert check_books(app, unit_id, unit) == settled_books
    listed = unit.get(f"{API}/units/me/ledger?type=结息").json["items"]
    assert [(r["biz_type_name"], r["interest"], r["head_count"]) for r in listed] == \
        [("结息", str(mine.interest), 19)]
    details = unit.get(f"{API}/units/me/ledger/{mine.serial_no}/details?per_page=50").json
    assert details["total"] == 19
    assert sum(Decimal(r["interest"]) for r in details["items"]) == mine.interest
    account = unit.get(f"{API}/units/me/account?from={year}-06-30&to={year}-06-30").json
    assert Decimal(account["increase"]) == mine.interest
    assert Decimal(account["closing_balance"]) - Decimal(account["opening_balance"]) == mine.interest


def test_the_interest_year_is_july_to_june_whatever_month_the_contribution_year_starts(
        app, demo, monkeypatch):
    """A city whose contribution year starts in January still settles on 30 June the year
    from 1 July: its interest is the same, and no day of the year before counts again."""
    today = Today(monkeypatch)
    unit_id = unit_id_of(app, demo, 1)
    year = year_after(today.day)
    with app.app_context():
        city = db.session.get(Unit, unit_id).city
        city.policy_json = replace(city.policy, year_start_month=1).to_json()
        db.session.commit()
        assert interest.period(year) == (date(year - 1, 7, 1), date(year, 6, 30))
        expected = expected_interest(unit_id, year)
        today.set(date(year, 7, 1))
        settled, _ = interest.settle(year, clock.today())
        mine = next(s for s in settled if s.unit_id == unit_id)
        posted = dict(db.session.execute(select(LedgerEntry.person_account_id, LedgerEntry.interest)
                                         .where(LedgerEntry.serial_no == mine.serial_no,
                                                LedgerEntry.account_kind == "P")).all())
        assert posted == expected and mine.interest == sum(expected.values())
        db.session.remove()


def test_hpf_settle_interest_posts_once_and_says_so(app, make_api, demo, tmp_path):
    today = clock.today()
    year = today.year if (today.month, today.day) > (6, 30) else today.year - 1
    env = {**os.environ, "HPF_DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
           "HPF_INSTANCE_DIR": str(tmp_path)}
    units = [(unit_id_of(app, demo, i), make_api().login_operator(i)) for i in (0, 1)]
    before = [check_books(app, unit_id, api) for unit_id, api in units]
    first = subprocess.run([*HPF, "settle-interest", str(year)], env=env, cwd=ROOT,
                           capture_output=True, text=True, timeout=120)
    assert first.returncode == 0, first.stderr
    assert first.stdout.startswith(f"{year} 年度结息：2 个单位")
    assert first.stdout.strip().endswith("0 个单位此前已结息，未做任何更改")
    with app.app_context():
        count = db.session.execute(select(func.count()).select_from(LedgerEntry)).scalar()
        paid = dict(db.session.execute(select(InterestSettlement.unit_id,
                                              InterestSettlement.interest)).all())
        db.session.remove()
    assert set(paid) == {unit_id for unit_id, _ in units}
    # the books move by exactly the interest posted (on the real clock the demo's money
    # may be younger than the year settled: then that is nothing, and still balances)
    after_first = [check_books(app, unit_id, api) for unit_id, api in units]
    for (unit_id, _), was, now in zip(units, before, after_first, strict=True):
        assert now == {**was, "persons": was["persons"] + paid[unit_id],
                       "total": was["total"] + paid[unit_id]}
    assert f"利息合计 {sum(paid.values()):,.2f} 元" in first.stdout

    second = subprocess.run([*HPF, "settle-interest", str(year)], env=env, cwd=ROOT,
                            capture_output=True, text=True, timeout=120)
    assert second.returncode == 0, second.stderr
    assert second.stdout.strip() == (f"{year} 年度结息：0 个单位、0 人，利息合计 0.00 元；"
                                     "2 个单位此前已结息，未做任何更改")
    with app.app_context():
        assert db.session.execute(select(func.count()).select_from(LedgerEntry)).scalar() == count
        assert db.session.execute(select(func.count()).select_from(InterestSettlement)
                                  ).scalar() == 2
        db.session.remove()
    assert [check_books(app, unit_id, api) for unit_id, api in units] == after_first


def test_a_person_transferred_mid_year_earns_the_years_interest_where_they_are_now(
        app, demo, monkeypatch):
    """The account's whole year counts, booked in the unit that holds it on 30 June; the
    unit it left books none for it (it used to keep the days before the transfer, money
    of a person it no longer had)."""
    from services import transfer
    from services.changes import Who
    from services.ledger import balance_in_unit

    today = Today(monkeypatch)
    year = year_after(today.day)
    out_id, in_id = unit_id_of(app, demo, 1), unit_id_of(app, demo, 0)
    with app.app_context():
        moved = db.session.execute(select(PersonAccount.id).where(
            PersonAccount.unit_id == out_id, PersonAccount.status == "02")
            .order_by(PersonAccount.id).limit(1)).scalar_one()
        transfer.approve(in_id, [transfer.Move(moved, out_id)], Who("staff:1", "李文静", "缴存人单位调整"))
        db.session.commit()
        held = balance_in_unit(moved, in_id)
        expected = expected_interest(in_id, year)
        assert held > 0 and expected[moved] > 0
        today.set(date(year, 7, 1))
        settled, _ = interest.settle(year, clock.today())
        by_unit = {s.unit_id: s.serial_no for s in settled}
        posted = dict(db.session.execute(select(LedgerEntry.unit_id, LedgerEntry.interest).where(
            LedgerEntry.person_account_id == moved, LedgerEntry.biz_type == "interest")).all())
        assert posted == {in_id: expected[moved]}
        assert balance_in_unit(moved, out_id) == Decimal("0.00")
        assert balance_in_unit(moved, in_id) == held + expected[moved]
        assert set(by_unit) >= {in_id, out_id}
        db.session.remove()
