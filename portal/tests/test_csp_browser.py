"""The Content-Security-Policy in a real browser: portal and admin pages load without a single
violation, the policy is enforced (an injected inline script does not run), and the header's
organization switcher still works without its old inline handler.

Real Chromium (Debian's package, through Playwright) against Django's live_server.
"""

from __future__ import annotations

import pytest

from conftest import PASSWORD, make_member

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.timeout(120)]


class Browser:
    """A page, with the policy violations and policy-related console messages of each load."""

    def __init__(self, page, base_url: str):
        self.page = page
        self.base_url = base_url
        self.console: list[str] = []
        page.on("console", self._on_console)

    def _on_console(self, message) -> None:
        text = message.text
        if "Content Security Policy" in text or "Permissions-Policy" in text or "Permissions policy" in text:
            self.console.append(f"{self.page.url}: {text}")

    def open(self, path: str):
        response = self.page.goto(self.base_url + path)
        assert response is not None and response.ok, (path, response and response.status)
        self.page.wait_for_load_state("load")
        return response

    def violations(self) -> list[str]:
        return self.page.evaluate("window.__cspViolations")


@pytest.fixture
def browser(page, live_server):
    return Browser(page, live_server.url)


def sign_in(browser: Browser, login_path: str, username: str) -> None:
    browser.open(login_path)
    browser.page.fill("input[name=username]", username)
    browser.page.fill("input[name=password]", PASSWORD)
    browser.page.click("[type=submit]")
    browser.page.wait_for_load_state("load")
    assert browser.violations() == []


def test_portal_pages_load_without_violations_and_the_switcher_works(browser, alice, org_b):
    from playwright.sync_api import expect

    make_member("alice", org_b)
    sign_in(browser, "/accounts/login/?next=/", "alice")
    loaded = {}
    for path in ("/", "/orders/", "/orders/new/", "/orders/upload/", "/accounts/password_change/"):
        response = browser.open(path)
        assert "script-src 'self'" in response.headers.get("content-security-policy", ""), path
        loaded[path] = browser.violations()
    assert loaded == {path: [] for path in loaded}

    # htmx is loaded and working, without the inline <style> it adds unless told not to.
    assert browser.page.evaluate("typeof htmx !== 'undefined' && htmx.config.includeIndicatorStyles") is False
    assert browser.page.locator("head style").count() == 0

    # The policy is enforced: an inline script added to the page does not run, and is reported.
    with browser.page.expect_console_message(lambda message: "Content Security Policy" in message.text):
        browser.page.evaluate(
            "() => { const s = document.createElement('script'); s.textContent = 'window.__ran = true';"
            " document.head.appendChild(s); }"
        )
    browser.page.wait_for_function("window.__cspViolations.length > 0")
    assert browser.page.evaluate("window.__ran === undefined")
    assert [v.split()[0] for v in browser.violations()] == ["script-src-elem"]
    browser.console.clear()  # that one was meant
    browser.page.csp_expected = True

    # The organization switcher sends its form on change (portal.js, no inline handler).
    browser.open("/orders/")
    expect(browser.page.locator("#org-switcher option:checked")).to_have_text("Acme")
    browser.page.select_option("#org-switcher", label="Globex")
    expect(browser.page.locator(".messages")).to_contain_text("Now working in Globex.")
    expect(browser.page.locator("#org-switcher option:checked")).to_have_text("Globex")
    assert browser.page.url == browser.base_url + "/orders/"
    assert browser.violations() == []
    assert browser.console == [], "\n".join(browser.console)


def test_admin_pages_load_without_violations(browser, ops, org_a, alice):
    from django.contrib.auth import get_user_model
    from playwright.sync_api import expect

    sign_in(browser, "/admin/login/?next=/admin/", "ops")
    assert browser.page.locator("#site-name").count() == 1
    user = get_user_model().objects.get(username="alice")
    loaded = {}
    for path in (
        "/admin/",
        "/admin/accounts/organization/",
        f"/admin/accounts/organization/{org_a.pk}/change/",
        "/admin/accounts/membership/",
        f"/admin/auth/user/{user.pk}/change/",
        "/admin/auth/user/add/",
        f"/admin/auth/user/{user.pk}/password/",
    ):
        response = browser.open(path)
        assert "script-src 'self'" in response.headers.get("content-security-policy", ""), path
        loaded[path] = browser.violations()
    assert loaded == {path: [] for path in loaded}

    # The admin's own scripts run: the add-user form hides the password fields for "unusable".
    browser.open("/admin/auth/user/add/")
    browser.page.check("input[name=usable_password][value=false]")
    expect(browser.page.locator("#id_password1")).to_be_hidden()
    assert browser.violations() == []
    assert browser.console == [], "\n".join(browser.console)
