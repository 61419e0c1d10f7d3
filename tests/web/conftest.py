"""Browser fixtures: a live server on a free loopback port, one Chromium per module, and
the accessibility check (tests/web/browser.py) run on every page a browser test opened."""

from __future__ import annotations

import threading

import pytest
from playwright.sync_api import expect, sync_playwright
from werkzeug.serving import make_server

from .browser import ARGS, CHROMIUM, VISITED, check_accessibility

# Assertions wait as long as actions do (new_page's 15 s): with both suites side by side on
# two cores, a picker's search and show-back took longer than Playwright's default 5 s.
expect.set_options(timeout=15_000)


@pytest.fixture
def live(app):
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(5)


@pytest.fixture(scope="module")
def browser():
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield chromium
        chromium.close()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_call(item):
    """After a browser test's body, while its server and browser still run: every page it
    visited must pass axe-core's WCAG 2.1 A/AA rules."""
    VISITED.clear()
    outcome = yield
    if "browser" not in getattr(item, "fixturenames", ()):
        return
    problems = check_accessibility()
    if outcome.excinfo is None and problems:
        pytest.fail("无障碍检查（axe-core, WCAG 2.1 AA）未通过：\n" + "\n".join(problems),
                    pytrace=False)
