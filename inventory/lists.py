"""The inventory list: every present inventory record with its item and catalog entry, filtered,
sorted, exported.

The orders list's pattern (portal.lists) over one table (`InventoryRow`, kept by
`inventory.rows`): every sortable column has (organization, column, id); the "below reorder
level" tab reads (organization, is_below_reorder, item_name, id); the location filter offers the
organization's locations from the location index; the item filter is an exact name (suggested as
it is typed, an equality on the item-name index); the flag filters' rare sides have partial
indexes; the SKU filter and search read `search_text` (a trigram index on PostgreSQL) and then
check the columns they are about.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import ROUND_HALF_UP, Decimal
from functools import cached_property
from typing import Any

import django_filters as df
from django.db.models import CharField, F, Func, Q, QuerySet
from django.urls import reverse

from portal.lists import (
    Column,
    ContainsText,
    ExactFilter,
    OrgListView,
    SearchFilter,
    SubstringFilter,
    Tab,
    as_is,
    distinct_values,
)

from .models import InventoryRow

YES_NO = (("1", "Yes"), ("0", "No"))
QUANTITIES = frozenset(
    {
        "quantity_on_hand",
        "quantity_allocated",
        "quantity_available",
        "quantity_on_order",
        "reorder_level",
        "order_up_to_level",
    }
)
MONEY = frozenset({"price", "last_cost", "average_cost", "value"})
FLAGS = frozenset({"stocked", "serialized", "archived"})
BELOW = "Below reorder level"
CENT = Decimal("0.01")
PLACEHOLDER = 987_654_321_987  # an id no URL prefix holds: replaced by each row's own


def location_label(location_id: int | None) -> str:
    """The upstream names a location by its id only."""
    return "" if location_id is None else f"Location {location_id}"


def quantity_text(value: Decimal | None, grouped: bool = True) -> str | None:
    """A quantity as people write it: no trailing zeros (12, 12.5), digits grouped on the page."""
    if value is None:
        return None
    if not value:
        return "0"
    return format(value.normalize(), ",f" if grouped else "f")


def money_text(value: Decimal | None, grouped: bool = True) -> str | None:
    """An amount with two decimals (1,234.50), a half cent rounded up (as PostgreSQL rounds)."""
    if value is None:
        return None
    return format(value.quantize(CENT, rounding=ROUND_HALF_UP), ",f" if grouped else "f")


class DecimalText(Func):
    """A decimal column as the export's text, made by the database (no Decimal object per cell): without
    trailing zeros (`places` None), or with `places` decimals, as quantity_text and money_text write it."""

    output_field = CharField()

    def __init__(self, column: str, places: int | None = None) -> None:
        super().__init__(F(column))
        self.places = places

    def as_postgresql(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        if self.places is None:
            template = "trim_scale(%(expressions)s)::text"
        else:
            template = f"round(%(expressions)s, {int(self.places)})::text"
        return self.as_sql(compiler, connection, template=template, **extra)

    def as_sqlite(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        # SQLite keeps a decimal as an integer or a float (12, 12.5): its text has no trailing zeros.
        if self.places is None:
            template = "CAST(%(expressions)s AS TEXT)"
        else:
            rounded = f"printf('%%.{int(self.places)}f', %(expressions)s)"
            template = f"(CASE WHEN %(expressions)s IS NULL THEN NULL ELSE {rounded} END)"
        return self.as_sql(compiler, connection, template=template, **extra)


class LocationText(Func):
    """A location's name ("Location 7"), made by the database for the export; empty for none."""

    output_field = CharField()
    template = "('Location ' || %(expressions)s)"

    def __init__(self, column: str) -> None:
        super().__init__(F(column))


def flag_text(value: bool | None) -> str:
    return "" if value is None else ("Yes" if value else "No")


class SkuFilter(SubstringFilter):
    """The customer SKU or the manufacturer SKU contains the text (found through the search text first)."""

    def filter(self, qs: QuerySet, value: str) -> QuerySet:
        value = (value or "").strip()
        if not value:
            return qs
        return qs.filter(search_text__contains=value.casefold()).filter(
            ContainsText("customer_sku", value) | ContainsText("manufacturer_sku", value)
        )


def _flag(label: str) -> df.ChoiceFilter:
    return df.ChoiceFilter(label=label, choices=YES_NO, empty_label="Any")


class InventoryFilter(df.FilterSet):
    q = SearchFilter(label="Search", number_label="an inventory id")
    location = df.ChoiceFilter(field_name="location_id", label="Location", choices=[], empty_label="Any")
    # An exact name, suggested from the mirrored items as it is typed: one range of the item-name index,
    # where a substring costs a trigram bitmap of every row holding its words (78 ms at a million rows).
    item = ExactFilter(field_name="item_name", label="Item", suggest="suggest_items")
    sku = SkuFilter(field_name="customer_sku", label="SKU")
    stocked = _flag("Stocked")
    serialized = _flag("Serialized")
    archived = _flag("Archived")

    class Meta:
        model = InventoryRow
        fields: list[str] = []

    def __init__(self, *args, request=None, **kwargs):
        super().__init__(*args, request=request, **kwargs)
        organization = getattr(request, "organization", None)
        known = distinct_values(InventoryRow, organization.pk, "location_id") if organization is not None else []
        self.filters["location"].extra["choices"] = [(str(value), location_label(value)) for value in known]


class InventoryListView(OrgListView):
    model = InventoryRow
    filterset_class = InventoryFilter
    export_filename = "inventory"
    list_key = "inventory"
    title = "Inventory"
    default_sort = "item_name"
    columns = (
        Column("item_name", "Item", sortable=True, kind="link", required=True),
        Column("item_description", "Description", default=False),
        Column("manufacturer_sku", "Manufacturer SKU", sortable=True),
        Column("customer_sku", "Customer SKU", sortable=True),
        Column("price", "Price", numeric=True),
        Column("location_id", "Location", sortable=True),
        Column("quantity_on_hand", "On hand", sortable=True, numeric=True),
        Column("quantity_allocated", "Allocated", numeric=True),
        Column("quantity_available", "Available", sortable=True, numeric=True),
        Column("quantity_on_order", "On order", numeric=True),
        Column("reorder_level", "Reorder level", numeric=True),
        Column("order_up_to_level", "Order-up-to level", numeric=True, default=False),
        Column("lead_time", "Lead time (days)", numeric=True, default=False),
        Column("last_cost", "Last cost", numeric=True, default=False),
        Column("average_cost", "Average cost", numeric=True, default=False),
        Column("value", "Value", sortable=True, numeric=True),
        Column("stocked", "Stocked", default=False),
        Column("serialized", "Serialized", default=False),
        Column("archived", "Archived", default=False),
    )
    tabs = (
        Tab("", "All"),
        Tab("below", BELOW, Q(is_below_reorder=True)),
    )

    def row_fields(self) -> tuple[str, ...]:
        return ("item_id", "item_upstream_id", "is_below_reorder")

    @cached_property
    def item_url(self) -> str:
        """The item page's URL with a placeholder id: one reverse() per page, not one per row."""
        return reverse("inventory:item", args=[PLACEHOLDER])

    def row_url(self, row: dict[str, Any]) -> str:
        return self.item_url.replace(str(PLACEHOLDER), str(row["item_id"])) if row["item_id"] else ""

    def row_mark(self, row: dict[str, Any]) -> tuple[str, str]:
        return ("warn", BELOW) if row["is_below_reorder"] else ("", "")

    def cell(self, column: Column, row: dict[str, Any]) -> dict[str, Any]:
        cell = super().cell(column, row)
        name, value = column.name, cell["value"]
        if name in QUANTITIES:
            cell["value"] = quantity_text(value)
        elif name in MONEY:
            cell["value"] = money_text(value)
        elif name in FLAGS:
            cell["value"] = flag_text(value)
        elif name == "location_id":
            cell["value"] = location_label(value)
        elif name == "item_name" and not value:
            # An item the mirror has not got (yet): its id, and no page to link to.
            cell["value"] = f"Item {row['item_upstream_id']}" if row["item_upstream_id"] else ""
        return cell

    def export_expression(self, column: Column) -> Any:
        if column.name in QUANTITIES:
            return DecimalText(column.name)
        if column.name in MONEY:
            return DecimalText(column.name, places=2)
        if column.name == "location_id":
            return LocationText(column.name)
        return super().export_expression(column)

    def export_converter(self, column: Column) -> Callable[[Any], Any]:
        name = column.name
        if name in QUANTITIES or name in MONEY or name == "location_id":
            return as_is  # text the database wrote: a number ("-1.5" is no formula) or "Location 7"
        if name in FLAGS:
            return lambda value: flag_text(value).lower()
        return super().export_converter(column)

    def get_context_data(self, **context: Any) -> dict[str, Any]:
        context["table_id"] = "inventory-table"
        context["empty_text"] = "No inventory matches."
        return context
