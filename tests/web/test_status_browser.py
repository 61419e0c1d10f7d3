"""缴存人状态变更 and 缴存人单位调整 in a real browser (Chromium), each walked once as the
manual's chapters 11 and 12 tell it: the tile, single entry with the picker (name and ID
shown back), batch import through the dialog, delete, then 【确定封存/启封】 or
【提交审批】 and, for the transfer, the reviewer's approval."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from services.db import db
from services.models import PersonAccount
from tests.business.helpers import fill_template

from .browser import new_page, operator_login, reviewer_login, shot, start_application

pytestmark = pytest.mark.browser


def confirm(page: Page) -> None:
    page.locator("#confirm-dialog").get_by_role("button", name="确定").click()


def persons(page: Page, live: str, status: str) -> list[dict]:
    return page.request.get(f"{live}/api/v1/persons?status={status}&per_page=5").json()["items"]


def import_rows(page: Page, live: str, tmp_path: Path, rows: list[dict],
                change_type: str | None = None) -> None:
    page.click("#open-import")
    if change_type:
        page.locator(f"#import-dialog input[data-template-type][value={change_type}]").check()
    href = page.locator("#template-link").get_attribute("href")
    content = page.request.get(live + href).body()
    path = tmp_path / "清册.xlsx"
    path.write_bytes(fill_template(content, rows))
    page.set_input_files("#import-file", str(path))
    page.click("#import-submit")


def delete_row(page: Page, text: str) -> None:
    page.locator("#manifest-rows tbody tr", has_text=text).get_by_role("button", name="删除").click()
    confirm(page)
    expect(page.get_by_text("已从清册中删除")).to_be_visible()


def status_of(app, number: str) -> tuple[int, str]:
    with app.app_context():
        found = db.session.execute(select(PersonAccount.unit_id, PersonAccount.status).where(
            PersonAccount.account_no == number)).one()
        db.session.remove()
        return tuple(found)


def test_seal_and_unseal_through_the_browser(browser, live, app, demo, tmp_path):
    page = new_page(browser)
    operator_login(page, live, demo)
    active, sealed = persons(page, live, "01"), persons(page, live, "02")
    start_application(page, "status_change")
    expect(page.get_by_role("heading", name="缴存人状态变更清册")).to_be_visible()

    # 封存 tab: pick a person, name and ID shown back, a reason, 录入清册
    page.fill("#person-picker", active[0]["person_account"])
    expect(page.locator("#showback [data-show=name]")).to_have_text(active[0]["name"])
    expect(page.locator("#showback [data-show=id_number]")).to_have_text(active[0]["id_number"])
    page.select_option("#entry-seal_reason", "01")
    page.click("#add-row")
    expect(page.get_by_text("缴存人状态变更清册录入成功")).to_be_visible()

    # 启封 tab: the picker offers sealed persons, the reasons are 启封原因
    page.locator("#entry-form input[data-change-type][value=unseal]").check()
    expect(page.locator("#entry-seal_reason")).to_be_hidden()
    page.fill("#person-picker", sealed[0]["name"])
    page.locator("#person-options li", has_text=sealed[0]["person_account"]).click()
    expect(page.locator("#showback [data-show=name]")).to_have_text(sealed[0]["name"])
    page.select_option("#entry-unseal_reason", "02")
    page.click("#add-row")
    expect(page.get_by_text("缴存人状态变更清册录入成功")).to_be_visible()

    import_rows(page, live, tmp_path, [{"个人账号": active[1]["person_account"], "封存原因": "退休"},
                                 {"个人账号": active[2]["person_account"], "封存原因": "01"}])
    expect(page.get_by_text("批量导入成功：共导入 2 行")).to_be_visible()
    expect(page.locator("#manifest-rows tbody tr")).to_have_count(4)
    delete_row(page, active[2]["person_account"])
    expect(page.locator("#manifest-rows tbody tr")).to_have_count(3)
    # tick the rows to confirm: all are ticked; leave one out
    page.locator("#manifest-rows tbody tr", has_text=active[1]["person_account"]) \
        .locator("input[type=checkbox]").uncheck()
    shot(page, "status-change-manifest")

    page.click("#submit-task")
    confirm(page)
    expect(page.locator(".notice--success").first).to_be_visible()
    assert [status_of(app, p["person_account"])[1] for p in
            (active[0], sealed[0], active[1], active[2])] == ["02", "01", "01", "01"]


def test_transfer_through_the_browser(browser, live, app, demo, tmp_path):
    with app.app_context():
        sealed = list(db.session.execute(select(PersonAccount.account_no).where(
            PersonAccount.status == "02").order_by(PersonAccount.account_no)).scalars())[:3]
        db.session.remove()
    out_no = demo["units"][0]["unit_account"]
    page = new_page(browser)
    operator_login(page, live, demo, unit=1)
    start_application(page, "transfer")
    expect(page.get_by_role("heading", name="缴存人单位调整清册")).to_be_visible()
    # the unit is asked for before the person the picker finds in it
    assert page.evaluate("document.querySelector('#entry-from_unit_account')"
                         ".compareDocumentPosition(document.querySelector('#person-picker'))"
                         " & Node.DOCUMENT_POSITION_FOLLOWING")

    # the transferring-out unit found by its name (manual 12.1.2), never a list of all
    page.fill("#entry-from_unit_account", demo["units"][0]["name"][:4])
    page.locator("#suggest-from_unit_account button", has_text=out_no).click()
    expect(page.locator("#entry-from_unit_account")).to_have_value(out_no)
    page.fill("#person-picker", sealed[0])
    expect(page.locator("#showback [data-show=name]")).not_to_be_empty()
    expect(page.locator("#showback [data-show=id_number]")).to_contain_text("*")
    page.click("#add-row")
    expect(page.get_by_text("录入清册成功")).to_be_visible()

    import_rows(page, live, tmp_path, [{"转出单位账号": out_no, "个人账号": sealed[1]},
                                 {"转出单位账号": out_no, "个人账号": sealed[2]}])
    expect(page.get_by_text("批量导入成功：共导入 2 行")).to_be_visible()
    delete_row(page, sealed[2])
    expect(page.locator("#manifest-rows tbody tr")).to_have_count(2)
    page.click("#submit-task")
    confirm(page)
    expect(page.locator(".notice--success").first).to_be_visible()

    reviewer = new_page(browser)
    reviewer_login(reviewer, live, demo)
    reviewer.locator("#desk-group tbody tr", has_text="缴存人单位调整").first \
        .get_by_role("button", name="认领").click()
    expect(reviewer.locator("#manifest-rows tbody tr")).to_have_count(2)
    reviewer.check("input[name=decision][value=approve]")
    reviewer.fill("#f-opinion", "同意调整")
    reviewer.click("#submit-task")
    confirm(reviewer)
    expect(reviewer.get_by_text("审批结果已提交")).to_be_visible()
    in_unit = status_of(app, sealed[0])[0]
    assert [status_of(app, n) for n in sealed] == [(in_unit, "01"), (in_unit, "01"),
                                                   status_of(app, sealed[2])]
    assert status_of(app, sealed[2])[1] == "02" and status_of(app, sealed[2])[0] != in_unit
