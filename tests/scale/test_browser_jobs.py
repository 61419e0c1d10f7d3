"""In a real browser (Chromium through Playwright): a large 缴存人账户信息 export becomes
后台导出, its page's progress bar fills from the job's status, and the file downloads;
a reviewer opens 中心监控. Screenshots go to tests/artifacts/."""

from __future__ import annotations

import io
import threading
from pathlib import Path

import pytest
from openpyxl import load_workbook
from playwright.sync_api import expect, sync_playwright
from werkzeug.serving import make_server

from services.db import db
from tests.conftest import make_app

from .helpers import submitted

pytestmark = pytest.mark.browser
ARTIFACTS = Path(__file__).resolve().parent.parent / "artifacts"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]


@pytest.fixture
def live(databases, tmp_path):
    name = databases.clone()
    app = make_app(databases.url(name), tmp_path, ASYNC_ROWS=50)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    app.url = f"http://127.0.0.1:{server.server_port}"
    yield app
    server.shutdown()
    thread.join(5)
    with app.app_context():
        db.session.remove()
        db.engine.dispose()
    databases.drop(name)


@pytest.fixture
def page():
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
        context = browser.new_context(viewport={"width": 1280, "height": 720}, locale="zh-CN",
                                      accept_downloads=True)
        page = context.new_page()
        page.set_default_timeout(15_000)
        yield page
        browser.close()


def test_a_background_export_shows_progress_then_downloads(page, live, demo):
    live = live.url
    unit = demo["units"][0]
    page.goto(f"{live}/login")
    page.fill("#unit_account", unit["unit_account"])
    page.fill("#login_name", unit["operators"][0]["login_name"])
    page.fill("#password", unit["operators"][0]["password"])
    page.click("button[type=submit]")
    page.goto(f"{live}/queries/persons")
    total = int(page.locator("text=/共 \\d+ 条/").first.inner_text().split()[1])

    page.click("#export")  # 后台导出

    expect(page.locator("h1")).to_have_text("缴存人账户信息导出")
    expect(page.locator("#job-download")).to_be_visible()
    assert page.locator("#job-bar").get_attribute("value") == "100"
    expect(page.locator("#job-text")).to_have_text(f"100%（{total} / {total}）")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "job-export-done.png"), full_page=True)
    with page.expect_download() as download:
        page.click("#job-download")
    book = load_workbook(io.BytesIO(Path(download.value.path()).read_bytes()))
    assert book.active.max_row == total + 1


def test_a_reviewer_opens_the_monitor(page, live, demo):
    with live.app_context():
        submitted(demo, claim=True)
        submitted(demo, unit=1)
    reviewer = demo["reviewers"][0]
    page.goto(f"{live.url}/centre/login")
    page.fill("#login_name", reviewer["login_name"])
    page.fill("#password", reviewer["password"])
    page.click("button[type=submit]")
    page.click("text=中心监控")
    expect(page.locator("h1")).to_have_text("中心监控")
    expect(page.locator(".desk-counts")).to_contain_text("待认领 1")
    expect(page.locator("#monitor-table tbody tr")).to_have_count(1)
    page.screenshot(path=str(ARTIFACTS / "centre-monitor.png"), full_page=True)
