"""The inventory list's table: one row per present inventory record, with its item and catalog entry.

An `InventoryRow` joins a mirrored inventory record with its item (name, description, SKU,
flags) and the organization's catalog entry for that item (customer SKU, price), and derives
what the list shows and filters on (available, value, below the reorder level). It is kept by
`inventory.rows` in the transaction of every sync page of inventories, items and catalog items
(the orders list's pattern: portal.lists over portal.rowtables), so every filter, sort and page
is one indexed query over this one table.
"""

from __future__ import annotations

from django.db import models

from upstream import limits

# The inventory list sorts by these columns (each has its index on (organization, column, id)).
ROW_SORTS = (
    "item_name",
    "manufacturer_sku",
    "customer_sku",
    "location_id",
    "quantity_on_hand",
    "quantity_available",
    "value",
)


# The rare side of each flag filter: each has a partial index (see InventoryRow.Meta).
FLAG_SIDES = (
    ("unstocked", models.Q(stocked=False)),
    ("unserialized", models.Q(serialized=False)),
    ("archived", models.Q(archived=True)),
)


def _stock(verbose_name: str, digits: int = limits.STOCK_DIGITS) -> models.DecimalField:
    return models.DecimalField(
        verbose_name, max_digits=digits, decimal_places=limits.STOCK_PLACES, null=True, blank=True
    )


def _sorted_by(*columns: str) -> list[models.Index]:
    """One index per sortable column: (organization, column, id) serves its sort both ways and its keyset.
    The location's also serves the location filter (an equality), with the tab's flag in it so that the
    tab counts of one location read the index alone (PostgreSQL's INCLUDE; a plain index elsewhere)."""
    return [
        models.Index(
            fields=["organization", c, "id"],
            name=f"inv_row_{c[:20]}",
            include=["is_below_reorder"] if c == "location_id" else [],
        )
        for c in columns
    ]


class InventoryRow(models.Model):
    """One row of the inventory list: a present mirrored inventory record, its item and catalog entry."""

    ORG_LOOKUP = "organization"

    organization = models.ForeignKey(
        "accounts.Organization", on_delete=models.CASCADE, related_name="+", db_index=False
    )
    inventory = models.OneToOneField("mirror.Inventory", on_delete=models.CASCADE, related_name="list_row")
    upstream_id = models.BigIntegerField("inventory id")
    # The item (None until it is mirrored) and the catalog entry the row shows: a change of either
    # finds its rows through these (each has an index of its own).
    item = models.ForeignKey("mirror.Item", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    catalog_item = models.ForeignKey(
        "mirror.CatalogItem", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    item_upstream_id = models.BigIntegerField("item id", null=True, blank=True)
    item_name = models.CharField("item", max_length=510, blank=True)
    item_description = models.CharField("description", max_length=510, blank=True)
    manufacturer_sku = models.CharField("manufacturer SKU", max_length=limits.NAME, blank=True)
    stocked = models.BooleanField(null=True)
    serialized = models.BooleanField(null=True)
    archived = models.BooleanField(default=False)
    customer_sku = models.CharField("customer SKU", max_length=limits.NAME, blank=True)
    price = models.DecimalField(max_digits=14, decimal_places=4, null=True, blank=True)  # as the catalog's
    location_id = models.BigIntegerField("location", null=True, blank=True)
    quantity_on_hand = _stock("on hand")
    quantity_allocated = _stock("allocated")
    quantity_on_order = _stock("on order")
    # on hand - allocated: one digit more than either
    quantity_available = _stock("available", limits.STOCK_DIGITS + 1)
    reorder_level = _stock("reorder level")
    order_up_to_level = _stock("order-up-to level")
    lead_time = models.IntegerField("lead time (days)", null=True, blank=True)
    last_cost = _stock("last cost")
    average_cost = _stock("average cost")
    # on hand x average cost: the digits of both (never out of its column)
    value = _stock("value", 2 * limits.STOCK_DIGITS - limits.STOCK_PLACES)
    is_below_reorder = models.BooleanField("below reorder level", default=False)
    search_text = models.TextField(blank=True, help_text="what a search reads: casefolded, trigram-indexed")

    class Meta:
        ordering = ["item_name", "id"]
        verbose_name = "inventory list row"
        indexes = [
            *_sorted_by(*ROW_SORTS),
            # The "below reorder level" tab (and its count, inventory.tallies) in the default order, with the
            # filters' equality columns: the tab's count under a filter reads the index alone.
            models.Index(
                fields=["organization", "is_below_reorder", "item_name", "id"],
                name="inv_row_below",
                include=["location_id", "stocked", "serialized", "archived"],
            ),
            # The flag filters' rare sides (a few % to a third of the rows) in the default order, with the
            # tab's flag: their pages and capped counts read these small indexes alone (PostgreSQL's INCLUDE).
            *(
                models.Index(
                    fields=["organization", "item_name", "id"],
                    condition=condition,
                    include=["is_below_reorder"],
                    name=f"inv_row_{name}",
                )
                for name, condition in FLAG_SIDES
            ),
            models.Index(fields=["organization", "upstream_id"], name="inv_row_upstream_id"),
        ]

    def __str__(self) -> str:
        return f"{self.item_name or self.item_upstream_id} at location {self.location_id}"
