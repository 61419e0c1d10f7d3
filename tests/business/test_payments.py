"""缴款: centre finance (or a bank integration) records money for a unit. The same notice
twice changes nothing and answers the first result; twenty at once take effect once (on
PostgreSQL, with real threads); money that matches no verified month stays 未分配, and
the unit pays a later month from it. The books balance after every step."""

from __future__ import annotations

import threading
from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from services import allocation
from services.changes import Who
from services.db import db
from services.errors import Conflict
from services.ledger import PERSON_ROWS
from services.models import LedgerEntry, Payable, PayableLine, Payment
from tests.money_helpers import check_books, unit_id_of

API = "/api/v1"


def notice(demo, amount, key="bank-notice-0001", method="transfer", reference="CCB20261130001",
           unit=0) -> dict:
    return {"unit_account": demo["units"][unit]["unit_account"], "amount": str(amount),
            "method": method, "reference": reference, "idempotency_key": key}


def payments_count(app) -> tuple[int, int]:
    with app.app_context():
        rows = db.session.execute(select(func.count()).select_from(Payment)).scalar_one()
        ledger = db.session.execute(select(func.count()).select_from(LedgerEntry)).scalar_one()
        db.session.remove()
        return rows, ledger


def test_the_same_notice_twice_changes_nothing_and_answers_the_first_result(app, make_api, demo):
    unit = make_api().login_operator()
    finance = make_api().login_finance()
    unit_id = unit_id_of(app, demo)
    verified = unit.post(f"{API}/remittances", {}).json

    first = finance.post(f"{API}/payments", notice(demo, verified["amount"]))
    assert first.status_code == 201, first.json
    assert first.json["replayed"] is False
    assert [(p["month"], p["kind"]) for p in first.json["allocated"]] == [(verified["month"],
                                                                           "remit")]
    after_first = payments_count(app)
    books = check_books(app, unit_id, unit)

    again = finance.post(f"{API}/payments", notice(demo, verified["amount"]))
    assert again.status_code == 200 and again.json["replayed"] is True
    assert {k: v for k, v in again.json.items() if k != "replayed"} == \
        {k: v for k, v in first.json.items() if k != "replayed"}
    assert payments_count(app) == after_first
    assert check_books(app, unit_id, unit) == books

    other = finance.post(f"{API}/payments", notice(demo, "1.00"))  # same key, other money
    assert other.status_code == 409
    assert other.json["errors"] == {"idempotency_key": ["已用于另一笔缴款"]}
    assert payments_count(app) == after_first


def test_money_matching_no_verified_month_stays_unallocated_and_pays_a_later_one(app, make_api,
                                                                                 demo):
    unit = make_api().login_operator()
    finance = make_api().login_finance()
    unit_id = unit_id_of(app, demo)
    early = finance.post(f"{API}/payments", notice(demo, "700000.00", key="bank-early-0001"))
    assert early.status_code == 201 and early.json["allocated"] == []
    assert early.json["unallocated"] == "700000.00"
    assert "未匹配到待缴的核定月份" in early.json["message"]
    check_books(app, unit_id, unit)

    verified = unit.post(f"{API}/remittances", {}).json  # nothing is taken on its own
    listed = unit.get(f"{API}/remittances").json
    assert listed["unallocated"] == "700000.00" and listed["items"][0]["pay_problem"] is None
    paid = unit.post(f"{API}/payables/{verified['payable_id']}/pay")
    assert paid.status_code == 200, paid.json
    left = Decimal("700000.00") - Decimal(verified["amount"])
    assert Decimal(paid.json["unallocated"]) == left
    assert unit.get(f"{API}/remittances").json["items"] == []
    with app.app_context():
        unit_row = db.session.execute(select(LedgerEntry).where(
            LedgerEntry.unit_id == unit_id, LedgerEntry.biz_type == "remit",
            LedgerEntry.account_kind == "U").order_by(LedgerEntry.id.desc())).scalars().first()
        assert unit_row.summary == f"{verified['month']} 汇缴分配（未分配金额）"
    check_books(app, unit_id, unit)
    again = unit.post(f"{API}/payables/{verified['payable_id']}/pay")
    assert again.status_code == 409  # allocated once, never twice


def test_a_short_payment_waits_in_unallocated_until_the_rest_arrives(app, make_api, demo):
    unit = make_api().login_operator()
    finance = make_api().login_finance()
    unit_id = unit_id_of(app, demo)
    verified = unit.post(f"{API}/remittances", {}).json
    amount = Decimal(verified["amount"])
    short = finance.post(f"{API}/payments", notice(demo, amount - 100, key="bank-part-0001"))
    assert short.json["allocated"] == [] and Decimal(short.json["unallocated"]) == amount - 100
    cannot = unit.post(f"{API}/payables/{verified['payable_id']}/pay")
    assert cannot.status_code == 422 and "不足以缴纳" in cannot.json["message"]
    check_books(app, unit_id, unit)
    rest = finance.post(f"{API}/payments", notice(demo, "150.00", key="bank-rest-0001",
                                                  method="collection"))
    assert [p["month"] for p in rest.json["allocated"]] == [verified["month"]]
    assert rest.json["unallocated"] == "50.00"
    assert check_books(app, unit_id, unit)["unallocated"] == Decimal("50.00")


def test_bad_notices_are_refused_by_field_and_only_finance_may_record(app, make_api, demo):
    finance = make_api().login_finance()
    before = payments_count(app)
    bad = finance.post(f"{API}/payments", {"unit_account": "9999999999", "amount": "-5",
                                           "method": "cash", "idempotency_key": "x"})
    assert bad.status_code == 422
    assert set(bad.json["errors"]) == {"unit_account", "amount", "method", "idempotency_key"}
    assert bad.json["errors"]["amount"] == ["缴款金额须大于 0"]
    floaty = finance.post(f"{API}/payments", notice(demo, "10.001"))
    assert floaty.status_code == 422 and "两位小数" in floaty.json["errors"]["amount"][0]
    # a field it does not know, or a number where text belongs, as the rest of the API
    odd = finance.post(f"{API}/payments", {**notice(demo, "10.00"), "payer": "某银行",
                                           "unit_account": int(demo["units"][0]["unit_account"])})
    assert odd.status_code == 422
    assert odd.json["errors"] == {"payer": ["不允许的字段：payer"],
                                  "unit_account": ["单位账号须为文本"]}
    assert "不允许的字段：payer" in odd.json["message"]
    unit = make_api().login_operator()
    assert unit.post(f"{API}/payments", notice(demo, "10.00")).status_code == 403
    reviewer = make_api().login_reviewer()
    assert reviewer.post(f"{API}/payments", notice(demo, "10.00")).status_code == 403
    assert payments_count(app) == before


def test_the_finance_page_records_a_transfer_once_however_often_it_is_sent(app, make_api, demo):
    unit = make_api().login_operator()
    finance = make_api().login_finance()
    verified = unit.post(f"{API}/remittances", {}).json
    page = finance.get("/centre/payments").get_data(as_text=True)
    key = page.split('name="idempotency_key" value="')[1].split('"')[0]
    form = {"csrf_token": finance.csrf(), "unit_account": demo["units"][0]["unit_account"],
            "amount": verified["amount"], "method": "transfer", "reference": "ICBC-1",
            "idempotency_key": key}
    first = finance.client.post("/centre/payments", data=form, follow_redirects=True)
    assert "已分配：" in first.get_data(as_text=True)
    resent = finance.client.post("/centre/payments", data=form, follow_redirects=True)
    assert "未重复记账" in resent.get_data(as_text=True)
    with app.app_context():
        assert db.session.execute(select(func.count()).select_from(Payment).where(
            Payment.idempotency_key == key)).scalar_one() == 1
    wrong = finance.client.post("/centre/payments", data={**form, "idempotency_key": "desk-2x",
                                                          "amount": "abc"})
    assert wrong.status_code == 422 and "缴款金额须为数字" in wrong.get_data(as_text=True)
    check_books(app, unit_id_of(app, demo), unit)


def test_twenty_deliveries_of_one_notice_at_once_take_effect_once(app, make_api, demo, databases):
    if not databases.is_postgres:
        pytest.skip("real concurrent writers: PostgreSQL (SQLite serializes writers)")
    unit = make_api().login_operator()
    verified = unit.post(f"{API}/remittances", {}).json
    clients = [make_api().login_finance() for _ in range(20)]
    body = notice(demo, Decimal(verified["amount"]) + 10, key="bank-race-0000001")
    barrier = threading.Barrier(20)
    answers: list = []

    def deliver(api):
        barrier.wait()
        response = api.post(f"{API}/payments", body)
        answers.append((response.status_code, response.json))

    threads = [threading.Thread(target=deliver, args=(api,)) for api in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    codes = sorted(code for code, _ in answers)
    assert codes == [200] * 19 + [201], answers
    first = next(body for code, body in answers if code == 201)
    for _, answer in answers:
        assert {k: v for k, v in answer.items() if k != "replayed"} == \
            {k: v for k, v in first.items() if k != "replayed"}
    with app.app_context():
        assert db.session.execute(select(func.count()).select_from(Payment).where(
            Payment.idempotency_key == body["idempotency_key"])).scalar_one() == 1
    books = check_books(app, unit_id_of(app, demo), unit)
    assert books["unallocated"] == Decimal("10.00")


def test_an_allocation_books_the_months_lines_as_the_persons_rows_and_writes_one(app, make_api,
                                                                                 demo):
    """分配 writes the unit's 未分配 row and nothing per person: the verified month's lines,
    booked under the allocation's 业务流水号, are the persons' ledger rows (so a
    50,000-person month costs what a 5-person one does), and its 明细 lists each of them
    with the amount verified."""
    unit = make_api().login_operator()
    finance = make_api().login_finance()
    unit_id = unit_id_of(app, demo)
    verified = unit.post(f"{API}/remittances", {}).json
    _, rows_before = payments_count(app)
    paid = finance.post(f"{API}/payments", notice(demo, verified["amount"], key="bank-lines-1"))
    assert paid.status_code == 201, paid.json
    assert payments_count(app)[1] - rows_before == 2  # the payment's row, the allocation's

    with app.app_context():
        payable = db.session.get(Payable, paid.json["allocated"][0]["payable_id"])
        serial = payable.allocate_serial
        lines = db.session.execute(select(PayableLine.person_account_id, PayableLine.amount)
                                   .where(PayableLine.payable_id == payable.id)).all()
        booked = db.session.execute(select(PERSON_ROWS.c.person_account_id,
                                           PERSON_ROWS.c.amount, PERSON_ROWS.c.summary)
                                    .where(PERSON_ROWS.c.serial_no == serial)).all()
        db.session.remove()
    assert len(lines) == verified["head_count"] > 1
    assert sorted((p, a) for p, a, _ in booked) == sorted(lines)
    assert {s for _, _, s in booked} == {f"{verified['month']} 汇缴"}
    details = unit.get(f"{API}/units/me/ledger/{serial}/details?per_page=500").json
    assert details["total"] == len(details["items"]) == len(lines)
    assert sum(Decimal(r["amount"]) for r in details["items"]) == Decimal(verified["amount"])
    check_books(app, unit_id, unit)


def test_an_allocation_that_lost_the_race_for_its_payable_changes_nothing(app, make_api, demo,
                                                                         monkeypatch):
    """Two allocations of one 应缴 that both passed the check (an 应缴 made outside the
    hall has no application to lock): the second finds it booked, moves no money and
    writes nothing, although 未分配 would cover it again."""
    unit = make_api().login_operator()
    finance = make_api().login_finance()
    unit_id = unit_id_of(app, demo)
    verified = unit.post(f"{API}/remittances", {}).json
    twice = Decimal(verified["amount"]) * 2
    paid = finance.post(f"{API}/payments", notice(demo, twice, key="bank-twice-1")).json
    assert Decimal(paid["unallocated"]) == Decimal(verified["amount"])
    books = check_books(app, unit_id, unit)
    rows = payments_count(app)

    monkeypatch.setattr(allocation, "check", lambda item: None)  # the stale read
    with app.app_context():
        with pytest.raises(Conflict, match="已分配或已删除"):
            allocation.allocate(paid["allocated"][0]["payable_id"], Who("test", "测试", "汇缴"),
                                date.today(), "unallocated")
        db.session.commit()
        db.session.remove()
    assert payments_count(app) == rows
    assert check_books(app, unit_id, unit) == books
