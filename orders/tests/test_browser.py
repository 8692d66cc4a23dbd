"""A buyer orders in a real browser; the order is sent by a real worker to the real sandbox, and its
shipment comes back through the Order Update webhook alone (no sync runs after the form loads).

Real Chromium (Playwright), Django's live_server, a real Celery worker, the sandbox over loopback.
"""

from __future__ import annotations

import pytest
from django.core import mail

from conftest import PASSWORD, make_member, wait_for
from orders.models import OrderSubmission
from sync.models import SyncRun
from webhooks.models import WebhookDelivery

from .conftest import sync_reference

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.timeout(120)]


def test_buyer_orders_two_lines_and_sees_it_shipped_through_the_webhook(
    page, live_server, sandbox, sandbox_org, celery_worker, fast_outbox
):
    from playwright.sync_api import expect

    org = sandbox_org
    sync_reference(org)
    sandbox.set_webhook_url(org.upstream_token, live_server.url + "/webhooks/order-update/")
    buyer = make_member("betty", org, roles=["buyer", "viewer"])
    skus = list(org_catalog(org))[:2]
    runs_before = SyncRun.objects.filter(organization=org).count()

    page.goto(live_server.url + "/accounts/login/?next=/orders/new/")
    page.fill("input[name=username]", buyer.username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/orders/new/")

    page.fill("#id_purchase_order", "PO-BROWSER-1")
    customer_order = page.input_value("#id_customer_order")
    assert customer_order.startswith(org.slug.upper() + "-")
    page.select_option("#id_ship_method", index=1)
    page.fill("#id_recipient_name", "John L. Doe")
    page.fill("#id_recipient_phone", "1-555-555-6789")
    page.fill("#id_recipient_address_1", "467 Highway #1")
    page.fill("#id_recipient_city", "Toronto")
    page.fill("#id_recipient_zip", "M5A 123")
    page.select_option("#id_recipient_country", "CA")
    page.check("#id_importer_same_as_recipient")
    expect(page.locator("#importer")).to_be_hidden()

    page.fill("#id_lines-0-product_code", skus[0])
    page.fill("#id_lines-0-quantity", "2")
    page.fill("#id_lines-0-customs_declared_value", "10.50")
    expect(page.locator("#order-total")).to_have_text("21.00")
    page.click("#add-line")
    page.click("#add-line")  # one too many: removed again below, without a reload
    expect(page.locator("#line-rows tr[data-line]:visible")).to_have_count(3)
    page.fill("#id_lines-1-product_code", skus[1])
    page.fill("#id_lines-1-quantity", "3")
    page.fill("#id_lines-1-customs_declared_value", "1.25")
    page.fill("#id_lines-2-product_code", skus[0])
    page.fill("#id_lines-2-quantity", "7")
    page.fill("#id_lines-2-customs_declared_value", "100")
    expect(page.locator("#order-total")).to_have_text("724.75")
    page.locator("#line-rows tr[data-line]").nth(2).locator(".remove-line").click()
    expect(page.locator("#line-rows tr[data-line]:visible")).to_have_count(2)
    expect(page.locator("#order-total")).to_have_text("24.75")

    sandbox.set_faults(
        latency_ms=1500, count=1, path_prefix="/v2/customer_order_submissions", token=org.upstream_token
    )  # long enough to see the order queued
    page.click("#submit-order")
    page.wait_for_url("**/orders/submissions/*/")
    expect(page.locator("#submission-state-label")).to_have_text(__import__("re").compile("Queued|Sending"))
    expect(page.locator("#submission-state-label")).to_have_text("Submitted", timeout=20000)
    submission = OrderSubmission.objects.get(organization=org, customer_order=customer_order)
    assert submission.lines.count() == 2 and submission.upstream_id
    expect(page.locator("#order-status")).to_have_text("Pending")

    sandbox.set_order_status(org.upstream_token, submission.upstream_id, "shipped")
    expect(page.locator("#order-status")).to_have_text("Shipped", timeout=20000)
    expect(page.locator("#tracking-numbers")).to_contain_text("1Z")
    expect(page.locator("#order-invoices")).to_contain_text("Invoice")
    expect(page.locator("#order-lines")).to_contain_text(f"SN{submission.upstream_id}")
    expect(page.locator("#status-history")).to_contain_text("Shipped")

    assert WebhookDelivery.objects.filter(organization=org, status="processed").exists()
    assert SyncRun.objects.filter(organization=org).count() == runs_before  # the webhook alone
    wait_for(lambda: len(mail.outbox) == 1, 10, message="the shipped e-mail")
    assert "1Z" in mail.outbox[0].body and mail.outbox[0].to == [buyer.email]
    assert sandbox.stats(org.upstream_token)["orders_created"] == 1


def org_catalog(org):
    from mirror.models import CatalogItem

    return CatalogItem.objects.for_org(org).order_by("upstream_id").values_list("customer_sku", flat=True)


def test_the_orders_list_fits_a_390_pixel_phone(page, live_server, tmp_path):
    from orders.tests.test_list import make_orders

    org = make_org_for_browser()
    buyer = make_member("phoebe", org, roles=["buyer", "viewer"])
    make_orders(org, 30, recipient_company="A company with a rather long name, Incorporated")
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(live_server.url + "/accounts/login/?next=/orders/")
    page.fill("input[name=username]", buyer.username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/orders/")

    def widths():
        return page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")

    assert page.locator("#orders-table tbody tr").count() == 30
    scroll, viewport = widths()
    assert viewport == 390 and scroll <= viewport, f"the page scrolls sideways: {scroll} > {viewport}"
    table_box = page.evaluate("document.querySelector('.table-scroll').scrollWidth")
    assert table_box > viewport  # the table is wider than a phone and scrolls inside its own box
    page.click("summary:has-text('Filters')")
    page.click("summary:has-text('Columns')")
    scroll, viewport = widths()
    assert scroll <= viewport, f"with the panels open the page scrolls sideways: {scroll} > {viewport}"
    page.screenshot(path=str(tmp_path / "orders-390.png"), full_page=True)
    assert (tmp_path / "orders-390.png").stat().st_size > 10_000


def make_org_for_browser():
    from conftest import make_org

    return make_org("phone", "Phone Co", upstream_org_id=3003)
