"""汇缴 (manual 5.1, 5.2) through the JSON API as a unit and centre finance use it."""

from __future__ import annotations

from decimal import Decimal

import pytest

from tests.money_helpers import Today, check_books, unit_id_of

API = "/api/v1"


@pytest.fixture
def today(monkeypatch):
    return Today(monkeypatch)


def test_smoke_verify_and_pay(app, make_api, demo, today):
    unit = make_api().login_operator()
    finance = make_api().login_finance()
    unit_id = unit_id_of(app, demo)
    check_books(app, unit_id, unit)
    preview = unit.get(f"{API}/remittance").json
    print(preview)
    verified = unit.post(f"{API}/remittances", {})
    assert verified.status_code == 201, verified.json
    print(verified.json)
    paid = finance.post(f"{API}/payments", {
        "unit_account": demo["units"][0]["unit_account"], "amount": verified.json["amount"],
        "method": "transfer", "reference": "B1", "idempotency_key": "key-00000001"})
    assert paid.status_code == 201, paid.json
    print(paid.json)
    check_books(app, unit_id, unit)
    assert Decimal(unit.get(f"{API}/units/me").json["unallocated"]) == 0


def test_smoke_pages(app, make_api, demo):
    unit = make_api().login_operator()
    for url in ["/", "/remittance", "/remittance?tab=query", "/queries/unit", "/queries/unit?tab=ledger"]:
        r = unit.get(url)
        assert r.status_code == 200, (url, r.data[:3000])
    fin = make_api().login_finance()
    r = fin.get("/centre/payments")
    assert r.status_code == 200, r.data[:2000]
    r = fin.get("/centre", follow_redirects=True)
    assert "缴款登记" in r.get_data(as_text=True)
