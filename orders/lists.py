"""The orders list: mirror orders and not-yet-mirrored submissions, filtered, sorted, exported.

It reads one table (`OrderRow`, kept by `orders.rows`) through its indexes: every sortable
column has (organization, column, id); substring filters and search read `search_text`
(a trigram index on PostgreSQL) and then check the one column they are about.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, time
from typing import Any

import django_filters as df
from django import forms
from django.db.models import Q, QuerySet
from django.utils import timezone

from accounts.scoping import scoped
from mirror.models import ShipMethod
from outbox.models import Delivery
from portal.lists import Column, OrgListView, Tab, export_cell
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
MIN_SEARCH = 3  # a trigram index needs three characters; shorter terms would scan every row
MAX_UPSTREAM_ID = 2**63 - 1


def _substring(column: str):
    """A filter method: `column` contains the value, found through the search text's index first."""

    def method(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(search_text__contains=value.casefold(), **{f"{column}__icontains": value})

    return method


class SearchField(forms.CharField):
    def validate(self, value: str) -> None:
        super().validate(value)
        text = (value or "").strip()
        if text and len(text) < MIN_SEARCH and not (text.isascii() and text.isdigit()):
            raise forms.ValidationError(f"Type at least {MIN_SEARCH} characters (or an upstream order id).")


class SearchFilter(df.CharFilter):
    field_class = SearchField


class SubstringFilter(df.CharFilter):
    field_class = SearchField


class OrderFilter(df.FilterSet):
    q = SearchFilter(label="Search", method="search", max_length=200)
    status = df.MultipleChoiceFilter(choices=ROW_STATUSES, label="Status")
    created_after = df.DateFilter(
        label="Created from", method="created_from", widget=forms.DateInput(attrs={"type": "date"})
    )
    created_before = df.DateFilter(
        label="Created to", method="created_to", widget=forms.DateInput(attrs={"type": "date"})
    )
    purchase_order = SubstringFilter(label="Purchase order", method="by_purchase_order", max_length=100)
    customer_order = SubstringFilter(label="Customer order", method="by_customer_order", max_length=100)
    ship_method = df.ChoiceFilter(field_name="ship_method_id", label="Ship method", choices=[])
    tracking_number = SubstringFilter(label="Tracking number", method="by_tracking", max_length=100)
    product_code = SubstringFilter(label="Product code", method="by_product", max_length=100)

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

    def search(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        value = value.strip()
        if not value:
            return queryset
        q = Q(search_text__contains=value.casefold())
        if value.isascii() and value.isdigit() and int(value) <= MAX_UPSTREAM_ID:
            q |= Q(upstream_id=int(value))
        return queryset.filter(q)

    by_purchase_order = _substring("purchase_order")
    by_customer_order = _substring("customer_order")
    by_tracking = _substring("tracking_numbers")
    by_product = _substring("product_codes")

    def created_from(self, queryset: QuerySet, name: str, value) -> QuerySet:
        start = timezone.make_aware(datetime.combine(value, time.min))
        return queryset.filter(created_at__gte=start)

    def created_to(self, queryset: QuerySet, name: str, value) -> QuerySet:
        end = timezone.make_aware(datetime.combine(value, time.max))
        return queryset.filter(created_at__lte=end)


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
