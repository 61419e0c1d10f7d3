"""hpf seed-demo: a usable demo city (INTERFACES.md › demo.json)."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from sqlalchemy import func, select

from services.db import db
from services.demo import seed_demo
from services.identifiers import (
    is_valid_mobile,
    is_valid_person_account,
    is_valid_resident_id,
    is_valid_unit_account,
    is_valid_uscc,
)
from services.ledger import person_balances, unallocated_balance, unit_balance
from services.models import LedgerEntry, Operator, Person, PersonAccount, Staff, Unit, UnitAccount
from services.months import YearMonth


def test_demo_json_has_the_documented_shape(demo):
    assert set(demo) >= {"units", "reviewers", "analysts"}
    assert len(demo["units"]) >= 2
    for unit in demo["units"]:
        assert is_valid_unit_account(unit["unit_account"])
        assert is_valid_uscc(unit["uscc"]) and unit["name"]
        assert unit["operators"] and {"login_name", "password"} <= set(unit["operators"][0])
        ukey = unit["ukey"]  # the demo card: its key file (0600), its certificate, its PIN
        assert Path(ukey["card_key_file"]).stat().st_mode & 0o777 == 0o600
        assert "BEGIN CERTIFICATE" in Path(ukey["certificate_file"]).read_text()
        assert ukey["card_key_file"].endswith(f"ukeys/{unit['unit_account']}.pem")
        assert ukey["pin"].isdigit()
    assert demo["reviewers"][0]["group"] == "centre_reviewer"
    assert {"login_name", "password"} <= set(demo["analysts"][0])


def test_the_first_unit_has_200_active_persons_and_a_remittance_history(ctx, demo):
    unit = db.session.execute(select(Unit).join(UnitAccount).where(
        UnitAccount.account_no == demo["units"][0]["unit_account"])).scalar_one()
    active = db.session.execute(select(func.count()).select_from(PersonAccount).where(
        PersonAccount.unit_id == unit.id, PersonAccount.status == "01")).scalar_one()
    assert active >= 200
    months = db.session.execute(select(func.count(func.distinct(LedgerEntry.month))).where(
        LedgerEntry.unit_id == unit.id, LedgerEntry.biz_type == "remit")).scalar_one()
    assert months >= 3
    assert unit.account.paid_through == unit.account.due_month - 1


def test_balances_are_the_sums_of_ledger_rows(ctx, demo):
    unit = db.session.execute(select(Unit).join(UnitAccount).where(
        UnitAccount.account_no == demo["units"][0]["unit_account"])).scalar_one()
    accounts = db.session.execute(select(PersonAccount).where(
        PersonAccount.unit_id == unit.id)).scalars().all()
    balances = person_balances([a.id for a in accounts])
    assert sum(balances.values(), Decimal("0.00")) == unit_balance(unit.id)
    assert unallocated_balance(unit.id) == Decimal("0.00")  # every payment was allocated
    months = unit.account.first_month.until(unit.account.paid_through)
    steady = next(a for a in accounts if a.status == "01")
    assert balances[steady.id] == steady.monthly_amount * len(months)
    assert isinstance(unit_balance(unit.id), Decimal)


def test_people_have_valid_identifiers(ctx):
    people = db.session.execute(select(Person)).scalars().all()
    assert len({p.id_number for p in people}) == len(people)
    assert all(is_valid_resident_id(p.id_number) and is_valid_mobile(p.mobile) for p in people)
    numbers = db.session.execute(select(PersonAccount.account_no)).scalars().all()
    assert all(is_valid_person_account(n) for n in numbers)


def test_passwords_are_stored_with_a_modern_kdf(ctx):
    hashes = db.session.execute(select(Operator.password_hash)).scalars().all()
    hashes += db.session.execute(select(Staff.password_hash)).scalars().all()
    assert hashes and all(h.startswith("scrypt:") for h in hashes)


def test_seeding_twice_changes_nothing(ctx, tmp_path):
    before = db.session.execute(select(func.count()).select_from(LedgerEntry)).scalar_one()
    again = seed_demo(tmp_path, ca_dir=ctx.config["UKEY_CA_DIR"])
    after = db.session.execute(select(func.count()).select_from(LedgerEntry)).scalar_one()
    assert before == after
    assert (tmp_path / "demo.json").exists() and again["units"]


def test_the_demo_months_follow_today(ctx):
    account = db.session.execute(select(UnitAccount).limit(1)).scalar_one()
    assert isinstance(account.paid_through, YearMonth)


def test_each_demo_payments_receipt_names_the_month_it_paid(ctx, demo):
    """The demo's payments record what they paid, as a delivery does: their 缴费凭条 say
    “<month> 汇缴”, not “计入单位未分配金额”."""
    from services.documents.money import payment_receipt
    from services.models import Payment

    unit_id = db.session.execute(select(UnitAccount.unit_id).where(
        UnitAccount.account_no == demo["units"][0]["unit_account"])).scalar_one()
    paid = db.session.execute(select(Payment).where(Payment.unit_id == unit_id)
                              .order_by(Payment.received_on)).scalars().all()
    assert len(paid) >= 3
    for payment in paid:
        receipt = payment_receipt(unit_id, payment.serial_no)
        month = YearMonth.of(payment.received_on)
        assert (receipt.fields["month"], receipt.fields["summary"]) == (month, f"{month} 汇缴")
