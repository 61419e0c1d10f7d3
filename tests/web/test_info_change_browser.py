"""信息变更 in a real browser (Chromium): 单位信息变更 (ch.3) from its tile with greyed
fields, 【确定】, × and 【完成办理】 with its print prompt; 缴存人信息变更 (ch.10) with the
person picker filling the form, 【保存】 and the centre's approval; and the two change
queries (8.1 on 单位信息查询, 7.2 on 缴存人信息查询) with their exports."""

from __future__ import annotations

import io

import pytest
from openpyxl import load_workbook
from playwright.sync_api import Page, expect
from sqlalchemy import select

from services.changes import Who, record_changes
from services.db import db
from services.models import Person, PersonAccount, Unit
from tests.money_helpers import unit_id_of
from tests.pdf import pdf_text

from .browser import new_page, operator_login, shot, staff_login, start_application

pytestmark = pytest.mark.browser


def confirm(page: Page) -> None:
    page.locator("#confirm-dialog").get_by_role("button", name="确定").click()


def test_unit_info_change_in_the_browser(browser, live, app, demo):
    page = new_page(browser)
    operator_login(page, live, demo)
    start_application(page, "unit_info_change")
    expect(page.locator("#entry-account_no")).to_be_disabled()
    expect(page.locator("#entry-account_no")).to_have_value(demo["units"][0]["unit_account"])
    expect(page.locator("#entry-name")).to_have_value(demo["units"][0]["name"])
    page.fill("#entry-address", "示范市新城区浏览器路 1 号")
    page.fill("#entry-contact_phone", "12345")
    page.click("#add-row")
    expect(page.get_by_role("alert")).to_contain_text("联系人手机有误")
    page.fill("#entry-contact_phone", "13900001111")
    page.fill("#entry-industry", "软件业")
    page.click("#add-row")
    expect(page.get_by_text("已放入待变更清册：3 项")).to_be_visible()
    rows = page.locator("#manifest-rows tbody tr")
    expect(rows).to_have_count(3)
    rows.filter(has_text="行业").get_by_role("button", name="删除").click()
    confirm(page)
    expect(rows).to_have_count(2)
    shot(page, "unit-info-change")
    page.click("#submit-task")
    confirm(page)
    expect(page.locator("#done-prompt")).to_contain_text("完成办理，是否打印？")
    printed = page.request.get(live + page.locator("#done-print").get_attribute("href"))
    assert "单位信息变更记录" in pdf_text(printed.body())
    with app.app_context():
        unit = db.session.get(Unit, unit_id_of(app, demo))
        assert (unit.address, unit.contact_phone, unit.industry) == (
            "示范市新城区浏览器路 1 号", "13900001111", "")


def test_person_info_change_in_the_browser(browser, live, app, demo):
    page = new_page(browser)
    operator_login(page, live, demo)
    person = page.request.get(f"{live}/api/v1/persons?per_page=1").json()["items"][0]
    start_application(page, "person_info_change")
    page.fill("#person-picker", person["person_account"])
    expect(page.locator("#showback [data-show=id_number]")).to_have_text(person["id_number"])
    expect(page.locator("#showback [data-show=id_type_name]")).to_have_text("身份证")
    expect(page.locator("#entry-address")).to_have_value(person["address"])
    # a refused entry comes back with what was typed, not the registered values again
    married = "20" if person["marital_status"] != "20" else "40"
    page.select_option("#entry-marital_status", married)
    page.fill("#entry-postcode", "35")
    page.click("#add-row")
    expect(page.locator("#entry-form .notice--error")).to_contain_text("邮政编码")
    expect(page.locator("#entry-marital_status")).to_have_value(married)
    expect(page.locator("#entry-postcode")).to_have_value("35")
    page.locator("#person-picker").focus()  # looking the person up again keeps them too
    expect(page.locator("#showback [data-show=id_number]")).to_have_text(person["id_number"])
    expect(page.locator("#entry-marital_status")).to_have_value(married)
    page.fill("#entry-postcode", person["postcode"])
    page.select_option("#entry-marital_status", person["marital_status"])
    page.select_option("#entry-education", "10")
    page.fill("#entry-phone", "0591-66668888")
    page.click("#add-row")
    expect(page.get_by_text(f"已放入待变更清册：{person['name']} 2 项")).to_be_visible()
    expect(page.locator("#manifest-rows tbody tr")).to_have_count(2)
    shot(page, "person-info-change")
    page.click("#submit-task")
    confirm(page)
    expect(page.get_by_text("已提交审批")).to_be_visible()

    reviewer = new_page(browser)
    staff_login(reviewer, live, demo["reviewers"][0], "审核工作台")
    reviewer.locator("#desk-group tbody tr", has_text="缴存人信息变更").first.get_by_role(
        "button", name="认领").click()
    expect(reviewer.locator("#manifest-rows")).to_contain_text("研究生")
    reviewer.check("input[name=decision][value=approve]")
    reviewer.click("#submit-task")
    confirm(reviewer)
    expect(reviewer.get_by_text("审批结果已提交")).to_be_visible()
    with app.app_context():
        changed = db.session.execute(select(Person).join(
            PersonAccount, PersonAccount.person_id == Person.id).where(
            PersonAccount.account_no == person["person_account"])).scalar_one()
        assert (changed.education, changed.phone) == ("10", "0591-66668888")


def _record(app, demo, subject: str, field: str, label: str, old: str, new: str) -> str:
    with app.app_context():
        unit_id = unit_id_of(app, demo)
        account = db.session.execute(select(PersonAccount).where(
            PersonAccount.unit_id == unit_id).order_by(PersonAccount.account_no)).scalars().first()
        record_changes(unit_id=unit_id, subject=subject, changes=[(field, label, old, new)],
                       who=Who("jbr01", "陈思远", "测试变更"),
                       person_account_id=account.id if subject == "person" else None)
        db.session.commit()
        return account.account_no


def _exported(page: Page, selector: str) -> list[list]:
    with page.expect_download() as download:
        page.click(selector)
    sheet = load_workbook(io.BytesIO(open(download.value.path(), "rb").read())).worksheets[0]
    return [[c.value for c in row] for row in sheet.iter_rows()]


def test_unit_change_query_in_the_browser(browser, live, app, demo):
    _record(app, demo, "unit", "postcode", "邮政编码", "350001", "350088")
    page = new_page(browser)
    operator_login(page, live, demo)
    page.click("a.tile[data-key=unit_query]")
    page.click("#tab-changes")
    expect(page.locator("#unit-changes tbody tr").first).to_contain_text("350088")
    values = _exported(page, "#export")
    assert values[1][1:4] == ["邮政编码", "350001", "350088"]


def test_person_change_query_in_the_browser(browser, live, app, demo):
    account = _record(app, demo, "person", "phone", "固定电话", "", "0591-12121212")
    page = new_page(browser)
    operator_login(page, live, demo)
    page.click("a.tile[data-key=person_query]")
    page.click("text=客户信息变更")
    page.fill("#q", account)
    page.click("#query-form button[type=submit]")
    expect(page.locator("#query-changes tbody tr").first).to_contain_text("0591-12121212")
    values = _exported(page, "#export")
    assert values[1][1] == account and values[1][5] == "0591-12121212"
