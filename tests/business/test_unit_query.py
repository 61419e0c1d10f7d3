"""单位信息查询 (manual 8.2, 8.3): 账户信息 over a date range agrees with the rows; 业务流水
by type and dates with each row's 明细, export and print; 打印缴费凭条 and the 汇补缴书.
A unit never reaches another unit's rows."""

from __future__ import annotations

import io
from decimal import Decimal

from openpyxl import load_workbook
from sqlalchemy import select

from services import clock
from services.db import db
from services.ledger import PERSON_ROWS
from services.money import fmt
from tests.money_helpers import check_books, unit_id_of
from tests.pdf import pdf_text

API = "/api/v1"


def person_rows_of(app, unit_id) -> list:
    """The persons' ledger rows booked in the unit (posted ones and allocated lines)."""
    with app.app_context():
        return db.session.execute(select(PERSON_ROWS).where(
            PERSON_ROWS.c.unit_id == unit_id)).all()


def test_account_information_over_a_date_range_agrees_with_the_rows(app, make_api, demo):
    unit = make_api().login_operator()
    unit_id = unit_id_of(app, demo)
    rows = person_rows_of(app, unit_id)
    days = sorted({r.booked_on for r in rows})
    since, until = days[1], days[-2]  # the middle of the history

    info = unit.get(f"{API}/units/me/account?from={since}&to={until}").json
    before = sum((r.amount + r.interest for r in rows if r.booked_on < since), Decimal(0))
    during = sum((r.amount + r.interest for r in rows if since <= r.booked_on <= until),
                 Decimal(0))
    assert Decimal(info["opening_balance"]) == before
    assert (Decimal(info["increase"]), Decimal(info["decrease"])) == (during, 0)
    assert Decimal(info["closing_balance"]) == before + during
    assert info["unallocated"] == "0.00"
    whole = unit.get(f"{API}/units/me/account").json  # this year so far by default
    assert whole["to"] == str(clock.today())
    assert Decimal(whole["closing_balance"]) == check_books(app, unit_id, unit)["persons"]
    wrong = unit.get(f"{API}/units/me/account?from={until}&to={since}")
    assert wrong.status_code == 422 and wrong.json["errors"]["from"]

    # 8.2 打印: the page's 打印 prints these figures and the period's 业务流水
    page = unit.client.get(f"/queries/unit?tab=account&since={since}&until={until}").text
    link = f"/documents/unit_account/me.pdf?since={since}&amp;until={until}"
    assert link in page
    printed = unit.client.get(link.replace("&amp;", "&"))
    assert printed.status_code == 200 and printed.mimetype == "application/pdf"
    text = pdf_text(printed.data)
    assert "单位账户信息" in text and f"查询期间： {since} 至 {until}" in text
    for label, key in (("期初余额", "opening_balance"), ("本期增加", "increase"),
                       ("期末余额", "closing_balance")):
        assert f"{label}： {fmt(Decimal(info[key]))} 元" in text, label
    listed = unit.get(f"{API}/units/me/ledger?from={since}&to={until}&per_page=200").json
    assert f"笔数： {listed['total']} 笔" in text


def test_the_ledger_by_type_with_details_export_and_prints(app, make_api, demo):
    unit = make_api().login_operator()
    finance = make_api().login_finance()
    unit_id = unit_id_of(app, demo)
    verified = unit.post(f"{API}/remittances", {}).json
    month = verified["month"]
    notice = pdf_text(unit.get(f"/documents/remittance_notice/{month}.pdf").data)
    assert "住房公积金汇补缴书" in notice and month in notice
    assert fmt(Decimal(verified["amount"])) in notice and "本月汇缴人数： 216 人" in notice
    paid = finance.post(f"{API}/payments", {
        "unit_account": demo["units"][0]["unit_account"], "amount": verified["amount"],
        "method": "collection", "reference": "TS-9", "idempotency_key": "query-test-0001"}).json

    today = clock.today()
    listed = unit.get(f"{API}/units/me/ledger?from={today}&to={today}").json["items"]
    assert [r["biz_type_name"] for r in listed] == ["汇缴", "缴款", "汇缴核定"]
    remit, payment, verify = listed
    assert remit["amount"] == payment["amount"] == verify["amount"] == verified["amount"]
    assert remit["head_count"] == verify["head_count"] == 216
    payments = unit.get(f"{API}/units/me/ledger?type=payment").json["items"]
    assert payments[0]["serial_no"] == paid["serial_no"] and payments[0]["biz_type"] == "payment"
    assert unit.get(f"{API}/units/me/ledger?type=bogus").status_code == 422

    details = unit.get(f"{API}/units/me/ledger/{remit['serial_no']}/details?per_page=500").json
    assert details["total"] == 216
    assert sum(Decimal(r["amount"]) for r in details["items"]) == Decimal(verified["amount"])
    assert {r["detail_type"] for r in details["items"]} == {"汇缴"}
    fixed = unit.get(f"{API}/units/me/ledger/{verify['serial_no']}/details?per_page=5").json
    assert fixed["total"] == 216 and fixed["items"][0]["detail_type"] == "汇缴核定"

    sheet = load_workbook(io.BytesIO(unit.get(
        f"/queries/unit/ledger.xlsx?type=remit&since={today}").data)).active
    assert [c.value for c in sheet[1]][:3] == ["业务流水号", "记账日期", "业务类型"]
    assert sheet.cell(row=2, column=1).value == remit["serial_no"]
    assert f"{sheet.cell(row=2, column=5).value:.2f}" == verified["amount"]
    sheet = load_workbook(io.BytesIO(unit.get(
        f"/queries/unit/ledger/{remit['serial_no']}.xlsx").data)).active
    assert sheet.max_row == 217

    receipt = pdf_text(unit.get(f"/documents/payment_receipt/{paid['serial_no']}.pdf").data)
    assert "住房公积金缴费凭条" in receipt and "托收" in receipt and "TS-9" in receipt
    assert fmt(Decimal(verified["amount"])) in receipt and f"{month} 汇缴" in receipt
    printed = pdf_text(unit.get(f"/documents/ledger/me.pdf?type=remit&since={today}").data)
    assert "单位业务流水" in printed and remit["serial_no"] in printed
    # every type: the month's 核定, 缴款 and 汇缴 are listed, its money added up once
    every = pdf_text(unit.get(f"/documents/ledger/me.pdf?since={today}").data)
    assert "笔数： 3 笔" in every and f"发生额合计： {fmt(Decimal(verified['amount']))} 元" in every
    assert "发生额合计为改变账户余额的业务（汇缴、补缴、转移、结息）之和" in "".join(every.split())
    one = pdf_text(unit.get(f"/documents/ledger_details/{remit['serial_no']}.pdf").data)
    assert "业务明细" in one and "人数： 216 人" in one

    page = unit.get("/queries/unit?tab=ledger").get_data(as_text=True)
    assert "打印缴费凭条" in page and f"/queries/unit/ledger/{remit['serial_no']}" in page
    assert "期初余额" in unit.get("/queries/unit").get_data(as_text=True)

    # paid: no more notice to pay it (a second payment would follow), the receipt instead
    again = unit.get(f"/documents/remittance_notice/{month}.pdf")
    assert again.status_code == 422 and "不再打印汇补缴书" in again.get_data(as_text=True)

    other = make_api().login_operator(1)
    assert other.get(f"{API}/units/me/ledger/{remit['serial_no']}/details").status_code == 404
    assert other.get(f"/documents/payment_receipt/{paid['serial_no']}.pdf").status_code == 404
    assert other.get(f"/documents/remittance_notice/{month}.pdf").status_code == 404
    assert other.get(f"/documents/ledger_details/{remit['serial_no']}.pdf").status_code == 404
    check_books(app, unit_id, unit)
    check_books(app, unit_id_of(app, demo, 1), other)
