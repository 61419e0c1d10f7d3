"""Logging in through the browser, as people do: operators with the UKey (the login page
asks the UKey agent, which reads the virtual card through pcscd), for every browser test
that needs a logged-in operator.

    from tests.web.logins import operator_login
    operator_login(page, live, demo)           # unit 0's first operator
"""

from __future__ import annotations

from playwright.sync_api import Page, expect

from tests import smartcard


def operator_login(page: Page, live: str, demo: dict, unit: int = 0, operator: int = 0) -> None:
    """Unit account, login name, password and the UKey PIN on the login page; the session's
    pcscd, virtual card (the unit's demo UKey) and agent are started on first use."""
    smartcard.stack(demo, unit)
    info = demo["units"][unit]
    page.goto(f"{live}/login")
    expect(page.locator("#ukey-status")).to_have_attribute("data-state", "success")
    page.fill("#unit_account", info["unit_account"])
    page.fill("#login_name", info["operators"][operator]["login_name"])
    page.fill("#password", info["operators"][operator]["password"])
    page.fill("#ukey_pin", info["ukey"]["pin"])
    page.click("#login-submit")
    expect(page.locator("#unit-info")).to_be_visible()
