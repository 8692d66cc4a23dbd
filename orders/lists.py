"""The orders list: mirror orders and not-yet-mirrored submissions, filtered, sorted, exported.

It reads one table (`OrderRow`, kept by `orders.rows`) through its indexes: every sortable
column has (organization, column, id); substring filters and search read `search_text`
(a trigram index on PostgreSQL) and then check the one column they are about.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import django_filters as df
from django.db.models import Q

from accounts.scoping import scoped
from mirror.models import ShipMethod
from outbox.models import Delivery
from portal.lists import Column, OrgListView, SearchFilter, SubstringFilter, Tab, date_range, export_cell
from upstream.records import OrderStatus

from .models import ROW_STATUSES, OrderRow, row_url

TONES = {
    OrderStatus.RELEASED: "ok",
    OrderStatus.SHIPPED: "ok",
    Delivery.Status.RETRYING: "warn",
    Delivery.Status.REJECTED: "bad",
    Delivery.Status.FAILED: "bad",
}
LABELS = dict(ROW_STATUSES)
NEEDS_ATTENTION = (Delivery.Status.REJECTED, Delivery.Status.FAILED, Delivery.Status.RETRYING)


class OrderFilter(df.FilterSet):
    q = SearchFilter(label="Search", number_label="an upstream order id")
    status = df.MultipleChoiceFilter(choices=ROW_STATUSES, label="Status", distinct=False)  # one row per order
    created_after, created_before = date_range("created_at", "Created")
    purchase_order = SubstringFilter(label="Purchase order")
    customer_order = SubstringFilter(label="Customer order")
    ship_method = df.ChoiceFilter(field_name="ship_method_id", label="Ship method", choices=[])
    tracking_number = SubstringFilter(field_name="tracking_numbers", label="Tracking number")
    product_code = SubstringFilter(field_name="product_codes", label="Product code")

    class Meta:
        model = OrderRow
        fields: list[str] = []

    def __init__(self, *args, request=None, **kwargs):
        super().__init__(*args, request=request, **kwargs)
        self.filters["ship_method"].extra["choices"] = [
            (str(upstream_id), name)
            for upstream_id, name in scoped(request, ShipMethod)
            .present()
            .order_by("name")
            .values_list("upstream_id", "name")
        ]
        self.form.fields["status"].widget.attrs["size"] = 4


class OrderListView(OrgListView):
    model = OrderRow
    filterset_class = OrderFilter
    template_name = "orders/list.html"
    export_filename = "orders"
    list_key = "orders"
    title = "Orders"
    default_sort = "-created_at"
    columns = (
        Column("customer_order", "Customer order", sortable=True, kind="link", required=True),
        Column("purchase_order", "Purchase order", sortable=True),
        Column("status", "Status", sortable=True, kind="status"),
        Column("upstream_id", "Upstream id", numeric=True),
        Column("ship_method", "Ship method", sortable=True),
        Column("recipient_name", "Recipient", sortable=True),
        Column("recipient_country", "Country", sortable=True),
        Column("created_at", "Created", sortable=True, kind="datetime"),
        Column("updated_at", "Updated", sortable=True, kind="datetime"),
    )
    tabs = (
        Tab("", "All"),
        Tab("pending", OrderStatus.PENDING.label, Q(status=OrderStatus.PENDING)),
        Tab("released", OrderStatus.RELEASED.label, Q(status=OrderStatus.RELEASED)),
        Tab("shipped", OrderStatus.SHIPPED.label, Q(status=OrderStatus.SHIPPED)),
        Tab("attention", "Needs attention", Q(status__in=NEEDS_ATTENTION)),
    )

    def row_fields(self) -> tuple[str, ...]:
        return ("order_id", "submission_id", "status")

    def row_url(self, row: dict[str, Any]) -> str:
        return row_url(row["order_id"], row["submission_id"])

    def cell(self, column: Column, row: dict[str, Any]) -> dict[str, Any]:
        cell = super().cell(column, row)
        if column.kind == "status":
            cell["label"] = LABELS.get(row["status"], row["status"])
            cell["tone"] = TONES.get(row["status"], "")
        return cell

    def export_converter(self, column: Column) -> Callable[[Any], Any]:
        if column.name == "status":
            return lambda value: export_cell(LABELS.get(value, value))
        return super().export_converter(column)

    def get_context_data(self, **context: Any) -> dict[str, Any]:
        context["can_buy"] = self.request.membership.has_role("buyer")  # type: ignore[attr-defined]
        context["table_id"] = "orders-table"
        context["empty_text"] = "No orders match."
        return context
