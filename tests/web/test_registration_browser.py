"""缴存人登记 and 账户状态变更查询 in a real browser (Chromium): the unit opens the tile,
enters a new person by hand (gender and birth date shown back), imports two from the
downloaded template, deletes one, and 【完成办理】 opens the accounts; the 开户 records then
show in 账户状态变更查询, reached from 缴存人信息查询."""

from __future__ import annotations

from pathlib import Path

import pytest
from openpyxl import load_workbook
from playwright.sync_api import Page, expect

from tests.people import mobile, resident_id

from .browser import new_page, no_horizontal_scroll, operator_login, shot, start_application

pytestmark = pytest.mark.browser


def filled_template(page: Page, tmp_path: Path, rows: list[dict]) -> Path:
    with page.expect_download() as download:
        page.click("#template-link")
    template = tmp_path / download.value.suggested_filename
    download.value.save_as(template)
    book = load_workbook(template)
    sheet = book.worksheets[0]
    headers = {cell.value: cell.column for cell in sheet[1]}
    for offset, row in enumerate(rows, start=2):
        for header, value in row.items():
            sheet.cell(row=offset, column=headers[header], value=value)
    path = tmp_path / "开户清册.xlsx"
    book.save(path)
    return path


def confirm(page: Page) -> None:
    page.locator("#confirm-dialog").get_by_role("button", name="确定").click()


def test_registration_through_the_browser(browser, live, demo, tmp_path):
    page = new_page(browser)
    operator_login(page, live, demo)
    start_application(page, "registration")
    expect(page.get_by_role("heading", name="开户清册", exact=True)).to_be_visible()

    # single entry: every field typed, gender and birth date shown back; a blank rate is
    # the unit's, and the form says so
    expect(page.locator("#entry-person_rate option").first).to_contain_text("默认（本单位 ")
    page.fill("#entry-name", "浏览器甲")
    page.fill("#entry-id_number", resident_id(901))
    page.fill("#entry-mobile", mobile(901))
    page.fill("#entry-base", "8000")
    page.click("#add-row")
    expect(page.get_by_text("录入清册成功：浏览器甲（男 1970-01-02）")).to_be_visible()
    expect(page.locator("#manifest-rows tbody tr")).to_have_count(1)
    # a bad mobile is refused by field, nothing added
    page.fill("#entry-name", "浏览器错")
    page.fill("#entry-id_number", resident_id(905))
    page.fill("#entry-mobile", "1234")
    page.fill("#entry-base", "8000")
    page.click("#add-row")
    expect(page.get_by_text("手机号码「1234」有误")).to_be_visible()
    expect(page.locator("#manifest-rows tbody tr")).to_have_count(1)

    # batch import from the downloaded template
    page.click("#open-import")
    path = filled_template(page, tmp_path, [
        {"姓名": "浏览器乙", "证件号码": resident_id(902, female=True), "手机号码": mobile(902),
         "缴存基数": "6000", "个人缴存比例": "12%"},
        {"姓名": "浏览器丙", "证件号码": resident_id(903), "手机号码": mobile(903),
         "缴存基数": "5000"}])
    page.set_input_files("#import-file", str(path))
    page.click("#import-submit")
    expect(page.get_by_text("批量导入成功：共导入 2 行")).to_be_visible()
    expect(page.locator("#manifest-rows tbody tr")).to_have_count(3)
    no_horizontal_scroll(page)
    shot(page, "registration-manifest")

    # delete one, after confirming
    page.locator("#manifest-rows tbody tr", has_text="浏览器丙").get_by_role(
        "button", name="删除").click()
    confirm(page)
    expect(page.get_by_text("已从清册中删除")).to_be_visible()
    expect(page.locator("#manifest-rows tbody tr")).to_have_count(2)

    # 【完成办理】 asks, then opens the accounts
    page.click("#submit-task")
    confirm(page)
    expect(page.get_by_text("缴存人登记已办结")).to_be_visible()

    # 账户状态变更查询, from 缴存人信息查询
    page.goto(f"{live}/queries/persons")
    page.click("#status-query-link")
    page.select_option("#change", "open")
    page.click("#query-form button[type=submit]")
    rows = page.locator("#status-changes tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.first).to_contain_text("开户")
    expect(page.locator("#status-changes")).to_contain_text("浏览器乙")
    with page.expect_download() as download:
        page.click("#export")
    assert download.value.suggested_filename.endswith(".xlsx")
    shot(page, "status-query")
