"""Driving the hall in a real browser (Debian's Chromium through Playwright): the steps
browser tests share, and the accessibility check every page they visit goes through.

Every page a browser test opens is checked with axe-core (China's public-service sites
must meet GB/T 37668, which follows WCAG 2.1 AA): after the test body, each distinct
page it visited is opened again in the same browser context (a GET changes nothing) and
any WCAG 2.1 A/AA violation fails the test, naming the page and the rule.
"""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import Page, expect

from tests import smartcard

ARTIFACTS = Path(__file__).resolve().parent.parent / "artifacts"
ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
#: Pages the hall serves that are not HTML pages of its own (files, JSON, vendor tools).
NOT_PAGES = (".pdf", ".xlsx", "/api/", "/static/")

#: Every browser context opened by the running test, and the pages each visited.
VISITED: dict = {}


def new_page(browser, width=1366, height=768) -> Page:
    context = browser.new_context(viewport={"width": width, "height": height}, locale="zh-CN",
                                  accept_downloads=True)
    page = context.new_page()
    page.set_default_timeout(15_000)
    track(page)
    return page


def start_application(page: Page, key: str) -> None:
    """From home: the business's tile, 【发起】, and its task page loaded with its scripts
    (typing into a field while the start's answer still loads reaches no handler)."""
    page.click(f"a.tile[data-key={key}]")
    page.click("#start-button")
    page.wait_for_url("**/tasks/**")
    page.wait_for_load_state("load")


def track(page: Page) -> None:
    """Remember the pages this page's context shows, for the accessibility check."""
    urls = VISITED.setdefault(page.context, [])

    def seen(frame) -> None:
        if frame == page.main_frame and frame.url not in urls:
            urls.append(frame.url)

    page.on("framenavigated", seen)
    page.context.on("page", track)


def check_accessibility() -> list[str]:
    """Open again every page the test's contexts showed and run axe-core on it; answer
    each violation as “url: rule (impact): what”."""
    problems = []
    script = AXE.read_text()
    for context, urls in list(VISITED.items()):
        try:
            page = context.new_page()
        except Exception:  # the test closed its context: its pages were checked or gone
            continue
        for url in urls:
            if not url.startswith("http") or any(part in url for part in NOT_PAGES):
                continue
            response = page.goto(url.split("#")[0])
            if response is None or "text/html" not in response.headers.get("content-type", ""):
                continue
            page.add_script_tag(content=script)
            result = page.evaluate("tags => axe.run(document, {runOnly: {type: 'tag', "
                                   "values: tags}})", AXE_TAGS)
            problems += [f"{url}: {v['id']} ({v['impact']}): {v['help']} — "
                         f"{', '.join(n['target'][0] for n in v['nodes'][:3])}"
                         for v in result["violations"]]
        page.close()
    VISITED.clear()
    return problems


def shot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def no_horizontal_scroll(page: Page) -> None:
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1"), \
        f"page scrolls sideways at {page.viewport_size}"


def operator_login(page: Page, live: str, demo: dict, unit: int = 0, operator: int = 0) -> None:
    """As an operator logs in (manual 1.1): unit account, login name, password and the UKey
    PIN on the login page, which has the UKey agent read the virtual card through pcscd
    (the session's stack, tests/smartcard.py, started on first use with the unit's demo
    UKey inserted)."""
    smartcard.stack(demo, unit)
    info = demo["units"][unit]
    page.goto(f"{live}/login")
    # The card's round trips (status, then PIN and signature) on a busy machine: 15 s.
    expect(page.locator("#ukey-status")).to_have_attribute("data-state", "success",
                                                           timeout=15_000)
    page.fill("#unit_account", info["unit_account"])
    page.fill("#login_name", info["operators"][operator]["login_name"])
    page.fill("#password", info["operators"][operator]["password"])
    page.fill("#ukey_pin", info["ukey"]["pin"])
    page.click("#login-submit")
    expect(page.locator("#unit-info")).to_be_visible(timeout=15_000)


def reviewer_login(page: Page, live: str, demo: dict) -> None:
    staff_login(page, live, demo["reviewers"][0], "审核工作台")


def staff_login(page: Page, live: str, info: dict, landing: str) -> None:
    """Log in at the centre's entrance and wait for the page its role lands on."""
    page.goto(f"{live}/centre/login")
    page.fill("#login_name", info["login_name"])
    page.fill("#password", info["password"])
    page.click("button[type=submit]")
    expect(page.get_by_role("heading", name=landing)).to_be_visible()
    # the heading shows before the stylesheet has laid the page out under load: what a
    # test measures next (its width) must wait for the whole page
    page.wait_for_load_state("load")
