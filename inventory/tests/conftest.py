"""Inventory test helpers: mirrored items, catalog entries and inventory records, and their list rows."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.utils import timezone

from inventory import rows
from mirror.models import CatalogItem, Inventory, Item

ITEM_BASE = 100_000
CATALOG_BASE = 500_000
INVENTORY_BASE = 1_000_000


def mirrored(model, org, upstream_id: int, **values: Any):
    """One mirror row of `model` (not saved)."""
    now = timezone.now()
    values.setdefault("raw", {"id": upstream_id})
    return model(
        organization=org, upstream_id=upstream_id, content_hash="x", first_seen_at=now, changed_at=now, **values
    )


def make_items(org, n: int, *, start: int = 0, catalog: bool = True, prefix: str = "Widget") -> list[Item]:
    """n mirrored items (every third not stocked, every fifth not serialized, every seventh archived),
    each with one catalog entry SKU-<k> priced k + 0.5."""
    items = Item.objects.bulk_create(
        mirrored(
            Item,
            org,
            ITEM_BASE + k,
            name=f"{prefix} {k:04d}",
            description=f"{prefix} {k:04d} for the rack",
            manufacturer_sku=f"MSKU-{k:04d}",
            stocked=k % 3 != 0,
            serialized=k % 5 != 0,
            archived_at=timezone.now() if k % 7 == 6 else None,
        )
        for k in range(start, start + n)
    )
    if catalog:
        CatalogItem.objects.bulk_create(
            mirrored(
                CatalogItem,
                org,
                CATALOG_BASE + k,
                customer_sku=f"SKU-{k:04d}",
                price=Decimal(k) + Decimal("0.5"),
                item_id=ITEM_BASE + k,
            )
            for k in range(start, start + n)
        )
    return items


def make_stock(org, n: int, *, start: int = 0, items: int | None = None, locations: int = 3, **values: Any) -> None:
    """n inventory records over `items` items (n by default: one record each) at `locations` locations, and
    the list's rows. Record k: on hand k, allocated k % 4, on order 2, reorder level 5 (so records 0-4 are
    below it), order-up-to level 50, average cost 1.25, last cost 1.5, lead time k % 30; `values`
    overrides any of them for every record."""
    items = n if items is None else items
    if not Item.objects.filter(organization=org, upstream_id=ITEM_BASE + start).exists():
        make_items(org, items, start=start)
    records = []
    for k in range(start, start + n):
        fields: dict[str, Any] = {
            "item_id": ITEM_BASE + start + (k - start) % items,
            "inventory_location_id": 1 + k % locations,
            "quantity_on_hand": Decimal(k),
            "quantity_allocated": Decimal(k % 4),
            "quantity_on_order": Decimal(2),
            "reorder_level": Decimal(5),
            "order_up_to_level": Decimal(50),
            "average_cost": Decimal("1.25"),
            "last_cost": Decimal("1.5"),
            "lead_time": k % 30,
        }
        fields.update(values)
        records.append(mirrored(Inventory, org, INVENTORY_BASE + k, **fields))
    Inventory.objects.bulk_create(records)
    rows.rebuild(org.pk)
