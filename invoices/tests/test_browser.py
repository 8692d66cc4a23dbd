"""In a real browser, under the strict Content-Security-Policy: the invoices page draws its month chart
with the vendored Chart.js from json_script data, and its table shows the same numbers.

Real Chromium (the `page` fixture of conftest.py fails the test on any CSP violation), Django's live_server.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from django.db.models import Sum
from django.utils import timezone

from conftest import PASSWORD
from invoices.models import InvoiceRow, money

from .conftest import make_invoices

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.timeout(120)]


def sign_in(page, base_url: str, username: str, next_path: str) -> None:
    page.goto(f"{base_url}/accounts/login/?next={next_path}")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"**{next_path}")


def test_the_month_chart_draws_and_its_table_shows_the_numbers(page, live_server, alice, org_a):
    from playwright.sync_api import expect

    this_month = timezone.localdate().replace(day=1)
    last_month = (this_month - timedelta(days=1)).replace(day=1)
    start = timezone.make_aware(datetime.combine(last_month, datetime.min.time())) + timedelta(hours=2)
    make_invoices(org_a, 3, base=start, step=timedelta(hours=5))
    make_invoices(
        org_a,
        2,
        start=3,
        base=timezone.make_aware(datetime.combine(this_month, datetime.min.time())) - 3 * timedelta(hours=5),
        step=timedelta(hours=5),
    )
    cents = {
        month: InvoiceRow.objects.filter(organization=org_a, **lookup).aggregate(c=Sum("total_cents"))["c"]
        for month, lookup in (("last", {"upstream_id__lt": 700_003}), ("this", {"upstream_id__gte": 700_003}))
    }

    sign_in(page, live_server.url, "alice", "/orders/")
    assert page.evaluate("typeof window.Chart") == "undefined"  # a page without a chart never loads Chart.js

    page.goto(live_server.url + "/invoices/")
    figure = page.locator("#chart-invoice-months")
    expect(figure.locator("figcaption")).to_have_text("Invoiced per month, last 12 months")
    page.wait_for_function(
        "() => window.Chart && Chart.getChart(document.querySelector('#chart-invoice-months canvas'))"
    )
    drawn = page.evaluate(
        """() => {
        const canvas = document.querySelector('#chart-invoice-months canvas');
        const chart = Chart.getChart(canvas);
        return {width: canvas.width, height: canvas.height, type: chart.config.type,
                labels: chart.data.labels, values: chart.data.datasets[0].data};
    }"""
    )
    assert drawn["width"] > 100 and drawn["height"] > 100 and drawn["type"] == "bar"
    assert len(drawn["labels"]) == 12 and drawn["labels"][-1] == this_month.strftime("%b %Y")
    assert drawn["values"][-2:] == [float(money(cents["last"])), float(money(cents["this"]))]
    box = figure.locator("canvas").bounding_box()
    assert box is not None and box["width"] > 100 and box["height"] > 100

    table = page.locator("#chart-invoice-months-table")
    expect(table).to_be_visible()
    last_row, this_row = table.locator("tbody tr").nth(10), table.locator("tbody tr").nth(11)
    expect(this_row).to_contain_text(this_month.strftime("%b %Y"))
    expect(this_row).to_contain_text(f"{money(cents['this']):,.2f}")
    expect(last_row).to_contain_text(f"{money(cents['last']):,.2f}")
    expect(page.locator("#this-month-total")).to_have_text(f"{money(cents['this']):,.2f}")
    expect(page.locator("#filtered-total")).to_have_text(f"{money(cents['this'] + cents['last']):,.2f}")

    # A month's row leads to the list of that month's invoices, with their sum.
    this_row.locator("a").click()
    page.wait_for_url("**/invoices/?billed_after=*")
    expect(page.locator("#filtered-total")).to_have_text(f"{money(cents['this']):,.2f}")
    expect(page.locator("#invoices-table tbody tr")).to_have_count(2)
    page.wait_for_function(
        "() => window.Chart && Chart.getChart(document.querySelector('#chart-invoice-months canvas'))"
    )
    assert page.evaluate("window.__cspViolations") == []


def test_the_chart_and_its_table_fit_a_phone(page, live_server, alice, org_a):
    make_invoices(org_a, 3, base=timezone.now() - timedelta(days=1), step=timedelta(hours=1))
    page.set_viewport_size({"width": 390, "height": 844})
    sign_in(page, live_server.url, "alice", "/invoices/")
    page.wait_for_function(
        "() => window.Chart && Chart.getChart(document.querySelector('#chart-invoice-months canvas'))"
    )
    overflow = page.evaluate("() => document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0
    canvas = page.locator("#chart-invoice-months canvas").bounding_box()
    table = page.locator("#chart-invoice-months-table").bounding_box()
    assert canvas is not None and table is not None
    assert canvas["width"] > 200 and table["y"] >= canvas["y"] + canvas["height"]  # stacked under the chart
