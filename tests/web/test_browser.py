"""The hall in a real browser (Debian's Chromium through Playwright): the base-adjustment
story of manual chapters 2 and 4 as an operator and a reviewer walk it.

Screenshots of the home page, the 待办 detail with its flowchart and the reviewer desk go
to tests/artifacts/.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from openpyxl import load_workbook
from playwright.sync_api import Page, expect

from tests import smartcard
from tests.pdf import check_code, pdf_text
from web.ukey.stack import free_port

from .browser import (
    new_page,
    no_horizontal_scroll,
    operator_login,
    reviewer_login,
    shot,
    staff_login,
    start_application,
)

pytestmark = pytest.mark.browser
ROOT = Path(__file__).resolve().parents[2]


def filled_template(page: Page, tmp_path: Path, rows: list[dict]) -> Path:
    """Download the template through the dialog's link, fill it as an employer would."""
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
    path = tmp_path / "基数调整.xlsx"
    book.save(path)
    return path


def accounts(page: Page, live: str, count: int) -> list[dict]:
    response = page.request.get(f"{live}/api/v1/persons?status=01&per_page={count}")
    return response.json()["items"]


def review(page: Page, live: str, decision: str, opinion: str) -> None:
    page.goto(f"{live}/centre")
    queue = page.locator("#desk-group tbody tr")
    expect(queue).to_have_count(1)
    queue.first.get_by_role("button", name="认领").click()
    expect(page.locator("#unclaim")).to_be_visible()
    expect(page.locator("#manifest-rows")).to_be_visible()
    page.check(f"input[name=decision][value={decision}]")
    if decision == "reject":  # no opinion: asked for on the page, before any confirmation
        page.click("#submit-task")
        expect(page.locator("#confirm-dialog[open]")).to_have_count(0)
        assert "退回时须填写审批意见" in page.locator("#f-opinion").evaluate(
            "el => el.validationMessage")
    page.fill("#f-opinion", opinion)
    page.click("#submit-task")  # the decision is confirmed first, named in the question
    label = "审核通过" if decision == "approve" else "退回修改"
    expect(page.locator("#confirm-text")).to_have_text(f"确定提交审批结果「{label}」吗？")
    page.locator("#confirm-dialog").get_by_role("button", name="确定").click()
    expect(page.get_by_text("审批结果已提交")).to_be_visible()


def test_base_adjustment_through_the_browser(browser, live, demo, tmp_path):
    operator = new_page(browser)
    operator_login(operator, live, demo)
    no_horizontal_scroll(operator)
    shot(operator, "home")
    people = accounts(operator, live, 5)

    # open 基数调整 from its tile; import three rows from the template
    start_application(operator, "base_adjustment")
    expect(operator.get_by_role("heading", name="基数调整清册")).to_be_visible()
    operator.click("#open-import")
    path = filled_template(operator, tmp_path, [
        {"个人账号": people[0]["person_account"], "调整后缴存基数": "6000"},
        {"个人账号": people[1]["person_account"], "调整后缴存基数": "7000"},
        {"个人账号": people[2]["person_account"], "调整后缴存基数": "8000"}])
    operator.set_input_files("#import-file", str(path))
    operator.click("#import-submit")
    expect(operator.get_by_text("批量导入成功：共导入 3 行")).to_be_visible()
    expect(operator.locator("#manifest-rows tbody tr")).to_have_count(3)

    # delete a row: 取消 keeps it, 确定 removes it
    row = operator.locator("#manifest-rows tbody tr", has_text=people[2]["person_account"])
    row.get_by_role("button", name="删除").click()
    operator.locator("#confirm-dialog").get_by_role("button", name="取消").click()
    expect(operator.locator("#manifest-rows tbody tr")).to_have_count(3)
    row.get_by_role("button", name="删除").click()
    operator.locator("#confirm-dialog").get_by_role("button", name="确定").click()
    expect(operator.get_by_text("已从清册中删除")).to_be_visible()
    expect(operator.locator("#manifest-rows tbody tr")).to_have_count(2)

    # single entry with the person picker: name, ID, base shown back
    operator.fill("#person-picker", people[3]["name"])
    option = operator.locator("#person-options li", has_text=people[3]["person_account"])
    option.click()
    expect(operator.locator("#showback [data-show=id_number]")).to_have_text(
        people[3]["id_number"])
    expect(operator.locator("#showback [data-show=base]")).to_have_text(
        f"{Decimal(people[3]['base']):,.2f}")
    operator.fill("#entry-new_base", "9000")
    operator.click("#add-row")
    expect(operator.locator("#manifest-rows tbody tr")).to_have_count(3)
    no_horizontal_scroll(operator)
    operator.click("#submit-task")  # asks first; 取消 leaves everything as it was
    operator.locator("#confirm-dialog").get_by_role("button", name="取消").click()
    expect(operator.locator("#submit-task")).to_be_visible()
    operator.click("#submit-task")
    operator.locator("#confirm-dialog").get_by_role("button", name="确定").click()
    expect(operator.get_by_text("已提交审批")).to_be_visible()

    # the reviewer claims and rejects with an opinion
    reviewer = new_page(browser)
    reviewer_login(reviewer, live, demo)
    shot(reviewer, "reviewer-desk")
    review(reviewer, live, "reject", "请核实第二行的基数")

    # the operator sees the 待办 with the opinion; Enter opens it; the flowchart marks
    # the review done and the employer task active
    operator.goto(f"{live}/")
    operator.click("#tab-todo")
    todo_row = operator.locator("#panel-todo tbody tr").first
    expect(todo_row).to_contain_text("请核实第二行的基数")
    todo_row.focus()
    operator.keyboard.press("Enter")
    expect(operator.locator("#returned-opinion")).to_contain_text("请核实第二行的基数")
    chart = operator.locator("#flowchart[data-ready=true]")
    expect(chart).to_be_visible()
    expect(operator.locator('.djs-element[data-element-id="review"]')).to_have_class(
        "djs-element djs-shape el-done")
    expect(operator.locator('.djs-element[data-element-id="edit_manifest"]')).to_have_class(
        "djs-element djs-shape el-active")
    operator.locator('.djs-element[data-element-id="review"]').hover()
    expect(operator.locator(".flow-tip")).to_contain_text("请核实第二行的基数")
    expect(operator.locator("#trail")).to_contain_text("李文静")
    shot(operator, "todo-detail-flowchart")

    # fix (delete the second row, enter it again) and resubmit
    row = operator.locator("#manifest-rows tbody tr", has_text=people[1]["person_account"])
    row.get_by_role("button", name="删除").click()
    operator.locator("#confirm-dialog").get_by_role("button", name="确定").click()
    expect(operator.locator("#manifest-rows tbody tr")).to_have_count(2)
    operator.fill("#person-picker", people[1]["person_account"])  # a full number picks itself
    expect(operator.locator("#showback [data-show=name]")).to_have_text(people[1]["name"])
    operator.fill("#entry-new_base", "7200")
    operator.click("#add-row")
    expect(operator.locator("#manifest-rows tbody tr")).to_have_count(3)
    operator.click("#submit-task")
    operator.locator("#confirm-dialog").get_by_role("button", name="确定").click()
    expect(operator.get_by_text("已提交审批")).to_be_visible()

    # the reviewer approves; the operator's 消息 shows the result
    review(reviewer, live, "approve", "同意")
    operator.goto(f"{live}/")
    first_message = operator.locator("#panel-messages tbody tr").first
    expect(first_message).to_contain_text("已审核通过")
    first_message.dblclick()
    expect(operator.locator("#msg-content")).to_contain_text("3 人")
    operator.goto(f"{live}/tasks?list=initiated")
    expect(operator.locator("tbody tr").first).to_contain_text("已办结")


def test_import_errors_are_shown_per_row_and_column(browser, live, demo, tmp_path):
    page = new_page(browser)
    operator_login(page, live, demo)
    start_application(page, "base_adjustment")
    page.click("#open-import")
    person = accounts(page, live, 1)[0]
    path = filled_template(page, tmp_path, [
        {"个人账号": person["person_account"], "调整后缴存基数": "99999"},
        {"个人账号": "200000000010", "调整后缴存基数": "6000"}])
    page.set_input_files("#import-file", str(path))
    page.click("#import-submit")
    errors = page.locator("#import-errors")
    expect(errors).to_contain_text("未导入任何数据")
    expect(errors.locator("tbody tr").nth(0)).to_contain_text("第 2 行")
    expect(errors.locator("tbody tr").nth(0)).to_contain_text("缴存基数调整区间：2540.00 - 35811.00")
    expect(errors.locator("tbody tr").nth(1)).to_contain_text("第 3 行")
    expect(page.locator("#manifest-rows")).to_have_count(0)


def test_terminate_after_confirmation(browser, live, demo):
    page = new_page(browser)
    operator_login(page, live, demo)
    start_application(page, "base_adjustment")
    page.click("#terminate")
    page.locator("#terminate-dialog").get_by_role("button", name="取消").click()
    expect(page.locator("#submit-task")).to_be_visible()
    page.click("#terminate")
    page.fill("#terminate-reason", "录入有误，重新办理")
    page.click("#terminate-confirm")
    expect(page.get_by_text("流程已结束")).to_be_visible()
    page.click("#tab-initiated")
    expect(page.locator("#panel-initiated tbody tr").first).to_contain_text("已结束")


def test_every_home_tile_opens_its_business_or_query(browser, live, demo):
    """Manual 1.2's ten modules: each tile is a link to a working page (none 暂未开放)."""
    page = new_page(browser)
    operator_login(page, live, demo)
    tiles = page.locator("a.tile")
    expect(tiles).to_have_count(10)
    assert page.locator("button.tile").count() == 0
    links = [(tiles.nth(i).get_attribute("data-key"), tiles.nth(i).get_attribute("href"))
             for i in range(10)]
    for key, href in links:
        response = page.goto(live + href)
        assert response is not None and response.ok, (key, href)
        expect(page.locator("main h1").first).to_be_visible()
        assert "暂未开放" not in page.content(), key


@pytest.mark.parametrize("width,height", [(1366, 768), (390, 844)])
def test_pages_fit_the_screen(browser, live, demo, width, height):
    page = new_page(browser, width, height)
    operator_login(page, live, demo)
    no_horizontal_scroll(page)
    for path in ("/tasks?list=initiated", "/messages", "/password", "/queries/persons",
                 "/queries/persons?tab=changes"):
        page.goto(live + path)
        no_horizontal_scroll(page)
    page.goto(live + "/")
    page.click("a.tile[data-key=base_adjustment]")
    page.click("#start-button")
    expect(page.locator("#flowchart[data-ready=true]")).to_be_visible()
    no_horizontal_scroll(page)
    if width < 500:
        shot(page, "task-phone")
    reviewer = new_page(browser, width, height)
    reviewer_login(reviewer, live, demo)
    no_horizontal_scroll(reviewer)


def test_the_sound_switch_is_remembered(browser, live, demo):
    page = new_page(browser)
    operator_login(page, live, demo)
    toggle = page.locator("#sound-toggle")
    expect(toggle).to_have_text("关闭音效")
    toggle.click()
    expect(toggle).to_have_text("开启音效")
    page.reload()
    expect(page.locator("#sound-toggle")).to_have_text("开启音效")


@pytest.mark.parametrize("width,height", [(1366, 768), (390, 844)])
def test_an_analyst_deploys_a_new_version_and_sees_its_diagram(browser, live, demo, tmp_path,
                                                               width, height):
    changed = tmp_path / "基数调整（修改稿）.bpmn"
    changed.write_bytes(
        (ROOT / "bpmn-diagrams" / "base_adjustment.bpmn").read_text(encoding="utf-8")
        .replace('<bpmn:userTask id="review" name="中心审核">',
                 '<bpmn:userTask id="review" name="中心复核">').encode("utf-8"))
    page = new_page(browser, width, height)
    staff_login(page, live, demo["analysts"][0], "流程管理")

    page.set_input_files("#deploy-file", str(changed))
    page.click("#deploy-form button[type=submit]")

    expect(page.get_by_role("heading", name="基数调整 · v2")).to_be_visible()
    expect(page.locator("#flowchart[data-ready=true]")).to_be_attached()
    expect(page.locator("#flowchart").get_by_text("中心复核")).to_be_visible()
    expect(page.locator("#version-list tbody tr")).to_have_count(2)
    no_horizontal_scroll(page)
    if width > 1000:
        shot(page, "process-version")
    page.context.close()


def test_the_picker_says_why_nobody_was_found_and_logout_says_goodbye(browser, live, demo):
    page = new_page(browser)
    operator_login(page, live, demo)
    page.click("a.tile[data-key=base_adjustment]")
    page.click("#start-button")
    # The page's scripts have run (the flowchart is drawn after them): typing now is heard.
    expect(page.locator("#flowchart[data-ready=true]")).to_be_visible()
    page.fill("#person-picker", "查无此人")
    expect(page.locator(".picker__empty")).to_have_text(
        "没有找到状态正常的职工（封存等状态的职工不能调整基数）")
    page.keyboard.press("ArrowDown")  # nothing to move to: no error, the hint stays
    page.keyboard.press("Escape")
    expect(page.locator("#person-options")).to_be_hidden()
    page.get_by_role("button", name="退出").click()
    expect(page.get_by_text("您已安全退出")).to_be_visible()
    page.context.close()


def test_an_operator_logs_in_with_the_ukey_agent_and_the_pin(browser, live, app, demo, card):
    """Manual 1.1 in the browser: no agent → a download link and the line that starts it;
    card out → insert it; a wrong PIN → the tries left; the right PIN → the unit's home."""
    unit = demo["units"][0]
    page = new_page(browser)
    app.config["UKEY_AGENT_PORT"] = free_port()  # nothing listens there: the agent is not running
    page.goto(f"{live}/login")
    expect(page.locator("#ukey-message")).to_contain_text("未检测到 UKey 驱动程序")
    download = page.locator("#ukey-download")
    expect(download).to_be_visible()
    expect(download).to_contain_text("python3 hpf-ukey-agent.py --origin " + live)
    expect(download.get_by_role("link", name="下载驱动程序")).to_have_attribute("href", "/ukey/agent")

    app.config["UKEY_AGENT_PORT"] = smartcard.AGENT_PORT  # the operator starts the agent
    card.eject()
    page.goto(f"{live}/login")
    expect(page.locator("#ukey-message")).to_have_text("未检测到 UKey，请插入 UKey 后点击“重新检测”")
    card.insert_demo_card(demo)
    page.click("#ukey-recheck")
    expect(page.locator("#ukey-status")).to_have_attribute("data-state", "success")
    expect(page.locator("#ukey-message")).to_contain_text("UKey 已就绪")

    page.fill("#unit_account", unit["unit_account"])
    page.fill("#login_name", unit["operators"][0]["login_name"])
    page.fill("#password", unit["operators"][0]["password"])
    page.fill("#ukey_pin", "000000")
    page.click("#login-submit")
    expect(page.locator("#ukey-message")).to_have_text("PIN 码错误，还可尝试 5 次，连续输错将锁定 UKey")
    expect(page.locator("#ukey_pin")).to_have_value("")
    shot(page, "login-ukey-wrong-pin")
    page.fill("#ukey_pin", unit["ukey"]["pin"])
    page.click("#login-submit")
    expect(page.locator("#unit-info")).to_be_visible()
    expect(page.locator("main")).to_contain_text(unit["unit_account"])
    page.context.close()


def test_the_server_says_why_it_refused_the_ukey(browser, live, demo, card):
    """Another unit's UKey passes the card but not the hall: the page shows the hall's reason."""
    mine = demo["units"][0]
    card.insert_demo_card(demo, unit=1)
    page = new_page(browser, 390, 844)
    page.goto(f"{live}/login")
    expect(page.locator("#ukey-status")).to_have_attribute("data-state", "success")
    page.fill("#unit_account", mine["unit_account"])
    page.fill("#login_name", mine["operators"][0]["login_name"])
    page.fill("#password", mine["operators"][0]["password"])
    page.fill("#ukey_pin", demo["units"][1]["ukey"]["pin"])
    page.click("#login-submit")
    expect(page.locator("#login-error")).to_contain_text("与所填单位账号不一致")
    no_horizontal_scroll(page)
    page.context.close()


def test_printing_the_account_list_opens_a_sealed_pdf(browser, live, demo):
    """7.1 【打印】: the list as filtered opens in a new tab as a PDF with the unit's rows,
    and its QR code's page confirms it to someone not logged in."""
    page = new_page(browser)
    operator_login(page, live, demo)
    page.click("a.tile[data-key=person_query]")
    page.select_option("#status", "01")
    page.get_by_role("button", name="查询").click()
    expect(page.locator("#query-accounts tbody tr")).to_have_count(20)
    with page.context.expect_event("response", lambda r: ".pdf" in r.url) as printed:
        with page.expect_popup() as popup:
            page.click("#print")
    response = printed.value  # Chromium shows it in its PDF viewer, in a new tab
    assert response.status == 200 and response.headers["content-type"] == "application/pdf"
    assert response.headers["cache-control"] == "no-store"
    tab = popup.value
    assert tab.url == response.url and "/documents/person_accounts/me.pdf?status=01" in tab.url
    text = pdf_text(tab.request.get(tab.url).body())  # the bytes that tab shows
    assert demo["units"][0]["name"] in text and "人数： 216 人" in text
    assert "账户状态：正常" in text

    bank = new_page(browser)  # another browser context: nobody logged in
    bank.goto(f"{live}/verify/{check_code(text)}")
    expect(bank.locator("#verify-result")).to_contain_text("真实文件")
    expect(bank.locator("#verify-facts")).to_contain_text("216 人")
    shot(bank, "verify")


def test_the_person_picker_answers_a_number_typed_early_or_left_at_once(browser, live, demo):
    """A full 个人账号 picks its person and shows them back even when typed before the
    page's script ran (a slow page), or when the field is left (Tab) while the search is
    still answering."""
    operator = new_page(browser)
    operator_login(operator, live, demo)
    first, second = accounts(operator, live, 2)
    start_application(operator, "base_adjustment")
    name = operator.locator("#showback [data-show=name]")

    held: list = []

    def hold(route) -> None:
        held.append(route)

    operator.route("**/static/hall.js*", hold)  # the script waits until released
    operator.goto(operator.url, wait_until="commit")
    operator.fill("#person-picker", first["person_account"])
    assert held, "the page asked for its script"
    held[0].continue_()
    operator.unroute("**/static/hall.js*", hold)
    expect(name).to_have_text(first["name"])

    held.clear()

    def searching(url: str) -> bool:
        return "per_page=10&q=" in url

    operator.route(searching, hold)
    operator.fill("#person-picker", second["person_account"])
    operator.wait_for_timeout(400)  # past the picker's 180 ms typing pause: it searched
    assert held, "the picker searched"
    operator.keyboard.press("Tab")  # left while the search is unanswered
    for route in held:
        route.continue_()
    operator.unroute(searching, hold)
    expect(name).to_have_text(second["name"])
    expect(operator.locator("#person-picker")).to_have_value(second["person_account"])
