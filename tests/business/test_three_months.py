"""A unit through three months, as the manual's chapters 5, 6 and 8 read, over the API:

month 1: 汇缴核定, paid by 转账 through centre finance, allocated.
between: a new employee registered and one sealed; both show in month 2's reconciliation
         with their causes. Month 2 verified and paid; money arrives that matches no
         verified month and waits in 未分配.
month 3: verified, deleted while unpaid (“核定删除成功”), verified again, paid from 未分配.
then:    a back pay approved, its 补缴书 printed, paid and allocated; interest settled.

After every step the books balance to the 分 (personal balances + 未分配 = the unit's
ledger balance, the kept balances = the rows, money in = money held).
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy import select

from services import clock, interest
from services.db import db
from services.models import PersonAccount
from services.months import YearMonth
from tests.money_helpers import (
    Today,
    change_status,
    check_books,
    register_person,
    unit_id_of,
    year_after,
)

API = "/api/v1"


def test_three_months_of_a_unit(app, make_api, demo, monkeypatch):
    today = Today(monkeypatch)
    unit = make_api().login_operator()
    finance = make_api().login_finance()
    reviewer = make_api().login_reviewer()
    unit_id = unit_id_of(app, demo)
    account_no = demo["units"][0]["unit_account"]
    books = check_books(app, unit_id, unit)

    def transfer(amount, key):
        response = finance.post(f"{API}/payments", {
            "unit_account": account_no, "amount": str(amount), "method": "transfer",
            "reference": f"CCB{key}", "idempotency_key": f"three-months-{key}"})
        assert response.status_code == 201, response.json
        return response.json

    # -- month 1 ---------------------------------------------------------------------------
    first = unit.post(f"{API}/remittances", {}).json
    m1 = YearMonth.parse(first["month"])
    assert check_books(app, unit_id, unit) == books  # verifying moves no money
    paid = transfer(first["amount"], "m1")
    assert [p["month"] for p in paid["allocated"]] == [str(m1)]
    books = check_books(app, unit_id, unit)
    assert books["unallocated"] == 0 and unit.get(f"{API}/units/me").json["paid_through"] == str(m1)

    # -- between months: 缴存人登记 and 封存, effective from the 应汇缴年月 -------------------
    m2 = m1 + 1
    with app.app_context():
        joined = register_person(unit_id, m2, "9000.00", "吴新来")
        leaving = db.session.execute(select(PersonAccount).where(
            PersonAccount.unit_id == unit_id, PersonAccount.status == "01")
            .order_by(PersonAccount.account_no)).scalars().first()
        change_status(leaving.id, "seal", m2)
        joined_amount = db.session.get(PersonAccount, joined).monthly_amount
        left_amount = leaving.monthly_amount
        db.session.commit()

    # -- month 2 ---------------------------------------------------------------------------
    today.set(m2.first_day().replace(day=8))
    preview = unit.get(f"{API}/remittance").json
    rec = preview["reconciliation"]
    assert preview["month"] == str(m2)
    assert [(c["label"], c["count"], c["amount"]) for c in rec["added"]] == \
        [("登记", 1, str(joined_amount))]
    assert [(c["label"], c["count"], c["amount"]) for c in rec["removed"]] == \
        [("封存", 1, str(left_amount))]
    second = unit.post(f"{API}/remittances", {}).json
    assert second["head_count"] == 216 and Decimal(second["amount"]) == \
        Decimal(first["amount"]) + joined_amount - left_amount
    transfer(second["amount"], "m2")
    books = check_books(app, unit_id, unit)
    early = transfer("700000.00", "early")  # nothing verified to pay: it waits
    assert early["allocated"] == [] and early["unallocated"] == "700000.00"
    books = check_books(app, unit_id, unit)
    assert books["unallocated"] == Decimal("700000.00")

    # -- month 3: verified, deleted while unpaid, verified again, paid from 未分配 -----------
    m3 = m2 + 1
    today.set(m3.first_day().replace(day=9))
    third = unit.post(f"{API}/remittances", {}).json
    deleted = unit.delete(f"{API}/remittances/{m3}")
    assert deleted.json["message"] == "核定删除成功" and deleted.json["next_month"] == str(m3)
    check_books(app, unit_id, unit)
    third = unit.post(f"{API}/remittances", {}).json
    assert third["month"] == str(m3)
    paid = unit.post(f"{API}/payables/{third['payable_id']}/pay").json
    assert Decimal(paid["unallocated"]) == Decimal("700000.00") - Decimal(third["amount"])
    books = check_books(app, unit_id, unit)
    me = unit.get(f"{API}/units/me").json
    assert (me["paid_through"], me["due_month"]) == (str(m3), str(m3 + 1))

    # -- a back pay: approved, printed, paid -----------------------------------------------
    started = unit.post(f"{API}/processes/back_pay/instances", {"data": {}}).json
    instance_id = started["instance_id"]
    person = unit.get(f"{API}/persons?status=01&per_page=3").json["items"][2]
    assert unit.post(f"{API}/instances/{instance_id}/manifest/rows", {
        "person_account": person["person_account"], "reason": "02", "month": str(m2),
        "amount": "321.00"}).status_code == 201
    assert unit.post(f"{API}/tasks/{started['tasks'][0]['task_id']}/complete",
                     {"data": {"remark": ""}}).status_code == 200
    review = next(t for t in reviewer.get(f"{API}/tasks?list=group").json["items"]
                  if t["instance_id"] == instance_id)
    reviewer.post(f"{API}/tasks/{review['task_id']}/claim")
    assert reviewer.post(f"{API}/tasks/{review['task_id']}/complete", {"data": {
        "decision": "approve", "opinion": ""}}).status_code == 200
    printing = next(t for t in unit.get(f"{API}/tasks?list=todo").json["items"]
                    if t["instance_id"] == instance_id)
    assert unit.get(f"/documents/back_pay_notice/{instance_id}.pdf").status_code == 200
    assert unit.post(f"{API}/tasks/{printing['task_id']}/complete", {"data": {}}).status_code == 200
    check_books(app, unit_id, unit)
    # paid by its own transfer (the unit could have used its 未分配 instead)
    assert [(p["kind"], p["amount"]) for p in transfer("321.00", "back-pay")["allocated"]] == \
        [("back_pay", "321.00")]
    assert unit.get(f"{API}/instances/{instance_id}").json["status"] == "completed"
    books = check_books(app, unit_id, unit)

    # -- 结息 --------------------------------------------------------------------------------
    year = year_after((m3 + 1).first_day())
    today.set(date(year, 7, 1))
    with app.app_context():
        settled, _ = interest.settle(year, clock.today())
        mine = next(s for s in settled if s.unit_id == unit_id)
        db.session.remove()
    assert mine.head_count == 221  # everyone who ever had money here
    after = check_books(app, unit_id, unit)
    assert after["persons"] == books["persons"] + mine.interest
    rows = unit.get(f"{API}/units/me/ledger?type=interest").json["items"]
    assert rows[0]["interest"] == str(mine.interest)
    year_info = unit.get(f"{API}/units/me/account?from={year}-06-30&to={year}-06-30").json
    assert Decimal(year_info["increase"]) == mine.interest
