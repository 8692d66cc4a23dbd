"""The inventory list at any size: constant queries, indexed sorts, keyset pages over decimals (empty
ones too), the "below reorder level" tab and its marked rows, every filter and the search, decimals
shown sensibly, an export of what the list shows, one organization's rows only."""

from __future__ import annotations

import csv
import io
import re
from decimal import Decimal

import pytest
from django.db import connection
from django.test import Client
from django.urls import NoReverseMatch, reverse

from inventory import rows, tallies
from inventory.lists import InventoryListView
from inventory.models import FLAG_SIDES, ROW_SORTS, InventoryRow
from mirror.models import Inventory, Item
from portal.lists import Cursor
from portal.tests.listchecks import no_sort_step, plan_of, queries_of

from .conftest import make_items, make_stock

URL = "/inventory/"


def listed(response) -> list[str]:
    return [row["item_name"] for row in response.context["page"].rows]


def counts(response) -> dict[str, str]:
    return {t["label"]: t["count"] for t in response.context["tabs"]}


URLS = [
    URL,
    f"{URL}?tab=below",
    f"{URL}?sort=-value",
    f"{URL}?sort=quantity_available",
    f"{URL}?q=widget 000",
    f"{URL}?location=2",
    f"{URL}?item=widget",
    f"{URL}?sku=sku-00",
    f"{URL}?stocked=1&serialized=0&archived=0",
    f"{URL}?last=1",
]


def test_a_page_costs_the_same_queries_at_10_and_at_1000_rows(client_alice, org_a, django_assert_max_num_queries):
    make_stock(org_a, 10)
    client_alice.get(URL)  # the session's first request also saves the session
    small = {url: queries_of(client_alice, url) for url in URLS}
    make_stock(org_a, 990, start=10)
    assert InventoryRow.objects.filter(organization=org_a).count() == 1000
    for url in URLS:
        with django_assert_max_num_queries(8):
            assert client_alice.get(url).status_code == 200
    large = {url: queries_of(client_alice, url) for url in URLS}
    assert large == small
    deep = client_alice.get(URL, {"sort": "-quantity_on_hand"}).context["page"]
    with django_assert_max_num_queries(8):
        response = client_alice.get(URL, {"sort": "-quantity_on_hand", "after": deep.next_cursor})
    assert response.context["summary"] == "Showing 51–100 of 1,000"


@pytest.mark.parametrize("descending", [False, True])
def test_every_sortable_column_and_the_tab_have_an_index_that_serves_the_sort(org_a, descending):
    make_stock(org_a, 30)
    sortable = [c.name for c in InventoryListView.columns if c.sortable]
    assert set(sortable) == set(ROW_SORTS)  # a sortable column without an index cannot be added
    for name in sortable:
        qs = InventoryRow.objects.filter(organization=org_a).order_by(*InventoryListView._order(name, descending))[:51]
        plan = plan_of(qs)
        assert f"inv_row_{name[:20]}" in plan, (name, plan)
        assert no_sort_step(plan), (name, plan)
    qs = InventoryRow.objects.filter(organization=org_a, is_below_reorder=True).order_by(
        *InventoryListView._order("item_name", descending)
    )[:51]
    plan = plan_of(qs)
    assert re.search(r"inv_row_(below|item_name)", plan) and no_sort_step(plan), plan


def test_the_flag_filters_and_the_location_filter_count_through_their_own_indexes(org_a):
    """The rare side of a flag (not stocked, not serialized, archived) has a small partial index in the
    default order; the location's index carries the tab's flag. A filtered page and its tab counts
    read those, never the organization's rows (a few % of a million rows would be a scan)."""
    make_stock(org_a, 40)
    mine = InventoryRow.objects.filter(organization=org_a)
    for name, condition in FLAG_SIDES:
        page = plan_of(mine.filter(condition).order_by("item_name", "id")[:51])
        below = plan_of(mine.filter(condition, is_below_reorder=True).order_by().values("pk")[:10001])
        if connection.vendor == "postgresql":
            assert f"inv_row_{name}" in page and no_sort_step(page), page
            assert f"Index Only Scan using inv_row_{name}" in below, below
        else:
            assert no_sort_step(page) and "SCAN inventory_inventoryrow\n" not in page + "\n", page
    if connection.vendor == "postgresql":
        # Without statistics every index of a 40-row table looks like one row, and the planner once took
        # another (organization, ...) index with a filter for the location's (CI, 2026-12-02).
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE inventory_inventoryrow")
            cursor.execute("SET LOCAL enable_bitmapscan = off")
    plan = plan_of(mine.filter(location_id=2, is_below_reorder=True).order_by().values("pk")[:10001])
    # The location's index, or the tab's (which carries the location): either reads an index alone.
    assert re.search(r"inv_row_(location_id|below)\b", plan), plan
    if connection.vendor == "postgresql":
        assert re.search(r"Index Only Scan using inv_row_(location_id|below) ", plan), plan


def walk(client, params: dict) -> tuple[list[int], list[str], object]:
    """Every page forward with ?after=: the inventory ids in order, the summaries, the last page."""
    seen, summaries = [], []
    response = client.get(URL, params)
    while True:
        seen += [row["id"] for row in response.context["page"].rows]
        summaries.append(response.context["summary"])
        page = response.context["page"]
        if not page.has_next:
            return seen, summaries, page
        response = client.get(URL, {**params, "after": page.next_cursor})


@pytest.mark.parametrize("sort", ["quantity_on_hand", "-quantity_on_hand", "value", "-value", "location_id"])
def test_pages_walk_a_decimal_column_with_ties_and_empty_values_both_ways(client_alice, org_a, sort):
    """Quantities repeat (ties break on the id) and some are unknown: the database sorts those before
    or after the values, and the keyset walks across from one part to the other."""
    make_stock(org_a, 57)
    for k in range(57):  # on hand 0, 0.5, 1, ... repeating; every sixth unknown
        Inventory.objects.filter(organization=org_a, upstream_id=1_000_000 + k).update(
            quantity_on_hand=None if k % 6 == 5 else Decimal(k % 7) / 2
        )
    rows.rebuild(org_a.pk)
    expected = list(
        InventoryRow.objects.filter(organization=org_a)
        .order_by(*InventoryListView._order(sort.lstrip("-"), sort.startswith("-")))
        .values_list("id", flat=True)
    )
    assert InventoryRow.objects.filter(organization=org_a, quantity_on_hand__isnull=True).count() == 9
    seen, summaries, page = walk(client_alice, {"per_page": 25, "sort": sort})
    assert seen == expected and len(seen) == 57
    assert summaries == ["Showing 1–25 of 57", "Showing 26–50 of 57", "Showing 51–57 of 57"]
    back: list[int] = []
    while page.has_prev:
        response = client_alice.get(URL, {"per_page": 25, "sort": sort, "before": page.prev_cursor})
        page = response.context["page"]
        back = [row["id"] for row in page.rows] + back
    assert back == expected[:50]


def test_the_last_page_and_odd_cursors_show_rows_never_an_error(client_alice, org_a):
    make_stock(org_a, 60)
    last = client_alice.get(URL, {"last": "1"})
    assert last.context["summary"] == "Showing 11–60 of 60"
    beyond = Cursor("Zzzz", 1, 99999).encode()  # a stale link past the end
    response = client_alice.get(URL, {"after": beyond})
    assert listed(response) == listed(last) and response.context["page"].at_end
    for bad in (Cursor("1e999999", 1, 0), Cursor("nan?", 1, 0), Cursor(12, 1, 0), Cursor("9" * 60, 1, 0)):
        response = client_alice.get(URL, {"sort": "value", "after": bad.encode()})
        assert response.status_code == 200 and response.context["summary"] == "Showing 1–50 of 60"
    decimal = client_alice.get(URL, {"sort": "-value"}).context["page"]
    assert client_alice.get(URL, {"sort": "-value", "after": decimal.next_cursor}).context["summary"] == (
        "Showing 51–60 of 60"
    )


def test_rows_below_their_reorder_level_are_a_tab_with_its_count_and_stand_out(client_alice, org_a):
    make_stock(org_a, 12)  # on hand 0..11, reorder level 5: records 0-4 are below it
    response = client_alice.get(URL, {"sort": "quantity_on_hand"})
    assert counts(response) == {"All": "12", "Below reorder level": "5"}
    marked = [row for row in response.context["rows"] if row.css == "warn"]
    assert len(marked) == 5 and all(row[0]["mark"] == "Below reorder level" for row in marked)
    html = response.content.decode()
    assert html.count('class="row-warn"') == 5
    assert '<span class="visually-hidden">Below reorder level: </span>' in html
    below = client_alice.get(f"{URL}?tab=below")  # the dashboard's link
    assert sorted(listed(below)) == [f"Widget {k:04d}" for k in range(5)]
    assert tallies.below_reorder(org_a.pk) == 5


def test_quantities_show_without_trailing_zeros_and_money_with_two_places(client_alice, org_a, alice):
    make_stock(org_a, 1)
    Inventory.objects.filter(organization=org_a).update(
        quantity_on_hand=Decimal("1234.5000"),
        quantity_allocated=Decimal("0.2500"),
        average_cost=Decimal("2.1"),
        reorder_level=Decimal("10.0000"),
    )
    rows.rebuild(org_a.pk)
    client_alice.post(
        URL, {"columns": [c.name for c in InventoryListView.columns], "per_page": "25", "query": ""}
    )  # every column
    response = client_alice.get(URL)
    cells = {c["column"].name: c["value"] for c in response.context["rows"][0]}
    assert cells["quantity_on_hand"] == "1,234.5"
    assert cells["quantity_allocated"] == "0.25"
    assert cells["quantity_available"] == "1,234.25"
    assert cells["reorder_level"] == "10"
    assert cells["quantity_on_order"] == "2"
    assert cells["average_cost"] == "2.10" and cells["last_cost"] == "1.50" and cells["price"] == "0.50"
    assert cells["value"] == "2,592.45"  # 1234.5 x 2.1
    assert cells["location_id"] == "Location 1"
    assert (cells["stocked"], cells["serialized"], cells["archived"]) == ("No", "No", "No")
    assert cells["customer_sku"] == "SKU-0000" and cells["manufacturer_sku"] == "MSKU-0000"
    assert cells["lead_time"] == 0


def test_item_names_link_to_the_item_page_and_an_item_not_mirrored_shows_its_id(client_alice, org_a):
    make_stock(org_a, 2)
    Item.objects.filter(organization=org_a, upstream_id=100_001).update(vanished_at="2026-11-01T00:00:00Z")
    rows.rebuild(org_a.pk)
    response = client_alice.get(URL, {"sort": "item_name"})
    first, second = response.context["rows"][0][0], response.context["rows"][1][0]
    assert (first["value"], first["url"]) == ("Item 100001", "")  # its item vanished: no page to open
    item = Item.objects.get(organization=org_a, upstream_id=100_000)
    assert (second["value"], second["url"]) == ("Widget 0000", f"/inventory/items/{item.pk}/")
    html = response.content.decode()
    assert f'<a href="/inventory/items/{item.pk}/">Widget 0000</a>' in html and 'href="">' not in html


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"location": "2"}, {1, 4, 7, 10, 13}),
        ({"item": "Widget 0012"}, {12}),  # an exact name
        ({"item": "widget 0012"}, set()),
        ({"item": "Widget 001"}, set()),
        ({"sku": "SKU-0003"}, {3}),  # the customer SKU
        ({"sku": "msku-0012"}, {12}),  # the manufacturer SKU
        ({"stocked": "0"}, {0, 3, 6, 9, 12}),
        ({"stocked": "1", "serialized": "0"}, {5, 10}),
        ({"archived": "1"}, {6, 13}),
        ({"archived": "0", "location": "2", "stocked": "1"}, {1, 4, 7, 10}),
        ({"q": "widget 0014"}, {14}),
        ({"q": "for the rack"}, set(range(15))),  # the description
        ({"q": "1000011"}, {11}),  # an inventory id
    ],
)
def test_each_filter_keeps_the_rows_it_names(client_alice, org_a, params, expected):
    make_stock(org_a, 15)
    response = client_alice.get(URL, params)
    assert response.status_code == 200 and response.context["valid"], response.context["filter"].errors
    assert set(listed(response)) == {f"Widget {k:04d}" for k in expected}
    assert counts(response)["All"] == str(len(expected))  # the tabs count what the filters keep
    assert counts(response)["Below reorder level"] == str(len(expected & {0, 1, 2, 3, 4}))
    assert response.context["chips"]


def test_the_item_filter_suggests_this_organizations_item_names(client_alice, org_a, org_b):
    make_stock(org_a, 12)
    make_items(org_b, 3, prefix="Widget Globex")
    html = client_alice.get(URL).content.decode()
    assert 'hx-get="/suggest/items/"' in html and 'list="id_item-options"' in html
    options = client_alice.get("/suggest/items/", {"item": "widget 001"}).content.decode()
    assert options.count("<option") == 2 and "Widget 0010" in options and "Widget 0011" in options
    assert "Globex" not in client_alice.get("/suggest/items/", {"item": "widget"}).content.decode()


def test_the_location_filter_offers_this_organizations_locations_by_name(client_alice, org_a, org_b):
    make_stock(org_a, 6, locations=2)
    make_stock(org_b, 4, locations=4)
    Inventory.objects.filter(organization=org_b).update(inventory_location_id=77)
    rows.rebuild(org_b.pk)
    choices = dict(client_alice.get(URL).context["filter"].form.fields["location"].choices)
    assert choices == {"": "Any", "1": "Location 1", "2": "Location 2"}
    chip = client_alice.get(URL, {"location": "2"}).context["chips"][0]
    assert (chip["label"], chip["value"]) == ("Location", "Location 2")
    theirs = client_alice.get(URL, {"location": "77"})  # a location of another organization is no choice here
    assert theirs.status_code == 200 and not theirs.context["valid"] and theirs.context["page"].rows == []


@pytest.mark.parametrize("q", ["ab", "²²²", "①②③", "9" * 40, "%%%", "_", "' OR 1=1 --", "\x00abc"])
def test_odd_search_input_is_text_or_a_message_never_an_error(client_alice, org_a, q):
    make_stock(org_a, 3)
    response = client_alice.get(URL, {"q": q, "sku": q, "item": q})
    assert response.status_code == 200
    if len(q.strip()) < 3:
        assert "Type at least 3 characters (or an inventory id)" in response.content.decode()
    else:
        assert listed(response) == []


@pytest.mark.parametrize(
    "params", [{"stocked": "maybe"}, {"location": "x"}, {"sort": "search_text"}, {"per_page": "7"}]
)
def test_bad_filter_values_are_messages_never_errors(client_alice, org_a, params):
    make_stock(org_a, 3)
    assert client_alice.get(URL, params).status_code == 200


def exported(client, params: dict) -> list[list[str]]:
    response = client.get(URL, {**params, "export": "csv"})
    assert response["Content-Type"].startswith("text/csv")
    assert response["Content-Disposition"].startswith('attachment; filename="inventory-')
    return list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))


def test_export_has_what_the_list_shows_in_its_order_with_plain_numbers(client_alice, org_a):
    make_stock(org_a, 70)
    Inventory.objects.filter(organization=org_a, upstream_id=1_000_003).update(quantity_on_hand=Decimal("3.5000"))
    rows.rebuild(org_a.pk)
    params = {"sort": "-quantity_available", "location": "1", "per_page": "25"}
    shown: list[str] = []
    response = client_alice.get(URL, params)
    while True:
        shown += listed(response)
        if not response.context["page"].has_next:
            break
        response = client_alice.get(URL, {**params, "after": response.context["page"].next_cursor})
    lines = exported(client_alice, params)
    header, body, trailer = lines[0], lines[1:-1], lines[-1]
    assert header == [
        "Item",
        "Manufacturer SKU",
        "Customer SKU",
        "Price",
        "Location",
        "On hand",
        "Allocated",
        "Available",
        "On order",
        "Reorder level",
        "Value",
    ]
    assert [row[0] for row in body] == shown and len(shown) == 24
    assert trailer == ["# 24 rows"]
    by_item = {row[0]: row for row in body}
    assert by_item["Widget 0003"] == [
        "Widget 0003",
        "MSKU-0003",
        "SKU-0003",
        "3.50",
        "Location 1",
        "3.5",
        "3",
        "0.5",
        "2",
        "5",
        "4.38",  # 3.5 x 1.25 = 4.375
    ]
    below = exported(client_alice, {"tab": "below"})
    assert sorted(row[0] for row in below[1:-1]) == [f"Widget {k:04d}" for k in range(5)]


def test_export_writes_negative_and_unknown_numbers_as_numbers(client_alice, org_a):
    make_stock(org_a, 2)
    Inventory.objects.filter(organization=org_a, upstream_id=1_000_001).update(
        quantity_on_hand=Decimal("0.5"), quantity_allocated=Decimal(2), average_cost=None, last_cost=Decimal("-3")
    )
    rows.rebuild(org_a.pk)
    client_alice.post(URL, {"columns": ["quantity_available", "value", "last_cost", "stocked"], "query": ""})
    body = exported(client_alice, {"sort": "item_name"})[1:-1]
    assert body == [["Widget 0000", "0", "1.50", "0.00", "no"], ["Widget 0001", "-1.5", "-3.00", "", "yes"]]


def test_export_neutralises_formula_cells(client_alice, org_a):
    make_stock(org_a, 3)
    InventoryRow.objects.filter(item_name="Widget 0000").update(
        item_name='=HYPERLINK("http://evil.example","x")', manufacturer_sku="+1+2", customer_sku="@SUM(A1)"
    )
    InventoryRow.objects.filter(item_name="Widget 0001").update(manufacturer_sku="-3", customer_sku="\tTab")
    body = exported(client_alice, {"sort": "item_name"})[1:-1]
    cells = {cell for row in body for cell in row}
    assert '\'=HYPERLINK("http://evil.example","x")' in cells and "'+1+2" in cells and "'@SUM(A1)" in cells
    assert "'-3" in cells and "'\tTab" in cells
    assert not any(cell[:1] in ("=", "+", "@", "\t", "\r") for cell in cells)


def test_another_organizations_stock_never_appears(client_alice, org_a, org_b, bob):
    make_stock(org_a, 4)
    make_items(org_b, 6, start=100, prefix="Globex")
    make_stock(org_b, 6, start=100)
    response = client_alice.get(URL, {"per_page": 25})
    assert counts(response) == {"All": "4", "Below reorder level": "4"}
    assert all(name.startswith("Widget") for name in listed(response))
    assert listed(client_alice.get(URL, {"q": "globex"})) == []
    assert listed(client_alice.get(URL, {"q": "1000100"})) == []  # their inventory id
    assert listed(client_alice.get(URL, {"item": "Globex"})) == []
    text = "\n".join(",".join(row) for row in exported(client_alice, {}))
    assert "Globex" not in text and text.strip().endswith("# 4 rows")
    theirs = InventoryRow.objects.filter(organization=org_b).order_by("item_name", "id").first()
    cursor = Cursor(theirs.item_name, theirs.id, 0).encode()  # a cursor made from their row shows only ours
    assert all(name.startswith("Widget") for name in listed(client_alice.get(URL, {"after": cursor})))
    assert tallies.below_reorder(org_a.pk) == 4 and tallies.below_reorder(org_b.pk) == 0
    bobs = Client()
    bobs.force_login(bob)
    assert counts(bobs.get(URL)) == {"All": "6", "Below reorder level": "0"}


def test_the_placeholder_is_gone_and_the_navigation_leads_to_the_list(client_alice, org_a):
    make_stock(org_a, 2)
    response = client_alice.get(URL)
    assert response.templates[0].name == "portal/list.html"
    html = response.content.decode()
    assert "no data" not in html.lower() and "Widget 0001" in html
    assert '<a href="/inventory/" aria-current="page">Inventory</a>' in html
    assert reverse("inventory:list") == URL
    with pytest.raises(NoReverseMatch):
        reverse("mirror:inventory")
    assert '<a href="/inventory/">Inventory</a>' in client_alice.get("/").content.decode()


def test_columns_and_page_size_are_remembered_for_this_list_only(client_alice, org_a):
    make_stock(org_a, 30)
    response = client_alice.post(URL, {"columns": ["value", "lead_time", "nonsense"], "per_page": "25", "query": ""})
    assert response.status_code == 302
    page = client_alice.get(URL)
    assert [h["column"].name for h in page.context["headers"]] == ["item_name", "lead_time", "value"]
    assert len(listed(page)) == 25
    assert len(client_alice.get("/rmas/").context["headers"]) > 3  # the RMA list keeps its own
