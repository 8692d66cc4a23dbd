"""A service member requests an RMA in a real browser, from the page of the order its serial shipped
on; a real worker sends it to the sandbox, and the RMA's page follows it through troubleshooting
and results to its close (as the sync brings them).

Real Chromium (Playwright, the `page` fixture of conftest.py), Django's live_server, a real
Celery worker, the sandbox over loopback.
"""

from __future__ import annotations

import re

import pytest

from conftest import PASSWORD, make_member
from mirror.models import Order, OrderLine
from rmas.models import RmaSubmission
from sync.engine import run_sync

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.timeout(120)]


def shipped_serial(org) -> tuple[Order, str]:
    """A mirrored order that shipped, and the first serial on its lines."""
    for line in OrderLine.objects.filter(order__organization=org).select_related("order").order_by("order_id"):
        if line.serial_numbers:
            return line.order, line.serial_numbers[0]
    raise AssertionError("the sandbox seeded no shipped order with serial numbers")


def test_service_member_requests_an_rma_from_the_order_page_and_follows_it_to_the_close(
    page, live_server, sandbox, sandbox_org, celery_worker, fast_outbox
):
    from playwright.sync_api import expect

    org = sandbox_org
    run_sync(org, "orders")
    order, serial = shipped_serial(org)
    member = make_member("sergio", org, roles=["service", "viewer"])

    page.goto(live_server.url + f"/accounts/login/?next=/orders/{order.pk}/")
    page.fill("input[name=username]", member.username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"**/orders/{order.pk}/")

    page.click(f"a.serial-rma:text-is('{serial}')")
    page.wait_for_url("**/rmas/new/?serial=*")
    expect(page.locator("#id_manufacturer_serial")).to_have_value(serial)
    page.check("input[name=request_type][value='3']")
    page.fill("#id_problem", "Does not power on after the firmware update.")
    page.fill("#id_replacement_name", "Acme Receiving")
    page.fill("#id_replacement_addr", "1 Dock Road, Toronto")
    page.click("#submit-rma")
    page.wait_for_url("**/rmas/submissions/*/")
    expect(page.locator("#submission-state-label")).to_have_text("Submitted", timeout=20000)
    submission = RmaSubmission.objects.get(organization=org, manufacturer_serial=serial)
    assert submission.upstream_id

    for _ in range(4):  # the integrator checks it in, troubleshoots, repairs and closes it
        sandbox.advance(1)
        run_sync(org, "rmas")
    expect(page.locator("#rma-closed")).to_have_text(re.compile(r"\d{4}-\d{2}-\d{2}"), timeout=20000)
    expect(page.locator("#rma-status")).to_have_text("Closed")
    entries = page.locator("#rma-timeline li")
    expect(entries).to_have_count(3)
    expect(entries.nth(0)).to_contain_text("Problem")
    expect(entries.nth(0)).to_contain_text("Does not power on")
    expect(entries.nth(1)).to_contain_text("Troubleshooting")
    expect(entries.nth(2)).to_contain_text("Result")
    expect(page.locator("#rma-serial")).to_have_text(serial)
