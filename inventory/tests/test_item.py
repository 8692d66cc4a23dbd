"""An item's page: its stock across locations, its catalog price, its recent orders and RMAs, links to
the lists that hold the rest, and nothing of another organization."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from django.test import Client
from django.utils import timezone

from inventory.presenters import RECENT
from mirror.models import CatalogItem, Item, Order, OrderLine, Rma

from .conftest import make_stock, mirrored

T0 = timezone.now() - timedelta(days=30)


def item_of(org, upstream_id: int = 100_000) -> Item:
    return Item.objects.get(organization=org, upstream_id=upstream_id)


def make_order(org, upstream_id: int, codes: list[tuple[str, int]], *, days: int = 0, **values) -> Order:
    order = Order.objects.create(
        organization=org,
        upstream_id=upstream_id,
        raw={"id": upstream_id},
        content_hash="x",
        first_seen_at=T0,
        changed_at=T0,
        customer_order=f"CO-{upstream_id}",
        status="Released",
        created_upstream_at=T0 + timedelta(days=days),
        **values,
    )
    OrderLine.objects.bulk_create(
        OrderLine(order=order, position=n, product_code=code, quantity=quantity)
        for n, (code, quantity) in enumerate(codes)
    )
    return order


def make_rma(org, upstream_id: int, item_id: int, *, days: int = 0, **values) -> Rma:
    return Rma.objects.create(
        organization=org,
        upstream_id=upstream_id,
        raw={"id": upstream_id},
        content_hash="x",
        first_seen_at=T0,
        changed_at=T0,
        subject="Disk failure",
        manufacturer_serial=f"SN-{upstream_id}",
        status_name=values.pop("status_name", "In Repair"),
        start_date=date(2026, 1, 1) + timedelta(days=days),
        item_id=item_id,
        item_name=values.pop("item_name", "Widget"),
        **values,
    )


def test_the_page_shows_stock_by_location_and_the_catalog_price(client_alice, org_a):
    make_stock(org_a, 7, items=2, locations=2)  # item 100000 has records 0, 2, 4, 6: locations 1, 1, 1, 1
    make_stock(org_a, 3, start=10, items=3, locations=3)  # records of other items
    item = item_of(org_a)
    response = client_alice.get(f"/inventory/items/{item.pk}/")
    assert response.status_code == 200
    page = response.context["page"]
    assert [(s.location, s.records, s.on_hand, s.available, s.below) for s in page.stock] == [
        ("Location 1", 4, Decimal(12), Decimal(12) - Decimal(0 + 2 + 0 + 2), 3),  # on hand 0, 2, 4, 6; 0-4 below 5
    ]
    assert page.stock[0].value == Decimal("15.0000") and page.total is None
    html = response.content.decode()
    assert "<h1>Widget 0000" in html and "MSKU-0000" in html
    assert "<dt>SKU-0000</dt><dd>0.50</dd>" in html  # the catalog entry and its price
    assert '<td class="num">15.00</td>' in html and '<td class="num">12</td>' in html
    assert 'class="row-warn"' in html and "Below reorder level: </span>Location 1" in html


def test_stock_at_several_locations_has_a_total(client_alice, org_a):
    make_stock(org_a, 6, items=1, locations=3)
    page = client_alice.get(f"/inventory/items/{item_of(org_a).pk}/").context["page"]
    assert [(s.location, s.records, s.on_hand) for s in page.stock] == [
        ("Location 1", 2, Decimal(3)),
        ("Location 2", 2, Decimal(5)),
        ("Location 3", 2, Decimal(7)),
    ]
    assert (page.total.records, page.total.on_hand, page.total.below) == (6, Decimal(15), 5)


def test_the_page_lists_the_orders_naming_the_items_skus_newest_first(client_alice, org_a, org_b):
    make_stock(org_a, 2)
    make_order(org_a, 1, [("SKU-0000", 2), ("OTHER", 1)], days=1)  # the customer SKU
    make_order(org_a, 2, [("MSKU-0000", 3), ("SKU-0000", 1)], days=3)  # the manufacturer SKU, and both
    make_order(org_a, 3, [("SKU-0001", 1)], days=4)  # another item's
    make_order(org_a, 4, [("SKU-0000", 1)], days=5, vanished_at=timezone.now())  # gone upstream
    make_order(org_b, 5, [("SKU-0000", 9)], days=6)  # another organization's
    page = client_alice.get(f"/inventory/items/{item_of(org_a).pk}/").context["page"]
    assert [(o.order.upstream_id, o.quantity, o.codes) for o in page.orders] == [
        (2, 4, "MSKU-0000, SKU-0000"),
        (1, 2, "SKU-0000"),
    ]
    assert page.product_codes == ["SKU-0000", "MSKU-0000"] and not page.more_orders
    html = client_alice.get(f"/inventory/items/{item_of(org_a).pk}/").content.decode()
    order = Order.objects.get(organization=org_a, upstream_id=2)
    assert f'<a href="/orders/{order.pk}/">CO-2</a>' in html
    assert '<a href="/orders/?product_code=SKU-0000">All orders with SKU-0000</a>' in html
    assert '<a href="/orders/?product_code=MSKU-0000">All orders with MSKU-0000</a>' in html
    assert "CO-5" not in html and "CO-3" not in html and "CO-4" not in html


def test_orders_and_rmas_are_bounded_to_the_most_recent(client_alice, org_a):
    make_stock(org_a, 1)
    for k in range(RECENT + 3):
        make_order(org_a, 100 + k, [("SKU-0000", 1)], days=k)
        make_rma(org_a, 800 + k, 100_000, days=k)
    page = client_alice.get(f"/inventory/items/{item_of(org_a).pk}/").context["page"]
    assert [o.order.upstream_id for o in page.orders] == [100 + k for k in range(RECENT + 2, 2, -1)]
    assert [r.upstream_id for r in page.rmas] == [800 + k for k in range(RECENT + 2, 2, -1)]
    assert page.more_orders and page.more_rmas
    assert "there are more" in client_alice.get(f"/inventory/items/{item_of(org_a).pk}/").content.decode()


def test_the_page_lists_the_items_rmas_and_links_to_the_rma_list(client_alice, org_a, org_b):
    make_stock(org_a, 2)
    mine = make_rma(org_a, 900, 100_000, days=2, item_name="Widget (as the RMA names it)")
    make_rma(org_a, 901, 100_000, days=1, closed_date=date(2026, 1, 20), is_open=False, status_name="Closed")
    make_rma(org_a, 902, 100_001, days=3)  # another item's
    make_rma(org_a, 903, 100_000, days=4, vanished_at=timezone.now())
    make_rma(org_b, 904, 100_000, days=5)
    response = client_alice.get(f"/inventory/items/{item_of(org_a).pk}/")
    assert [r.upstream_id for r in response.context["page"].rmas] == [900, 901]
    html = response.content.decode()
    assert f'<a href="/rmas/{mine.pk}/">900</a>' in html and "2026-01-20" in html
    assert 'href="/rmas/?item=Widget+%28as+the+RMA+names+it%29"' in html


def test_an_item_without_catalog_orders_or_rmas_says_so(client_alice, org_a):
    item = Item.objects.create(
        organization=org_a, upstream_id=7, raw={}, content_hash="x", first_seen_at=T0, changed_at=T0, name="Loose"
    )
    html = client_alice.get(f"/inventory/items/{item.pk}/").content.decode()
    assert "This item is not in your catalog." in html
    assert "No inventory records of this item." in html
    assert "This item has no SKU an order line could name." in html and "No RMAs of this item." in html
    CatalogItem.objects.bulk_create([mirrored(CatalogItem, org_a, 77, customer_sku="LOOSE-1", item_id=7, price=None)])
    html = client_alice.get(f"/inventory/items/{item.pk}/").content.decode()
    assert "<dt>LOOSE-1</dt><dd>–</dd>" in html and "No orders with a line of LOOSE-1." in html


def test_another_organizations_item_and_a_vanished_item_are_not_found(client_alice, org_a, org_b, bob):
    make_stock(org_a, 1)
    make_stock(org_b, 1, start=50)
    theirs = Item.objects.get(organization=org_b)
    assert client_alice.get(f"/inventory/items/{theirs.pk}/").status_code == 404
    assert client_alice.post(f"/inventory/items/{theirs.pk}/").status_code == 404
    bobs = Client()
    bobs.force_login(bob)
    assert bobs.get(f"/inventory/items/{item_of(org_a).pk}/").status_code == 404
    assert bobs.get(f"/inventory/items/{theirs.pk}/").status_code == 200
    Item.objects.filter(pk=item_of(org_a).pk).update(vanished_at=timezone.now())
    assert client_alice.get(f"/inventory/items/{item_of(org_a).pk}/").status_code == 404
    assert client_alice.get("/inventory/items/999999999/").status_code == 404
