"""A page's live part polls only while someone can see it (static/js/portal.js).

Real Chromium: an order page still moving (Pending) polls every 2 s; with its tab hidden it sends
nothing, and once shown again it polls at its next tick. The tab's visibility is set the way the
browser reports it to the page (document.hidden and a visibilitychange event).
"""

from __future__ import annotations

import re
import time

import pytest

from conftest import PASSWORD, make_member
from mirror.models import Order
from orders.mirror_apply import apply_order_payload
from orders.tests.test_pages import shipped_payload

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.timeout(120)]

SET_HIDDEN = """hidden => {
  Object.defineProperty(document, "hidden", {value: hidden, configurable: true});
  Object.defineProperty(document, "visibilityState", {value: hidden ? "hidden" : "visible", configurable: true});
  document.dispatchEvent(new Event("visibilitychange"));
}"""


def test_a_hidden_tab_does_not_poll_and_polls_again_once_shown(page, live_server, org_a):
    apply_order_payload(org_a, shipped_payload(250090, "LIVE-1", status="Pending"), "webhook")
    order = Order.objects.get(organization=org_a, upstream_id=250090)
    member = make_member("vera", org_a)
    url = f"/orders/{order.pk}/"

    page.goto(live_server.url + f"/accounts/login/?next={url}")
    page.fill("input[name=username]", member.username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"**{url}")
    assert page.locator("#order-live").get_attribute("hx-trigger") == "every 2s"

    polls: list[float] = []
    page.on("request", lambda r: polls.append(time.monotonic()) if r.url.endswith(url) else None)
    page.wait_for_timeout(4500)
    assert len(polls) >= 2, f"a visible page polls every 2 s ({len(polls)} in 4.5 s)"

    page.evaluate(SET_HIDDEN, True)
    hidden_at = time.monotonic()
    page.wait_for_timeout(6500)
    assert [t for t in polls if t > hidden_at + 0.2] == [], "a hidden tab sent polls"

    page.evaluate(SET_HIDDEN, False)
    shown_at = time.monotonic()
    page.wait_for_timeout(3000)
    assert [t for t in polls if t > shown_at], "no poll within 3 s of the tab being shown"
    assert re.search(r"Pending", page.locator("#order-live").inner_text())
