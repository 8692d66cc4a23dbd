"""The invoices list at any size: constant queries, indexed sorts, keyset pages, every filter and the
search, the sum of what it shows (exact), the month chart, safe exports, one organization's rows only."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.db.models import Sum
from django.test import Client
from django.utils import timezone

from conftest import make_member
from invoices import rows, tallies
from invoices.lists import InvoiceListView
from invoices.models import ROW_SORTS, InvoiceRow, money
from mirror.models import Invoice, Order
from portal.lists import Cursor
from portal.tests.listchecks import no_sort_step, plan_of, queries_of

from .conftest import BASE, make_invoices, mirrored_order


def listed(response) -> list[int]:
    return [row["upstream_id"] for row in response.context["page"].rows]


def direct_total(org, **lookup) -> Decimal:
    cents = InvoiceRow.objects.filter(organization=org, **lookup).aggregate(c=Sum("total_cents"))["c"] or 0
    return money(cents) or Decimal("0.00")


def shown_total(response) -> str:
    found = re.search(r'id="filtered-total">([^<]*)<', response.content.decode())
    assert found, "no sum on the page"
    return found.group(1)


def amount(value: Decimal) -> str:
    return f"{value:,.2f}"


URLS = [
    "/invoices/",
    "/invoices/?sort=total_cents",
    "/invoices/?sort=-customer_order",
    "/invoices/?sort=upstream_id",
    "/invoices/?q=700003",
    "/invoices/?q=co-2000",
    "/invoices/?order=PO-200001",
    "/invoices/?order_id=200002",
    "/invoices/?billed_after=2025-01-10&billed_before=2025-02-20",
    "/invoices/?billed_after=2025-02-01",
    "/invoices/?last=1",
]


def test_a_page_costs_the_same_queries_at_10_and_at_1000_rows(client_alice, org_a, django_assert_max_num_queries):
    make_invoices(org_a, 10)
    client_alice.get("/invoices/")  # the session's first request also saves the session
    small = {url: queries_of(client_alice, url) for url in URLS}
    make_invoices(org_a, 990, start=10)
    for url in URLS:
        with django_assert_max_num_queries(12):
            assert client_alice.get(url).status_code == 200
    large = {url: queries_of(client_alice, url) for url in URLS}
    assert large == small
    deep = client_alice.get("/invoices/", {"sort": "total_cents"}).context["page"]
    with django_assert_max_num_queries(12):
        client_alice.get("/invoices/", {"sort": "total_cents", "after": deep.next_cursor})


@pytest.mark.parametrize("descending", [False, True])
def test_every_sortable_column_has_an_index_that_serves_its_sort(org_a, descending):
    make_invoices(org_a, 30)
    sortable = [c.name for c in InvoiceListView.columns if c.sortable]
    assert set(sortable) == set(ROW_SORTS)  # a sortable column without an index cannot be added
    for name in sortable:
        qs = InvoiceRow.objects.filter(organization=org_a).order_by(*InvoiceListView._order(name, descending))[:51]
        plan = plan_of(qs)
        assert f"invoices_row_{name[:17]}" in plan, (name, plan)
        assert no_sort_step(plan), (name, plan)


def test_a_billed_range_is_summed_through_the_covering_index(org_a):
    make_invoices(org_a, 30)
    start = datetime(2025, 1, 3, tzinfo=UTC)
    qs = InvoiceRow.objects.filter(organization=org_a, billed_at__gte=start, billed_at__lt=start + timedelta(days=9))
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            # Statistics, else the planner guesses one row for every index and may pick any; and no bitmap
            # (on 30 rows it is as cheap as anything): may the covering index alone answer the sum?
            cursor.execute("ANALYZE invoices_invoicerow")
            cursor.execute("SET LOCAL enable_bitmapscan = off")
    plan = plan_of(qs.values("total_cents"))
    assert "invoices_row_billed_at" in plan, plan
    if connection.vendor == "postgresql":
        assert "Index Only Scan" in plan, plan  # the total is in the index: no table page is read


def walk(client, params: dict) -> tuple[list[int], list[str], object]:
    """Every page forward with ?after=: the invoice numbers in order, the summaries, the last page."""
    seen, summaries = [], []
    response = client.get("/invoices/", params)
    while True:
        seen += listed(response)
        summaries.append(response.context["summary"])
        page = response.context["page"]
        if not page.has_next:
            return seen, summaries, page
        response = client.get("/invoices/", {**params, "after": page.next_cursor})


@pytest.mark.parametrize("sort", ["-billed_at", "total_cents", "-customer_order"])
def test_next_and_previous_walk_every_invoice_once_in_order_even_with_ties(client_alice, org_a, sort):
    make_invoices(org_a, 61, order_every=4)  # four invoices bill each order: ties in the order column
    Invoice.objects.filter(organization=org_a, upstream_id__in=[700_005, 700_006]).update(billed_at=None, total=None)
    InvoiceRow.objects.filter(organization=org_a, upstream_id=700_009).update(
        billed_at=InvoiceRow.objects.get(upstream_id=700_010).billed_at  # a tie in the billed column
    )
    rows.rebuild(org_a.pk)
    name, descending = sort.lstrip("-"), sort.startswith("-")
    expected = list(
        InvoiceRow.objects.filter(organization=org_a)
        .order_by(*InvoiceListView._order(name, descending))
        .values_list("upstream_id", flat=True)
    )
    seen, summaries, page = walk(client_alice, {"per_page": 25, "sort": sort})
    assert seen == expected and len(seen) == 61
    assert summaries == ["Showing 1–25 of 61", "Showing 26–50 of 61", "Showing 51–61 of 61"]
    back = []
    while page.has_prev:
        response = client_alice.get("/invoices/", {"per_page": 25, "sort": sort, "before": page.prev_cursor})
        page = response.context["page"]
        back = listed(response) + back
    assert back == expected[:50]


def test_the_last_page_and_a_cursor_past_the_end_show_the_last_rows(client_alice, org_a):
    make_invoices(org_a, 60)
    last = client_alice.get("/invoices/", {"last": "1"})
    assert last.context["summary"] == "Showing 11–60 of 60"
    assert listed(last)[-1] == 700_000  # the oldest bill comes last
    beyond = Cursor(BASE - timedelta(days=1), 1, 99999).encode()
    response = client_alice.get("/invoices/", {"after": beyond})
    assert response.status_code == 200 and listed(response) == listed(last) and response.context["page"].at_end


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"billed_after": "2025-01-03"}, set(range(700_002, 700_020))),
        ({"billed_before": "2025-01-03"}, {700_000, 700_001}),
        ({"billed_after": "2025-01-04", "billed_before": "2025-01-04"}, {700_002}),
        ({"order_id": "200003"}, {700_003}),
        ({"order": "co-20001"}, set(range(700_010, 700_020))),  # customer orders CO-200010 .. CO-200019
        ({"order": "PO-200007"}, {700_007}),
        ({"q": "700012"}, {700_012}),  # an invoice number
        ({"q": "0001"}, set(range(700_010, 700_020)) | {700_001}),  # part of one (and of the order's texts)
        ({"q": "co-200015"}, {700_015}),
        ({"billed_after": "2025-01-10", "order": "CO-20000"}, set(range(700_006, 700_010))),
    ],
)
def test_each_filter_keeps_the_invoices_it_names_and_sums_them(client_alice, org_a, params, expected):
    make_invoices(org_a, 20)
    response = client_alice.get("/invoices/", params)
    assert response.status_code == 200 and response.context["valid"], response.context["filter"].errors
    assert set(listed(response)) == expected
    assert response.context["chips"]
    assert shown_total(response) == amount(direct_total(org_a, upstream_id__in=expected))
    assert response.context["filtered_sum"]["invoices"] == len(expected)


def test_the_sum_of_a_billed_range_across_month_edges_is_exact_and_reads_the_month_table(client_alice, org_a):
    make_invoices(org_a, 400)  # about 20 months
    zone = timezone.get_default_timezone()
    for after, before in [("2025-02-17", "2025-09-03"), ("2025-03-01", "2025-05-31"), ("2025-06-02", "2025-06-28")]:
        response = client_alice.get("/invoices/", {"billed_after": after, "billed_before": before})
        start = timezone.make_aware(datetime.combine(date.fromisoformat(after), datetime.min.time()), zone)
        end = timezone.make_aware(
            datetime.combine(date.fromisoformat(before) + timedelta(days=1), datetime.min.time()), zone
        )
        lookup = {"billed_at__gte": start, "billed_at__lt": end}
        assert shown_total(response) == amount(direct_total(org_a, **lookup)), (after, before)
        assert (
            response.context["filtered_sum"]["invoices"]
            == InvoiceRow.objects.filter(organization=org_a, **lookup).count()
        )
    everything = client_alice.get("/invoices/")
    assert shown_total(everything) == amount(direct_total(org_a))
    assert "Total of all 400 invoices" in everything.content.decode()


def test_a_filter_that_keeps_more_than_the_cap_says_so_instead_of_a_sum(client_alice, org_a, monkeypatch):
    make_invoices(org_a, 30)
    monkeypatch.setattr("invoices.lists.COUNT_CAP", 10)
    response = client_alice.get("/invoices/", {"q": "7000"})
    assert len(listed(response)) == 30
    assert response.context["filtered_sum"] == {"over_cap": 10}
    assert "More than 10 invoices match: narrow the filters to see their total." in response.content.decode()
    assert shown_total(client_alice.get("/invoices/", {"q": "70001"})) == amount(
        direct_total(org_a, upstream_id__gte=700_010, upstream_id__lt=700_020)
    )


@pytest.mark.parametrize(
    "params",
    [
        {"billed_after": "2025-02-31"},
        {"billed_before": "yesterday"},
        {"order_id": "-3"},
        {"order_id": "9" * 40},
        {"order_id": "abc"},
        {"order": "ab"},
        {"q": "ab"},
        {"sort": "x"},
        {"q": "\x00abc"},
    ],
)
def test_bad_filter_values_are_messages_never_errors(client_alice, org_a, params):
    make_invoices(org_a, 3)
    response = client_alice.get("/invoices/", params)
    assert response.status_code == 200
    if params != {"sort": "x"} and "q" not in params:
        assert not response.context["valid"] and response.context["filtered_sum"] == {}


def test_rows_link_to_the_invoice_and_to_the_order_it_bills_once_mirrored(client_alice, org_a):
    make_invoices(org_a, 2, orders=False)
    order = mirrored_order(org_a, 200_001, customer_order="ACME-77")
    rows.on_orders_page(org_a, None, [(order.pk, order.upstream_id, {})], None)
    response = client_alice.get("/invoices/", {"sort": "upstream_id"})
    first, second = response.context["rows"]
    invoice = Invoice.objects.get(organization=org_a, upstream_id=700_000)
    assert first[0]["url"] == f"/invoices/{invoice.pk}/" and first[0]["value"] == 700_000
    cells = {c["column"].name: c for c in first}
    assert (
        cells["customer_order"]["column"].kind == "text" and cells["customer_order"]["value"] == "200000 (not mirrored)"
    )
    cells = {c["column"].name: c for c in second}
    assert cells["customer_order"]["url"] == f"/orders/{order.pk}/" and cells["customer_order"]["value"] == "ACME-77"
    assert cells["total_cents"]["value"] == amount(Invoice.objects.get(upstream_id=700_001).total)
    html = response.content.decode()
    assert f'<a href="/orders/{order.pk}/">ACME-77</a>' in html and "200000 (not mirrored)" in html


def test_the_month_chart_and_this_month_against_last_month(client_alice, org_a):
    today = timezone.localdate()
    this_month = today.replace(day=1)
    last_month = (this_month - timedelta(days=1)).replace(day=1)
    make_invoices(
        org_a,
        3,
        base=timezone.make_aware(datetime.combine(last_month, datetime.min.time())) + timedelta(hours=1),
        step=timedelta(hours=1),
    )
    make_invoices(
        org_a,
        2,
        start=3,
        base=timezone.make_aware(datetime.combine(this_month, datetime.min.time()))
        + timedelta(hours=1)
        - 3 * timedelta(hours=1),
        step=timedelta(hours=1),
    )
    last_total = direct_total(org_a, upstream_id__lt=700_003)
    this_total = direct_total(org_a, upstream_id__gte=700_003)
    response = client_alice.get("/invoices/")
    chart = response.context["month_chart"]
    assert len(chart.labels) == 12 and chart.labels[-1] == this_month.strftime("%b %Y")
    assert chart.series[0].values[-2:] == [last_total, this_total]
    assert chart.rows[-1]["values"] == [amount(this_total)] and chart.rows[-1]["extra"] == ["2"]
    assert chart.rows[-1]["url"] == tallies.list_url(this_month)
    compare = response.context["compare"]
    assert (compare["this"].invoices, compare["last"].invoices) == (2, 3)
    change = this_total - last_total
    assert compare["change"] == ("+" if change > 0 else "") + amount(change)
    assert compare["percent"] == f"{change / last_total:+.1%}"
    html = response.content.decode()
    assert 'id="chart-invoice-months-data" type="application/json"' in html  # json_script, no inline script
    assert amount(this_total) in html and f'href="{tallies.list_url(last_month)}"' in html.replace("&amp;", "&")


def test_export_is_what_the_list_shows_totals_as_decimals_and_formula_cells_neutralised(client_alice, org_a):
    make_invoices(org_a, 3)
    Order.objects.filter(organization=org_a, upstream_id=200_000).update(
        customer_order="=HYPERLINK(1)", purchase_order="+1+2"
    )
    Invoice.objects.filter(organization=org_a, upstream_id=700_002).update(total=Decimal("-12.5"))
    rows.rebuild(org_a.pk)
    response = client_alice.get("/invoices/", {"export": "csv", "sort": "upstream_id", "billed_before": "2025-01-03"})
    assert response["Content-Type"].startswith("text/csv")
    assert response["Content-Disposition"].startswith('attachment; filename="invoices-')
    lines = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    header, body, trailer = lines[0], lines[1:-1], lines[-1]
    assert header == ["Invoice", "Billed", "Order", "Purchase order", "Total"]
    assert [r[0] for r in body] == ["700000", "700001"]  # filtered and sorted as the list
    assert body[0][1] == "2025-01-01T05:00:00+00:00"
    assert body[0][2:4] == ["'=HYPERLINK(1)", "'+1+2"]
    assert body[1][4] == str(Invoice.objects.get(upstream_id=700_001).total.quantize(Decimal("0.01")))
    assert trailer == ["# 2 rows"]
    credit = list(
        csv.reader(
            io.StringIO(
                b"".join(client_alice.get("/invoices/", {"export": "csv", "q": "700002"}).streaming_content).decode()
            )
        )
    )
    assert credit[1][4] == "-12.50"


def test_another_organizations_invoices_never_appear(client_alice, org_a, org_b, bob):
    make_invoices(org_a, 4)
    make_invoices(org_b, 6, number_base=800_000)
    response = client_alice.get("/invoices/", {"per_page": 25})
    assert set(listed(response)) == set(range(700_000, 700_004))
    assert shown_total(response) == amount(direct_total(org_a))
    assert listed(client_alice.get("/invoices/", {"q": "800001"})) == []
    assert listed(client_alice.get("/invoices/", {"order_id": "200005"})) == []  # an order only they have
    exported = b"".join(client_alice.get("/invoices/", {"export": "csv"}).streaming_content).decode()
    assert "80000" not in exported and exported.strip().endswith("# 4 rows")
    theirs = InvoiceRow.objects.filter(organization=org_b).order_by("billed_at", "id").first()
    cursor = Cursor(theirs.billed_at, theirs.id, 0).encode()
    assert all(n < 800_000 for n in listed(client_alice.get("/invoices/", {"after": cursor})))
    chart = client_alice.get("/invoices/").context["month_chart"]
    bobs = Client()
    bobs.force_login(bob)
    response = bobs.get("/invoices/")
    assert set(listed(response)) == set(range(800_000, 800_006))
    assert shown_total(response) == amount(direct_total(org_b))
    assert chart.rows != response.context["month_chart"].rows or not any(chart.series[0].values)


def test_any_member_reads_the_list_and_the_navigation_leads_to_it(org_a):
    make_invoices(org_a, 2)
    viewer = Client()
    viewer.force_login(make_member("vera", org_a, roles=["viewer"]))
    response = viewer.get("/")
    assert 'href="/invoices/"' in response.content.decode()
    response = viewer.get("/invoices/")
    assert response.status_code == 200 and len(listed(response)) == 2
    assert 'aria-current="page">Invoices</a>' in response.content.decode()


def test_the_order_filter_asks_the_index_for_its_longest_word_and_checks_the_whole_text(client_alice, org_a):
    from invoices.lists import longest_word

    assert longest_word("SEED-B0385714") == "b0385714"  # "seed" is in every customer order: its postings are long
    assert longest_word("PO-7") == "po-7"  # no word of three: the whole text
    assert longest_word("Ünï-ABCD") == "abcd"
    make_invoices(org_a, 6)
    Order.objects.filter(organization=org_a, upstream_id=200_004).update(customer_order="XX-200003")
    rows.rebuild(org_a.pk)
    # "200003" is in both customer orders (and the PO of the order 200003): only the one whose text is whole.
    response = client_alice.get("/invoices/", {"order": "co-200003"})
    assert listed(response) == [700_003]
    assert set(listed(client_alice.get("/invoices/", {"order": "-200003"}))) == {700_003, 700_004}
