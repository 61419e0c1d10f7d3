"""One person's story across two units, over the API: registered and remitted in unit A,
sealed (leaves A's next month), unsealed the month after (back in), sealed again the next
month, then transferred to unit B. After every step both units' books balance to the 分,
and their home pages and queries agree with the ledger and person tables."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import func, select

from services import ledger
from services.db import db
from services.models import PersonAccount
from services.months import YearMonth
from tests.money_helpers import Today, check_books, register_person, unit_id_of

from .helpers import decide

API = "/api/v1"


def agrees(app, api, unit_id: int) -> dict:
    """The home page's counts and balance against the tables themselves."""
    books = check_books(app, unit_id, api)
    me = api.get(f"{API}/units/me").json
    with app.app_context():
        active, monthly = db.session.execute(
            select(func.count(),
                   ledger.cents_sum(PersonAccount.unit_amount + PersonAccount.person_amount))
            .where(PersonAccount.unit_id == unit_id, PersonAccount.status == "01")).one()
        held = sum(ledger.unit_person_balances(unit_id).values(), Decimal("0.00"))
        db.session.remove()
    assert me["active_persons"] == active
    assert Decimal(me["monthly_total"]) == ledger.yuan(monthly)
    assert Decimal(me["balance"]) == held == books["persons"]
    listed = api.get(f"{API}/persons?status=01&per_page=1").json["total"]
    assert listed == active
    return me


def test_register_seal_unseal_seal_transfer(app, make_api, demo, monkeypatch):
    today = Today(monkeypatch)
    unit_a, unit_b = make_api().login_operator(unit=0), make_api().login_operator(unit=1)
    finance, reviewer = make_api().login_finance(), make_api().login_reviewer()
    a_id, b_id = unit_id_of(app, demo, 0), unit_id_of(app, demo, 1)
    a_no = demo["units"][0]["unit_account"]
    paid = []

    def remit() -> dict:
        month = YearMonth.parse(unit_a.get(f"{API}/remittance").json["month"])
        today.set(month.first_day().replace(day=8))
        verified = unit_a.post(f"{API}/remittances", {})
        assert verified.status_code == 201, verified.json
        payment = finance.post(f"{API}/payments", {
            "unit_account": a_no, "amount": verified.json["amount"], "method": "transfer",
            "reference": f"CCB{month}", "idempotency_key": f"story-{month}"})
        assert payment.status_code == 201, payment.json
        paid.append(month)
        return verified.json

    def change(kind: str) -> None:
        started = unit_a.post(f"{API}/processes/status_change/instances", {"data": {}}).json
        added = unit_a.post(f"{API}/instances/{started['instance_id']}/manifest/rows",
                            {"person_account": number, "change": kind, "reason": "01"})
        assert added.status_code == 201, added.json
        done = unit_a.post(f"{API}/tasks/{started['tasks'][0]['task_id']}/complete", {"data": {}})
        assert done.status_code == 200, done.json

    due = YearMonth.parse(unit_a.get(f"{API}/remittance").json["month"])
    with app.app_context():
        account_id = register_person(a_id, due, "8000.00", "周故事")
        number = db.session.get(PersonAccount, account_id).account_no
        db.session.commit()
    agrees(app, unit_a, a_id)
    first = remit()
    agrees(app, unit_a, a_id)

    change("seal")
    after_seal = agrees(app, unit_a, a_id)
    second = remit()
    assert second["head_count"] == first["head_count"] - 1
    assert {c["key"]: c["count"] for c in second["reconciliation"]["removed"]} == {"seal": 1}

    change("unseal")
    assert agrees(app, unit_a, a_id)["active_persons"] == after_seal["active_persons"] + 1
    third = remit()
    assert third["head_count"] == first["head_count"]
    assert {c["key"]: c["count"] for c in third["reconciliation"]["added"]} == {"unseal": 1}

    change("seal")
    agrees(app, unit_a, a_id)
    with app.app_context():
        balance = ledger.balance_in_unit(account_id, a_id)
        db.session.remove()
    assert balance == Decimal("8000.00") * Decimal("0.24") * 2  # two months paid in A

    b_before = agrees(app, unit_b, b_id)
    started = unit_b.post(f"{API}/processes/transfer/instances", {"data": {}}).json
    assert unit_b.post(f"{API}/instances/{started['instance_id']}/manifest/rows",
                       {"from_unit_account": a_no, "person_account": number}).status_code == 201
    assert unit_b.post(f"{API}/tasks/{started['tasks'][0]['task_id']}/complete",
                       {"data": {}}).status_code == 200
    decide(reviewer, started["instance_id"], "approve", "同意")

    a_after, b_after = agrees(app, unit_a, a_id), agrees(app, unit_b, b_id)
    assert Decimal(b_after["balance"]) == Decimal(b_before["balance"]) + balance
    assert b_after["active_persons"] == b_before["active_persons"] + 1
    assert unit_a.get(f"{API}/persons?q={number}").json["items"] == []
    moved = unit_b.get(f"{API}/persons?q={number}").json["items"]
    assert [(p["status"], p["name"]) for p in moved] == [("01", "周故事")]
    b_next = unit_b.get(f"{API}/remittance").json["reconciliation"]
    assert {c["key"]: c["count"] for c in b_next["added"]}.get("transfer_in") == 1
    assert a_after["active_persons"] == after_seal["active_persons"]
