"""Money in a real browser (Chromium): a unit through three months of 汇缴 as the manual's
chapters 5, 6 and 8 show it, with centre finance recording the bank's transfers.

month 1: 汇缴核定 from the tile (“核定成功”, the page moves on), a verification deleted
         while unpaid and verified again; finance records a transfer covering more than
         the month: the month is allocated, the rest waits in 未分配.
month 2: a registration and a seal show in the reconciliation with their causes; the
         unit pays the month from 未分配.
month 3: verified, paid by transfer.
then:    a back pay entered with the picker, 【完成办理】 asks about the 凭条, approved,
         printed from its 待办 and paid; 30 June's interest settled (what `hpf
         settle-interest` runs); 单位信息查询 shows the account with that day's 结息 and
         the 流水 with its 结息 row, 明细 and the 缴费凭条.
The books balance after every money step. Screenshots go to tests/artifacts/.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from playwright.sync_api import Page, expect
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
from tests.pdf import pdf_text

from .browser import new_page, operator_login, shot, staff_login, start_application

pytestmark = pytest.mark.browser


def confirm(page: Page) -> None:
    page.locator("#confirm-dialog").get_by_role("button", name="确定").click()


def money(page: Page, selector: str) -> Decimal:
    return Decimal(page.locator(selector).inner_text().replace(",", "").replace("元", "").strip())


def verify_month(page: Page, hall: str) -> tuple[str, Decimal]:
    page.goto(f"{hall}/remittance")
    month = page.locator("#verify-month").inner_text()
    amount = money(page, "#verify-amount")
    page.click("#verify-button")
    expect(page.locator("#confirm-text")).to_contain_text(f"确定核定 {month} 汇缴")
    confirm(page)
    expect(page.get_by_text("核定成功")).to_be_visible()
    expect(page.locator("#verify-month")).to_have_text(str(YearMonth.parse(month) + 1))
    page.wait_for_load_state("load")  # the page's scripts answer the next click
    return month, amount


def record_payment(page: Page, hall: str, account: str, amount: Decimal) -> None:
    page.goto(f"{hall}/centre/payments")
    page.fill("#unit_account", account)
    page.fill("#amount", str(amount))
    page.fill("#reference", "CCB-TRANSFER")
    page.click("#record-payment")
    confirm(page)
    expect(page.get_by_text("已登记缴款")).to_be_visible()


def test_three_months_of_money_in_the_browser(browser, live, app, demo, monkeypatch):
    today = Today(monkeypatch)
    unit_id = unit_id_of(app, demo)
    account = demo["units"][0]["unit_account"]
    operator = new_page(browser)
    operator_login(operator, live, demo)
    finance = new_page(browser)
    staff_login(finance, live, demo["finance"][0], "缴款登记")

    # -- month 1: verify from the tile, delete while unpaid, verify again ------------------
    operator.click("a.tile[data-key=remittance]")
    expect(operator.locator("#reconciliation")).to_contain_text("上月 + 增加 − 减少")
    shot(operator, "remittance-verify")
    month1, amount1 = verify_month(operator, live)
    messages = operator.request.get(f"{live}/api/v1/messages").json()["items"]
    assert messages[0]["content"].startswith("尊敬的") and "您已完成办理汇缴核定" in messages[0]["content"]
    operator.click("#tab-query")
    row = operator.locator(f"#verified tr[data-month='{month1}']")
    expect(row).to_contain_text("216")
    row.get_by_role("link", name="明细").click()
    expect(operator.locator("#lines tbody tr")).to_have_count(20)
    expect(operator.locator(".pagination")).to_contain_text("共 216 条")
    pdf = operator.request.get(f"{live}/documents/remittance_notice/{month1}.pdf")
    assert "住房公积金汇补缴书" in pdf_text(pdf.body())
    operator.goto(f"{live}/remittance?tab=query")
    operator.locator(f"#verified tr[data-month='{month1}'] .delete-verification").click()
    confirm(operator)
    expect(operator.get_by_text("核定删除成功")).to_be_visible()
    expect(operator.locator("#verified")).to_have_count(0)
    assert verify_month(operator, live) == (month1, amount1)
    check_books(app, unit_id)
    # 我发起的: the month's application waits for its payment, as its flowchart shows
    operator.goto(f"{live}/tasks?list=initiated")
    operator.locator("tbody tr", has_text="汇缴").first.dblclick()
    expect(operator.locator("#flowchart[data-ready=true]")).to_be_visible()
    expect(operator.locator('.djs-element[data-element-id="wait_payment"]')).to_have_class(
        "djs-element djs-shape el-active")
    expect(operator.locator('.djs-element[data-element-id="do_verify"]')).to_have_class(
        "djs-element djs-shape el-done")
    shot(operator, "remittance-flowchart")

    # finance: a transfer covering the month and more
    record_payment(finance, live, account, amount1 * 2)
    expect(finance.locator(".notice--success")).to_contain_text(f"已分配：{month1} 汇缴")
    shot(finance, "finance-payments")
    operator.goto(f"{live}/")
    expect(operator.locator("#paid-through")).to_have_text(month1)
    assert money(operator, "#unallocated") == amount1
    check_books(app, unit_id)

    # -- month 2: a registration and a seal, paid from 未分配 --------------------------------
    month2 = YearMonth.parse(month1) + 1
    today.set(month2.first_day().replace(day=6))
    with app.app_context():
        register_person(unit_id, month2, "2540.00", "郑新到")
        biggest = db.session.execute(select(PersonAccount).where(
            PersonAccount.unit_id == unit_id, PersonAccount.status == "01")
            .order_by((PersonAccount.unit_amount + PersonAccount.person_amount).desc())
        ).scalars().first()
        change_status(biggest.id, "seal", month2)
        db.session.commit()
    operator.goto(f"{live}/remittance")
    expect(operator.locator("#reconciliation tr.added[data-cause=open]")).to_contain_text("登记")
    expect(operator.locator("#reconciliation tr.removed[data-cause=seal]")).to_contain_text("封存")
    expect(operator.locator("#rec-count")).to_have_text("216")
    shot(operator, "remittance-reconciliation")
    _, amount2 = verify_month(operator, live)
    operator.click("#tab-query")
    operator.locator(f"#verified tr[data-month='{month2}'] .pay-unallocated").click()
    confirm(operator)
    expect(operator.get_by_text("已使用未分配金额缴纳")).to_be_visible()
    books = check_books(app, unit_id)
    assert books["unallocated"] == amount1 - amount2

    # -- month 3: verified and paid by transfer ---------------------------------------------
    month3 = month2 + 1
    today.set(month3.first_day().replace(day=6))
    _, amount3 = verify_month(operator, live)
    record_payment(finance, live, account, amount3)
    check_books(app, unit_id)
    operator.goto(f"{live}/")
    expect(operator.locator("#paid-through")).to_have_text(str(month3))

    # -- a back pay: entered, 完成办理, approved, printed, paid ------------------------------
    start_application(operator, "back_pay")
    person = operator.request.get(f"{live}/api/v1/persons?status=01&per_page=2").json()["items"][1]
    operator.fill("#person-picker", person["person_account"])
    expect(operator.locator("#showback [data-show=name]")).to_have_text(person["name"])
    operator.select_option("#entry-reason", "02")
    operator.select_option("#entry-month", str(month2))
    operator.fill("#entry-amount", "456.70")
    operator.click("#add-row")
    expect(operator.get_by_text(f"录入成功：{person['name']} {month2} 补缴金额 456.70 元")).to_be_visible()
    operator.click("#submit-task")
    confirm(operator)
    expect(operator.locator("#done-prompt")).to_contain_text("提交审批完成，是否打印凭条？")
    receipt = operator.request.get(live + operator.locator("#done-print").get_attribute("href"))
    assert "补缴业务凭条" in pdf_text(receipt.body())
    shot(operator, "back-pay-receipt-prompt")

    reviewer = new_page(browser)
    staff_login(reviewer, live, demo["reviewers"][0], "审核工作台")
    reviewer.locator("#desk-group tbody tr").first.get_by_role("button", name="认领").click()
    # the claimed task's page, with its scripts: a click on 提交 before they answer would
    # post the form without the confirmation this test presses
    expect(reviewer.locator("#unclaim")).to_be_visible()
    reviewer.wait_for_load_state("load")
    reviewer.check("input[name=decision][value=approve]")
    reviewer.click("#submit-task")
    confirm(reviewer)
    expect(reviewer.get_by_text("审批结果已提交")).to_be_visible()

    operator.goto(f"{live}/")
    operator.click("#tab-todo")
    operator.locator("#panel-todo tbody tr", has_text="打印补缴书").first.dblclick()
    operator.wait_for_url("**/tasks/**")  # the task's page, not home, answers what follows
    operator.wait_for_load_state("load")
    expect(operator.locator("#submit-task")).to_be_visible()
    expect(operator.locator("#terminate")).to_have_count(0)  # approved: money owed
    operator.click("#submit-task")
    expect(operator.locator("#done-prompt")).to_contain_text("请打印补缴书")
    notice = operator.request.get(live + operator.locator("#done-print").get_attribute("href"))
    assert "住房公积金补缴书" in pdf_text(notice.body())
    record_payment(finance, live, account, Decimal("456.70"))
    expect(finance.locator(".notice--success")).to_contain_text("补缴 456.70 元")
    paid = check_books(app, unit_id)

    # -- 结息 on 30 June, as `hpf settle-interest` runs it ------------------------------------
    year = year_after(today.day)
    today.set(date(year, 7, 1))
    with app.app_context():
        mine = next(s for s in interest.settle(year, clock.today())[0] if s.unit_id == unit_id)
        db.session.remove()
    books = check_books(app, unit_id)
    assert mine.interest > 0 and books["persons"] == paid["persons"] + mine.interest

    # -- 单位信息查询: 账户信息, 业务流水 with 结息, 明细 and 打印缴费凭条 -------------------
    operator.goto(f"{live}/")
    operator.click("a.tile[data-key=unit_query]")
    expect(operator.locator("#account-info")).to_be_visible()
    assert money(operator, "#closing") == books["persons"]
    assert money(operator, "#unallocated") == books["unallocated"]
    operator.fill("#since", f"{year}-06-30")
    operator.fill("#until", f"{year}-06-30")
    operator.locator("#query-form").get_by_role("button", name="查询").click()
    expect(operator.locator("#increase")).to_have_text(f"{mine.interest:,.2f}")
    assert money(operator, "#decrease") == 0
    assert money(operator, "#closing") - money(operator, "#opening") == mine.interest
    operator.click("#tab-ledger")
    settled = operator.locator("#ledger tbody tr").first
    expect(settled).to_have_attribute("data-type", "interest")
    expect(settled.locator("td[data-label='业务类型']")).to_have_text("结息")
    expect(settled.locator("td[data-label='利息额']")).to_have_text(f"{mine.interest:,.2f}")
    expect(settled.locator("td[data-label='人数']")).to_have_text(str(mine.head_count))
    expect(operator.locator("#ledger tbody tr[data-type=payment] .print-receipt").first).to_be_visible()
    shot(operator, "unit-ledger")
    operator.locator("#ledger tbody tr[data-type=back_pay] .details").first.click()
    expect(operator.locator("#details tbody tr")).to_have_count(1)
    expect(operator.locator("#details")).to_contain_text(person["person_account"])
    operator.go_back()
    href = operator.locator("#ledger tbody tr[data-type=payment] .print-receipt").first \
        .get_attribute("href")
    assert "住房公积金缴费凭条" in pdf_text(operator.request.get(f"{live}{href}").body())


@pytest.mark.parametrize("width,height", [(1366, 768), (390, 844)])
def test_money_pages_fit_the_screen(browser, live, demo, width, height):
    page = new_page(browser, width, height)
    operator_login(page, live, demo)
    for path in ("/remittance", "/remittance?tab=query", "/queries/unit",
                 "/queries/unit?tab=ledger"):
        page.goto(live + path)
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1"), \
            f"{path} scrolls sideways at {width}×{height}"
    finance = new_page(browser, width, height)
    staff_login(finance, live, demo["finance"][0], "缴款登记")
    assert finance.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
    if width < 500:
        page.goto(live + "/remittance")
        shot(page, "remittance-phone")
