"""An item as its page shows it: its stock across locations, its catalog entries, its recent
orders and RMAs, all read from the mirror and the inventory list's table."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from functools import cached_property
from typing import Any
from urllib.parse import urlencode

from django.db.models import Count, Q, Sum
from django.urls import reverse

from accounts.scoping import scoped
from mirror.models import CatalogItem, Item, Order, OrderLine, Rma

from .lists import location_label
from .models import InventoryRow

RECENT = 20  # orders and RMAs shown on an item's page (the lists hold the rest)
LOCATIONS = 200  # locations shown (an organization has a handful)


@dataclass(frozen=True)
class Stock:
    location_id: int | None
    records: int
    on_hand: Decimal | None
    allocated: Decimal | None
    available: Decimal | None
    on_order: Decimal | None
    value: Decimal | None
    below: int

    @property
    def location(self) -> str:
        return location_label(self.location_id) or "No location"


@dataclass(frozen=True)
class ItemOrder:
    order: Order
    quantity: int | None
    codes: str


class ItemPage:
    def __init__(self, request: Any, item: Item) -> None:
        self.request = request
        self.item = item

    # -- catalog ------------------------------------------------------------------------------------
    @cached_property
    def catalog(self) -> list[CatalogItem]:
        """The organization's catalog entries for this item (usually one), lowest upstream id first."""
        return list(
            scoped(self.request, CatalogItem).present().filter(item_id=self.item.upstream_id).order_by("upstream_id")
        )

    @cached_property
    def product_codes(self) -> list[str]:
        """What an order line names this item by: a customer SKU of its catalog, or its manufacturer SKU."""
        codes = [c.customer_sku for c in self.catalog] + [self.item.manufacturer_sku]
        return list(dict.fromkeys(code for code in codes if code))

    # -- stock --------------------------------------------------------------------------------------
    @cached_property
    def _rows(self):
        return scoped(self.request, InventoryRow).filter(item=self.item)

    @cached_property
    def stock(self) -> list[Stock]:
        """One line per location: its records summed (one grouped query over the item's rows)."""
        sums = (
            self._rows.order_by("location_id")
            .values("location_id")
            .annotate(
                records=Count("id"),
                on_hand=Sum("quantity_on_hand"),
                allocated=Sum("quantity_allocated"),
                available=Sum("quantity_available"),
                on_order=Sum("quantity_on_order"),
                value=Sum("value"),
                below=Count("id", filter=Q(is_below_reorder=True)),
            )[:LOCATIONS]
        )
        return [Stock(**s) for s in sums]

    @cached_property
    def total(self) -> Stock | None:
        if len(self.stock) < 2:
            return None

        def add(name: str) -> Decimal | None:
            values = [getattr(s, name) for s in self.stock if getattr(s, name) is not None]
            return sum(values, Decimal(0)) if values else None

        return Stock(
            None,
            sum(s.records for s in self.stock),
            add("on_hand"),
            add("allocated"),
            add("available"),
            add("on_order"),
            add("value"),
            sum(s.below for s in self.stock),
        )

    @property
    def inventory_url(self) -> str:
        return reverse("inventory:list") + "?" + urlencode({"item": self.item.name}) if self.item.name else ""

    # -- orders -------------------------------------------------------------------------------------
    @cached_property
    def orders(self) -> list[ItemOrder]:
        """The most recent mirrored orders with a line of this item, with the quantity ordered on them."""
        if not self.product_codes:
            return []
        lines = OrderLine.objects.filter(product_code__in=self.product_codes)
        orders = list(
            scoped(self.request, Order)
            .present()
            .filter(pk__in=lines.values("order_id"))
            .order_by("-created_upstream_at", "-upstream_id")[: RECENT + 1]
        )
        self.more_orders = len(orders) > RECENT
        orders = orders[:RECENT]
        quantities: dict[int, int] = {}
        codes: dict[int, list[str]] = {}
        for order_id, code, quantity in lines.filter(order_id__in=[o.pk for o in orders]).values_list(
            "order_id", "product_code", "quantity"
        ):
            quantities[order_id] = quantities.get(order_id, 0) + (quantity or 0)
            if code not in codes.setdefault(order_id, []):
                codes[order_id].append(code)
        return [ItemOrder(o, quantities.get(o.pk), ", ".join(codes.get(o.pk, []))) for o in orders]

    more_orders = False

    @property
    def order_links(self) -> list[tuple[str, str]]:
        """(product code, the orders list filtered by it)."""
        base = reverse("orders:list")
        return [(code, f"{base}?{urlencode({'product_code': code})}") for code in self.product_codes]

    # -- RMAs ---------------------------------------------------------------------------------------
    @cached_property
    def rmas(self) -> list[Rma]:
        """The most recent mirrored RMAs of this item."""
        rmas = list(
            scoped(self.request, Rma)
            .present()
            .filter(item_id=self.item.upstream_id)
            .order_by("-start_date", "-upstream_id")[: RECENT + 1]
        )
        self.more_rmas = len(rmas) > RECENT
        return rmas[:RECENT]

    more_rmas = False

    @property
    def rmas_url(self) -> str:
        """The RMA list filtered by this item, by the name the RMAs give it (the upstream's RMA rows
        name an item themselves)."""
        name = next((r.item_name for r in self.rmas if r.item_name), "") or self.item.name
        return reverse("rmas:list") + "?" + urlencode({"item": name}) if name else ""
