"""In a real browser, under the strict Content-Security-Policy: the inventory list marks the rows below their
reorder level (a tone and words a screen reader hears), its tab keeps the dashboard's URL, an item name opens
the item's page, and on a phone the wide table scrolls in its own box.

Real Chromium (the `page` fixture of conftest.py fails the test on any CSP violation), Django's live_server.
"""

from __future__ import annotations

import pytest

from conftest import PASSWORD

from .conftest import make_stock

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.timeout(120)]


def test_below_reorder_rows_stand_out_and_lead_to_the_item_page(page, live_server, alice, org_a):
    from playwright.sync_api import expect

    make_stock(org_a, 8)  # on hand 0..7, reorder level 5: five rows below it
    page.set_viewport_size({"width": 390, "height": 800})
    page.goto(f"{live_server.url}/accounts/login/?next=/inventory/")
    page.fill("input[name=username]", "alice")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/inventory/")

    table = page.locator("#inventory-table")
    expect(table.locator("tbody tr")).to_have_count(8)
    expect(table.locator("tbody tr.row-warn")).to_have_count(5)
    marked = table.locator("tbody tr.row-warn").first
    assert marked.evaluate("tr => getComputedStyle(tr.cells[0]).backgroundColor") != "rgba(0, 0, 0, 0)"
    expect(marked.locator(".visually-hidden")).to_have_text("Below reorder level: ")
    # A phone: the table scrolls inside its box, the page itself does not scroll sideways.
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
    assert page.evaluate(
        "(() => { const box = document.querySelector('.table-scroll'); return box.scrollWidth > box.clientWidth })()"
    )

    page.get_by_role("link", name="Below reorder level").click()
    page.wait_for_url("**/inventory/?tab=below")
    expect(table.locator("tbody tr")).to_have_count(5)
    table.get_by_role("link", name="Widget 0003").click()
    page.wait_for_url("**/inventory/items/*/")
    expect(page.locator("h1")).to_have_text("Widget 0003")
    expect(page.locator("#item-catalog")).to_contain_text("SKU-0003")
    expect(page.locator("#item-stock tbody tr")).to_have_count(1)
    expect(page.locator("#item-stock tbody tr.row-warn")).to_contain_text("Location 1")
