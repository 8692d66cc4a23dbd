"""The inventory list's table follows every sync page and vanish pass of inventories, items and catalog
items, in the same transaction; the mirror keeps every field of an inventory record within its bounds."""

from __future__ import annotations

import importlib
from decimal import Context, Decimal

from django.apps import apps
from django.db import connection
from django.utils import timezone

from inventory import rows, tallies
from inventory.models import InventoryRow
from mirror.models import CatalogItem, Inventory, Item
from sync import registry
from sync.engine import run_sync
from sync.models import SyncRun

from .conftest import make_stock, mirrored

SNAPSHOT = [f for f in rows.ROW_FIELDS if f != "organization_id"]


def sync(org, *names: str) -> None:
    for name in names:
        run = run_sync(org, name)
        assert run.status == SyncRun.Status.SUCCESS, (name, run.error)


def row(org, inventory_upstream_id: int) -> InventoryRow:
    return InventoryRow.objects.get(organization=org, upstream_id=inventory_upstream_id)


def snapshot(org) -> list[tuple]:
    return sorted(InventoryRow.objects.filter(organization=org).values_list(*SNAPSHOT), key=repr)


def upstream(model, org, upstream_id: int) -> dict:
    """The payload the sandbox serves for a mirrored row (as last synced)."""
    return dict(model.objects.get(organization=org, upstream_id=upstream_id).raw)


def test_the_sync_listens_on_inventories_items_and_catalog_items():
    for name, hook in (
        ("inventories", rows.on_inventory_page),
        ("items", rows.on_item_page),
        ("customer_catalog_items", rows.on_catalog_page),
    ):
        assert hook in registry.page_hooks(registry.get(name)), name
    for name, hook in (
        ("inventories", rows.on_inventory_vanish),
        ("items", rows.on_item_vanish),
        ("customer_catalog_items", rows.on_catalog_vanish),
    ):
        assert hook in registry.vanish_hooks(registry.get(name)), name


def test_a_sync_gives_every_inventory_record_a_row_with_its_item_and_catalog_entry(sandbox_org):
    sync(sandbox_org, "items", "customer_catalog_items", "inventories")
    records = list(Inventory.objects.for_org(sandbox_org).present())
    assert len(records) == InventoryRow.objects.filter(organization=sandbox_org).count() == 60
    assert all(r.average_cost is not None and r.reorder_level is not None for r in records)  # the new columns
    r3 = row(sandbox_org, 1_000_003)
    item = Item.objects.get(organization=sandbox_org, upstream_id=100_003)
    entry = CatalogItem.objects.get(organization=sandbox_org, upstream_id=500_003)
    assert (r3.item_id, r3.item_name, r3.manufacturer_sku, r3.stocked) == (
        item.pk,
        item.name,
        item.manufacturer_sku,
        item.stocked,
    )
    assert (r3.catalog_item_id, r3.customer_sku, r3.price) == (entry.pk, "SKU-00003", entry.price)
    assert r3.location_id == 4 and r3.is_below_reorder  # the sandbox puts every twentieth record below its level
    for record in records:
        listed = row(sandbox_org, record.upstream_id)
        assert listed.quantity_available == record.quantity_on_hand - record.quantity_allocated
        assert listed.value == (record.quantity_on_hand * record.average_cost).quantize(Decimal("0.0001"))
        assert listed.is_below_reorder == (record.quantity_on_hand < record.reorder_level)
        assert (listed.reorder_level, listed.lead_time, listed.last_cost) == (
            record.reorder_level,
            record.lead_time,
            record.last_cost,
        )
    assert tallies.below_reorder(sandbox_org.pk) >= 3
    assert tallies.below_reorder(sandbox_org.pk) == sum(r.quantity_on_hand < r.reorder_level for r in records)


def test_records_synced_before_their_items_take_the_items_when_they_arrive(sandbox_org):
    sync(sandbox_org, "inventories")
    first = row(sandbox_org, 1_000_001)
    assert (first.item_id, first.item_name, first.customer_sku, first.item_upstream_id) == (None, "", "", 100_001)
    sync(sandbox_org, "items")
    assert row(sandbox_org, 1_000_001).item_name == Item.objects.get(organization=sandbox_org, upstream_id=100_001).name
    assert row(sandbox_org, 1_000_001).customer_sku == ""
    sync(sandbox_org, "customer_catalog_items")
    assert row(sandbox_org, 1_000_001).customer_sku == "SKU-00001"
    assert row(sandbox_org, 1_000_031).customer_sku == "SKU-00001"  # the same item's other record


def test_an_item_or_catalog_change_upstream_reaches_the_rows_of_its_records(sandbox_org, sandbox):
    sync(sandbox_org, "items", "customer_catalog_items", "inventories")
    token = sandbox_org.sandbox_token
    renamed = dict(upstream(Item, sandbox_org, 100_001), name="Quantum Rack 9", stocked=False)
    archived = dict(upstream(Item, sandbox_org, 100_008), archived_at="2026-11-30T10:00:00Z")
    sandbox.upsert(token, "items", [renamed, archived])
    repriced = dict(upstream(CatalogItem, sandbox_org, 500_001), customer_sku="ACME-RACK-9", price=99.5)
    moved = dict(upstream(CatalogItem, sandbox_org, 500_002), item_id=100_005)  # now item 100005's first entry
    sandbox.upsert(token, "customer_catalog_items", [repriced, moved])
    sync(sandbox_org, "items", "customer_catalog_items")
    for upstream_id in (1_000_001, 1_000_031):  # item 100001's two records
        r = row(sandbox_org, upstream_id)
        assert (r.item_name, r.stocked, r.customer_sku, r.price) == (
            "Quantum Rack 9",
            False,
            "ACME-RACK-9",
            Decimal("99.5"),
        )
        assert "quantum rack 9" in r.search_text and "acme-rack-9" in r.search_text
    assert row(sandbox_org, 1_000_008).archived and not row(sandbox_org, 1_000_009).archived
    assert (row(sandbox_org, 1_000_002).customer_sku, row(sandbox_org, 1_000_002).catalog_item_id) == ("", None)
    assert row(sandbox_org, 1_000_005).customer_sku == "SKU-00002"  # the lower upstream id of its two entries


def test_records_items_and_catalog_entries_gone_upstream_leave_the_rows(sandbox_org, sandbox):
    sync(sandbox_org, "items", "customer_catalog_items", "inventories")
    token = sandbox_org.sandbox_token
    sandbox.delete(token, "inventories", [1_000_004])
    sandbox.delete(token, "items", [100_006])
    sandbox.delete(token, "customer_catalog_items", [500_007])
    sync(sandbox_org, "inventories", "items", "customer_catalog_items")
    assert not InventoryRow.objects.filter(organization=sandbox_org, upstream_id=1_000_004).exists()
    assert InventoryRow.objects.filter(organization=sandbox_org).count() == 59
    gone_item = row(sandbox_org, 1_000_006)
    assert (gone_item.item_id, gone_item.item_name, gone_item.item_upstream_id) == (None, "", 100_006)
    assert (row(sandbox_org, 1_000_007).customer_sku, row(sandbox_org, 1_000_007).catalog_item_id) == ("", None)
    changed = snapshot(sandbox_org)
    assert rows.rebuild(sandbox_org.pk) == 59
    assert snapshot(sandbox_org) == changed  # the changes gave what a rebuild gives


def test_derived_values_and_the_largest_numbers_fit_their_columns(org_a):
    assert rows.derived(Decimal(7), None, Decimal("0.33333"), Decimal(8)) == {
        "quantity_available": Decimal(7),
        "value": Decimal("2.3333"),  # 2.33331, four places
        "is_below_reorder": True,
    }
    assert rows.derived(Decimal("0.5"), Decimal(2), Decimal("0.00005"), None) == {
        "quantity_available": Decimal("-1.5"),
        "value": Decimal("0.0000"),  # 0.000025 rounds half up to four places
        "is_below_reorder": False,
    }
    assert rows.derived(None, Decimal(1), Decimal(1), Decimal(5)) == {
        "quantity_available": None,
        "value": None,
        "is_below_reorder": False,
    }
    # The largest a stock column holds (SQLite keeps a decimal as a float, which would round that one up
    # past its column: there the largest a float keeps exactly).
    top = Decimal("99999999999999.9999") if connection.vendor == "postgresql" else Decimal("99999999999990")
    make_stock(org_a, 1, quantity_on_hand=top, quantity_allocated=-top, average_cost=top, reorder_level=top)
    r = InventoryRow.objects.get(organization=org_a)  # written: no column overflowed
    assert r.quantity_available is not None and r.value is not None and r.is_below_reorder is False
    if connection.vendor == "postgresql":  # exact (SQLite keeps such a decimal as a float)
        exact = Context(prec=40)
        assert r.quantity_available == 2 * top and r.quantity_on_hand == top
        assert r.value == exact.multiply(top, top).quantize(Decimal("0.0001"), context=exact)


def test_the_mapper_keeps_costs_levels_and_lead_time_within_their_bounds():
    mapper = registry.get("inventories").mapper
    mapped = mapper(
        {
            "id": 1,
            "average_cost": "12.5",
            "last_cost": 1e20,
            "reorder_level": "7",
            "order_up_to_level": None,
            "lead_time": 30,
        }
    )
    assert (mapped["average_cost"], mapped["last_cost"], mapped["reorder_level"]) == (Decimal("12.5"), None, Decimal(7))
    assert (mapped["order_up_to_level"], mapped["lead_time"]) == (None, 30)
    assert mapper({"id": 1, "lead_time": 3651})["lead_time"] is None  # limits.LEAD_TIME_DAYS
    assert mapper({"id": 1, "lead_time": -1})["lead_time"] is None
    assert mapper({"id": 1, "lead_time": "3650"})["lead_time"] == 3650


def test_the_migration_takes_the_new_columns_from_the_stored_payloads(org_a):
    migration = importlib.import_module("mirror.migrations.0006_inventory_costs_and_levels")
    payload = {"id": 9, "average_cost": 3.25, "last_cost": "4", "reorder_level": 10.0, "lead_time": 12}
    Inventory.objects.bulk_create([mirrored(Inventory, org_a, 9, raw=payload, quantity_on_hand=Decimal(1))])
    record = Inventory.objects.get(organization=org_a, upstream_id=9)
    assert record.average_cost is None  # mirrored before the columns existed
    migration.fill_from_raw(apps, None)
    record.refresh_from_db()
    assert (record.average_cost, record.last_cost, record.reorder_level, record.lead_time) == (
        Decimal("3.25"),
        Decimal(4),
        Decimal(10),
        12,
    )
    assert record.order_up_to_level is None and record.changed_at <= timezone.now()
