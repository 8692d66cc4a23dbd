"""The inventory list's table: one row per present inventory record, kept where the data changes.

The shared rules of `portal.rowtables.RowTable` (mirrored rows only: there are no local
submissions of stock). `refresh()` recomputes the rows of the inventory records it is given, in
the caller's transaction; `inventory.hooks` calls it from the sync of three resources:

- a page of inventories: the rows of its records; a vanish pass: the rows of vanished records go;
- a page of items: the rows of every record of those items (name, SKU, flags);
  a vanish pass: the rows whose item vanished (their item fields empty);
- a page of catalog items: the rows of every record of those catalog entries' items, and the
  rows that showed those entries before (an entry may move to another item); a vanish pass:
  the rows whose catalog entry vanished (they take the item's next entry, if any).

A row shows its item and its item's catalog entry as the mirror has them now: the present item
of that upstream id, and the present catalog entry of that item with the lowest upstream id.
Derived: available = on hand - allocated (an empty allocation counts as none), value = on hand x
average cost, and "below reorder level" = on hand < reorder level (both known).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from decimal import ROUND_HALF_UP, Context, Decimal
from typing import Any

from mirror.models import CatalogItem, Inventory, Item
from portal.rowtables import RowTable, RowValues
from upstream import limits

from .models import InventoryRow

# The columns a refresh writes (everything but the id).
ROW_FIELDS = (
    "organization_id",
    "inventory_id",
    "upstream_id",
    "item_id",
    "catalog_item_id",
    "item_upstream_id",
    "item_name",
    "item_description",
    "manufacturer_sku",
    "stocked",
    "serialized",
    "archived",
    "customer_sku",
    "price",
    "location_id",
    "quantity_on_hand",
    "quantity_allocated",
    "quantity_on_order",
    "quantity_available",
    "reorder_level",
    "order_up_to_level",
    "lead_time",
    "last_cost",
    "average_cost",
    "value",
    "is_below_reorder",
    "search_text",
)
SEARCHED = ("item_name", "item_description", "manufacturer_sku", "customer_sku")

INVENTORY_VALUES = (
    "pk",
    "organization_id",
    "upstream_id",
    "vanished_at",
    "item_id",
    "inventory_location_id",
    "quantity_on_hand",
    "quantity_allocated",
    "quantity_on_order",
    "reorder_level",
    "order_up_to_level",
    "lead_time",
    "last_cost",
    "average_cost",
)
ITEM_VALUES = ("pk", "upstream_id", "name", "description", "manufacturer_sku", "stocked", "serialized", "archived_at")
CATALOG_VALUES = ("pk", "item_id", "customer_sku", "price")

_EXACT = Context(prec=2 * limits.STOCK_DIGITS + 2)  # a product of two stock decimals, exactly
_PLACES = Decimal(1).scaleb(-limits.STOCK_PLACES)
BATCH = 1000


def derived(
    on_hand: Decimal | None, allocated: Decimal | None, average_cost: Decimal | None, reorder_level: Decimal | None
) -> dict[str, Any]:
    """What a row derives from its record: available, value and the below-reorder flag."""
    available = None if on_hand is None else on_hand - (allocated or 0)
    value = (
        None
        if on_hand is None or average_cost is None
        else _EXACT.multiply(on_hand, average_cost).quantize(_PLACES, rounding=ROUND_HALF_UP, context=_EXACT)
    )
    below = on_hand is not None and reorder_level is not None and on_hand < reorder_level
    return {"quantity_available": available, "value": value, "is_below_reorder": below}


def items_of(organization_id: int, item_ids: Iterable[int]) -> dict[int, dict[str, Any]]:
    """upstream item id -> the present mirrored item's values."""
    return {
        i["upstream_id"]: i
        for i in Item.objects.filter(organization_id=organization_id, upstream_id__in=list(item_ids))
        .present()
        .values(*ITEM_VALUES)
    }


def catalog_of(organization_id: int, item_ids: Iterable[int]) -> dict[int, dict[str, Any]]:
    """upstream item id -> its present catalog entry with the lowest upstream id."""
    entries: dict[int, dict[str, Any]] = {}
    for c in (
        CatalogItem.objects.filter(organization_id=organization_id, item_id__in=list(item_ids))
        .present()
        .order_by("upstream_id")
        .values(*CATALOG_VALUES)
    ):
        entries.setdefault(c["item_id"], c)
    return entries


def _inventory_rows(records: list[dict[str, Any]], linked: list[int | None]) -> list[RowValues]:
    if not records:
        return []
    organization_id = records[0]["organization_id"]
    item_ids = {r["item_id"] for r in records if r["item_id"] is not None}
    items = items_of(organization_id, item_ids) if item_ids else {}
    catalog = catalog_of(organization_id, item_ids) if item_ids else {}
    rows = []
    for r in records:
        item = items.get(r["item_id"]) or {}
        entry = catalog.get(r["item_id"]) or {}
        rows.append(
            {
                "organization_id": r["organization_id"],
                "inventory_id": r["pk"],
                "upstream_id": r["upstream_id"],
                "item_id": item.get("pk"),
                "catalog_item_id": entry.get("pk"),
                "item_upstream_id": r["item_id"],
                "item_name": item.get("name", ""),
                "item_description": item.get("description", ""),
                "manufacturer_sku": item.get("manufacturer_sku", ""),
                "stocked": item.get("stocked"),
                "serialized": item.get("serialized"),
                "archived": item.get("archived_at") is not None,
                "customer_sku": entry.get("customer_sku", ""),
                "price": entry.get("price"),
                "location_id": r["inventory_location_id"],
                "quantity_on_hand": r["quantity_on_hand"],
                "quantity_allocated": r["quantity_allocated"],
                "quantity_on_order": r["quantity_on_order"],
                "reorder_level": r["reorder_level"],
                "order_up_to_level": r["order_up_to_level"],
                "lead_time": r["lead_time"],
                "last_cost": r["last_cost"],
                "average_cost": r["average_cost"],
                **derived(r["quantity_on_hand"], r["quantity_allocated"], r["average_cost"], r["reorder_level"]),
            }
        )
    return rows


TABLE = RowTable(
    InventoryRow,
    mirror=Inventory,
    submissions=None,
    link="inventory",
    fields=ROW_FIELDS,
    searched=SEARCHED,
    mirror_fields=INVENTORY_VALUES,
    mirrored_rows=_inventory_rows,
)
row_values = TABLE.row_values
vanished = TABLE.vanished


def refresh(organization_id: int, inventory_ids: Sequence[int]) -> None:
    """Recompute the list rows of these mirrored inventory records of one organization (in batches)."""
    ids = list(dict.fromkeys(inventory_ids))
    for start in range(0, len(ids), BATCH):
        TABLE.refresh(organization_id, object_ids=ids[start : start + BATCH])


def rebuild(organization_id: int) -> int:
    """Every row of one organization from the mirror (after a migration, or to repair). Returns the row count."""
    return TABLE.rebuild(organization_id, batch=BATCH)


def _of_items(organization_id: int, item_upstream_ids: Iterable[int]) -> list[int]:
    """The mirrored inventory records (present or not: a vanished one's row goes) of these items."""
    ids = [i for i in item_upstream_ids if i is not None]
    if not ids:
        return []
    return list(Inventory.objects.filter(organization_id=organization_id, item_id__in=ids).values_list("pk", flat=True))


# -- the sync's listeners (inventory.hooks) ---------------------------------------------------------


def on_inventory_page(organization, client, changed, run) -> None:
    """A sync page (or one applied payload) changed these inventory records: their rows follow."""
    if changed:
        refresh(organization.pk, [pk for pk, _upstream_id, _raw in changed])


def on_inventory_vanish(organization, run) -> None:
    """After a complete pass: the rows of records gone upstream go."""
    vanished(organization.pk)


def on_item_page(organization, client, changed, run) -> None:
    """Items changed (name, SKU, flags, archived): the rows of their inventory records follow."""
    if changed:
        refresh(organization.pk, _of_items(organization.pk, [upstream_id for _pk, upstream_id, _raw in changed]))


def on_item_vanish(organization, run) -> None:
    """Items gone upstream: their rows lose the item's fields."""
    ids = InventoryRow.objects.filter(organization=organization, item__vanished_at__isnull=False).values_list(
        "inventory_id", flat=True
    )
    refresh(organization.pk, list(ids))


def on_catalog_page(organization, client, changed, run) -> None:
    """Catalog entries changed: the rows of their items' records, and the rows that showed them before."""
    if not changed:
        return
    pks = [pk for pk, _upstream_id, _raw in changed]
    items = CatalogItem.objects.filter(organization=organization, pk__in=pks).values_list("item_id", flat=True)
    before = InventoryRow.objects.filter(organization=organization, catalog_item_id__in=pks).values_list(
        "inventory_id", flat=True
    )
    refresh(organization.pk, [*_of_items(organization.pk, set(items)), *before])


def on_catalog_vanish(organization, run) -> None:
    """Catalog entries gone upstream: their rows take the item's next entry, or none."""
    ids = InventoryRow.objects.filter(organization=organization, catalog_item__vanished_at__isnull=False).values_list(
        "inventory_id", flat=True
    )
    refresh(organization.pk, list(ids))
