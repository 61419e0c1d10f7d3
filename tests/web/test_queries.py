"""缴存人信息查询 (manual chapter 7): the unit's depositors' accounts with balances that are
the ledger's sums, filters, an .xlsx export of every matching row, and the change records
of its depositors. Another unit's depositors never appear."""

from __future__ import annotations

import io
import re
from decimal import Decimal

from openpyxl import load_workbook
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from services.db import db
from services.models import PersonAccount, UnitAccount
from services.spreadsheets import table_xlsx
from tests.money_helpers import ledger_cents

from .test_login import login

URL = "/queries/persons"


def unit_accounts(app, demo, unit=0) -> list[PersonAccount]:
    with app.app_context():
        unit_id = db.session.execute(select(UnitAccount.unit_id).where(
            UnitAccount.account_no == demo["units"][unit]["unit_account"])).scalar_one()
        rows = db.session.execute(select(PersonAccount).options(joinedload(PersonAccount.person))
                                  .where(PersonAccount.unit_id == unit_id)
                                  .order_by(PersonAccount.account_no)).scalars().all()
        db.session.expunge_all()
        return rows


def test_the_tile_opens_the_account_list_of_this_unit_only(app, demo):
    client = app.test_client()
    login(client, demo)
    home = client.get("/").text
    assert f'href="{URL}"' in home
    page = client.get(URL).text
    mine = unit_accounts(app, demo)
    assert f"共 {len(mine)} 条" in page
    theirs = unit_accounts(app, demo, unit=1)
    assert mine[0].account_no in page and theirs[0].account_no not in page
    assert client.get(f"{URL}?q={theirs[0].account_no}").text.count("没有符合条件的记录") == 1


def test_filters_by_status_text_and_opening_date(app, demo):
    client = app.test_client()
    login(client, demo)
    accounts = unit_accounts(app, demo)
    sealed = [a for a in accounts if a.status == "02"]
    page = client.get(f"{URL}?status=02").text
    assert f"共 {len(sealed)} 条" in page and sealed[0].account_no in page
    one = accounts[3]
    assert "共 1 条" in client.get(f"{URL}?q={one.account_no}").text
    day = one.opened_on.isoformat()
    same_day = [a for a in accounts if a.opened_on == one.opened_on]
    assert f"共 {len(same_day)} 条" in client.get(f"{URL}?since={day}&until={day}").text
    bad = client.get(f"{URL}?since=2026-13-40")
    assert bad.status_code == 200 and "开始日期格式应为 YYYY-MM-DD" in bad.text


def test_export_holds_every_matching_row_with_ledger_balances(app, demo):
    client = app.test_client()
    login(client, demo)
    response = client.get(f"{URL}/accounts.xlsx?status=01")
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(response.data)).active
    header = [c.value for c in sheet[1]]
    assert header[:4] == ["个人账号", "姓名", "证件号码", "账户状态"] and header[-1] == "账户余额"
    rows = list(sheet.iter_rows(min_row=2, values_only=True))
    active = [a for a in unit_accounts(app, demo) if a.status == "01"]
    assert [r[0] for r in rows] == [a.account_no for a in active]  # all, not one page
    cents = ledger_cents(app, [a.id for a in active])  # summed here independently, in 分
    for row, account in zip(rows, active, strict=True):
        assert round(Decimal(str(row[-1])) * 100) == cents[account.id]  # stored as 分
        assert Decimal(row[6].rstrip("%")) == account.person_rate * 100
    assert sheet["J2"].number_format == "#,##0.00"


def test_search_text_is_taken_literally_and_ignores_case(app, demo):
    client = app.test_client()
    login(client, demo)
    assert "没有符合条件的记录" in client.get(f"{URL}?q=_").text  # not a wildcard
    assert "没有符合条件的记录" in client.get(f"{URL}?q=%25").text
    with_x = next(a for a in unit_accounts(app, demo) if a.person.id_number.endswith("X"))
    lower = with_x.person.id_number.lower()
    assert with_x.account_no in client.get(f"{URL}?q={lower}").text


def test_change_records_show_an_approved_base_adjustment(app, demo, make_api):
    operator = make_api().login_operator()
    person = operator.get("/api/v1/persons?status=01").json["items"][0]
    started = operator.post("/api/v1/processes/base_adjustment/instances", {"data": {}}).json
    operator.post(f"/api/v1/instances/{started['instance_id']}/manifest/rows",
                  {"person_account": person["person_account"], "new_base": "6000"})
    operator.post(f"/api/v1/tasks/{started['tasks'][0]['task_id']}/complete",
                  {"data": {"remark": ""}})
    reviewer = make_api().login_reviewer()
    review = reviewer.get("/api/v1/tasks?list=group").json["items"][0]["task_id"]
    reviewer.post(f"/api/v1/tasks/{review}/claim")
    assert reviewer.post(f"/api/v1/tasks/{review}/complete", {"data": {
        "decision": "approve", "opinion": "同意"}}).status_code == 200

    client = app.test_client()
    login(client, demo)
    page = client.get(f"{URL}?tab=changes&q={person['person_account']}").text
    assert "缴存基数" in page and "6,000.00" in page and person["name"] in page
    old_base = f"{Decimal(person['base']):,.2f}"  # as people read it: 9,698.60, not 9698.60
    assert old_base in page and "720.00" in page  # 6000 × 12%, each side
    assert re.search(rf'href="/instances/{started["instance_id"]}">基数调整</a>', page)
    other = client.get(f"{URL}?tab=changes&since=2000-01-01&until=2000-01-02").text
    assert "没有符合条件的记录" in other


def test_exported_text_that_looks_like_a_formula_stays_text():
    content = table_xlsx("t", [("name", "姓名", 10)], [{"name": "=HYPERLINK(\"x\")"}])
    cell = load_workbook(io.BytesIO(content)).active["A2"]
    assert (cell.data_type, cell.value) == ("s", "=HYPERLINK(\"x\")")
