"""In a real browser: a large 缴存人账户信息 export becomes 后台导出, its page's progress
bar fills from the job's status and the file downloads; a reviewer opens 中心监控.
Screenshots go to tests/artifacts/."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from openpyxl import load_workbook
from playwright.sync_api import expect

from tests.pdf import pdf_text
from tests.scale.helpers import submitted

from .browser import new_page, operator_login, reviewer_login, shot

pytestmark = pytest.mark.browser


def test_a_background_export_shows_progress_then_downloads(app, browser, live, demo):
    app.config["ASYNC_ROWS"] = 50  # the demo unit's 220 accounts are then “large”
    page = new_page(browser, 1280, 720)
    operator_login(page, live, demo)
    page.goto(f"{live}/queries/persons")
    total = int(page.locator("text=/共 \\d+ 条/").first.inner_text().split()[1])

    page.click("#export")  # 后台导出

    expect(page.locator("h1")).to_have_text("缴存人账户信息导出")
    expect(page.locator("#job-download")).to_be_visible()
    assert page.locator("#job-bar").get_attribute("value") == "100"
    expect(page.locator("#job-text")).to_have_text(f"100%（{total} / {total}）")
    shot(page, "job-export-done")
    with page.expect_download() as download:
        page.click("#job-download")
    book = load_workbook(io.BytesIO(Path(download.value.path()).read_bytes()))
    assert book.active.max_row == total + 1


def test_a_large_print_opens_its_job_page_then_the_pdf_downloads(app, browser, live, demo):
    """【打印】 of a list longer than ASYNC_ROWS opens the job's page (new tab, as a print
    does); its bar fills, the PDF downloads with every row, 返回 leads to the query."""
    app.config["ASYNC_ROWS"] = 50
    page = new_page(browser, 1280, 720)
    operator_login(page, live, demo)
    page.goto(f"{live}/queries/persons")
    total = int(page.locator("text=/共 \\d+ 条/").first.inner_text().split()[1])
    first_account = page.locator("table tbody tr td").first.inner_text().strip()

    with page.expect_popup() as opened:
        page.click("#print")
    job = opened.value

    expect(job.locator("h1")).to_have_text("打印文件生成")
    expect(job.locator("#job-download")).to_be_visible()
    expect(job.locator("#job-text")).to_have_text(f"100%（{total} / {total}）")
    shot(job, "job-print-done")
    with job.expect_download() as download:
        job.click("#job-download")
    text = pdf_text(Path(download.value.path()).read_bytes())
    assert "缴存人账户信息" in text and first_account in text
    assert job.locator("a", has_text="返回").get_attribute("href") == "/queries/persons"


def test_a_reviewer_opens_the_monitor(app, browser, live, demo):
    with app.app_context():
        submitted(demo, claim=True)
        submitted(demo, unit=1)
    page = new_page(browser, 1280, 720)
    reviewer_login(page, live, demo)
    page.click("text=中心监控")
    expect(page.locator("h1")).to_have_text("中心监控")
    expect(page.locator(".desk-counts")).to_contain_text("待认领 1")
    expect(page.locator("#monitor-table tbody tr")).to_have_count(1)
    shot(page, "centre-monitor")
