"""Issue 13's browser walk: a member opens the home page, follows "below reorder level" to the
filtered inventory, saves it as a view, and reopens it from the home page.

Real Chromium (the `page` fixture of conftest.py fails the test on any CSP violation), Django's
live_server, tallies counted as a worker would (`home.services.recompute`).
"""

from __future__ import annotations

import pytest

from conftest import PASSWORD, make_member
from home import services
from inventory.tests.conftest import make_stock
from savedviews.models import SavedView

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.timeout(120)]


def test_below_reorder_level_saved_as_a_view_and_reopened_from_home(page, live_server, org_a, handed):
    from playwright.sync_api import expect

    make_stock(org_a, 12)  # records 0-4 are below their reorder level
    services.recompute(org_a.pk)
    member = make_member("bea", org_a, roles=["buyer"])

    page.goto(live_server.url + "/accounts/login/?next=/")
    page.fill("input[name=username]", member.username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(live_server.url + "/")
    expect(page.locator("section.saved-views-card")).to_contain_text("Save a list's filters")

    # Home: the inventory card's figure, followed to the list behind it.
    figure = page.locator("#card-inventory a.figure").first
    expect(figure).to_have_text("5")
    figure.click()
    page.wait_for_url("**/inventory/?tab=below")
    expect(page.locator("#list-summary")).to_have_text("Showing 1–5 of 5")
    expect(page.locator("nav.tabs a[aria-current=page]")).to_contain_text("Below reorder level")
    assert page.locator("table tbody tr.row-warn").count() == 5  # every row shown is highlighted

    # Saved as a view, shared with the organization.
    page.click("details.views-panel > summary")
    page.fill("#id_view_name", "Reorder now")
    page.check("details.views-panel input[name=shared]")
    page.click("details.views-panel button:has-text('Save view')")
    page.wait_for_url("**/inventory/?tab=below&view=*")
    expect(page.locator(".messages")).to_contain_text("View “Reorder now” saved.")
    view = SavedView.objects.get()
    assert (view.organization_id, view.owner_id, view.list_key, view.query, view.shared) == (
        org_a.pk,
        member.pk,
        "inventory",
        "tab=below",
        True,
    )

    # Elsewhere, then home, then the saved view: the same filtered list again.
    page.goto(live_server.url + "/inventory/")
    expect(page.locator("#list-summary")).to_contain_text("of 12")
    page.goto(live_server.url + "/")
    link = page.locator("section.saved-views-card a", has_text="Reorder now")
    expect(link).to_be_visible()
    link.click()
    page.wait_for_url(f"**/inventory/?tab=below&view={view.pk}")
    expect(page.locator("#list-summary")).to_have_text("Showing 1–5 of 5")
    expect(page.locator("details.views-panel > summary")).to_have_text("Views: Reorder now")
