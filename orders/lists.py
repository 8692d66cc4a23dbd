"""The orders list: mirror orders and not-yet-mirrored submissions, filtered, sorted, exported."""

from __future__ import annotations

import django_filters as df
import django_tables2 as tables
from django.db.models import Exists, OuterRef, Q
from django.utils.html import format_html

from accounts.scoping import scoped
from mirror.models import OrderLine, OrderTrackingNumber, ShipMethod
from outbox.models import Delivery
from portal.lists import OrgListView
from upstream.records import OrderStatus

from .models import ROW_STATUSES, OrderRow, OrderSubmissionLine

TONES = {
    OrderStatus.RELEASED: "ok",
    OrderStatus.SHIPPED: "ok",
    Delivery.Status.RETRYING: "warn",
    Delivery.Status.REJECTED: "bad",
    Delivery.Status.FAILED: "bad",
}


def _tracking(value):
    return Exists(OrderTrackingNumber.objects.filter(order_id=OuterRef("order_id"), tracking_number__icontains=value))


def _product(value, exact=False):
    lookup = "product_code__iexact" if exact else "product_code__icontains"
    # A mirrored order's lines are the upstream's; a local row's are its submission's.
    return Exists(OrderLine.objects.filter(order_id=OuterRef("order_id"), **{lookup: value})) | (
        Q(order_id__isnull=True)
        & Exists(OrderSubmissionLine.objects.filter(submission_id=OuterRef("submission_id"), **{lookup: value}))
    )


class OrderFilter(df.FilterSet):
    q = df.CharFilter(label="Search", method="search")
    status = df.MultipleChoiceFilter(choices=ROW_STATUSES, label="Status")
    created_after = df.DateFilter(
        field_name="created_at",
        lookup_expr="date__gte",
        label="Created from",
        widget=df.widgets.forms.DateInput(attrs={"type": "date"}),
    )
    created_before = df.DateFilter(
        field_name="created_at",
        lookup_expr="date__lte",
        label="Created to",
        widget=df.widgets.forms.DateInput(attrs={"type": "date"}),
    )
    purchase_order = df.CharFilter(lookup_expr="icontains", label="Purchase order")
    customer_order = df.CharFilter(lookup_expr="icontains", label="Customer order")
    ship_method = df.ChoiceFilter(field_name="ship_method_id", label="Ship method", choices=[])
    tracking_number = df.CharFilter(label="Tracking number", method="by_tracking")
    product_code = df.CharFilter(label="Product code", method="by_product")

    class Meta:
        model = OrderRow
        fields: list[str] = []

    def __init__(self, *args, request=None, **kwargs):
        super().__init__(*args, request=request, **kwargs)
        self.filters["ship_method"].extra["choices"] = [
            (str(m.upstream_id), m.name) for m in scoped(request, ShipMethod).order_by("name")
        ]
        self.form.fields["status"].widget.attrs["size"] = 4

    def search(self, queryset, name, value):
        value = value.strip()
        if not value:
            return queryset
        q = (
            Q(customer_order__icontains=value)
            | Q(purchase_order__icontains=value)
            | Q(recipient_name__icontains=value)
            | Q(ship_method__icontains=value)
            | Q(status__iexact=value)
            | _tracking(value)
            | _product(value)
        )
        if value.isdigit():
            q |= Q(upstream_id=int(value))
        return queryset.filter(q)

    def by_tracking(self, queryset, name, value):
        return queryset.filter(_tracking(value.strip())) if value.strip() else queryset

    def by_product(self, queryset, name, value):
        return queryset.filter(_product(value.strip())) if value.strip() else queryset


class StatusColumn(tables.Column):
    def render(self, value, record):
        return format_html('<span class="badge {}">{}</span>', TONES.get(record.status, ""), value)


class OrderTable(tables.Table):
    customer_order = tables.Column(verbose_name="Customer order", linkify=lambda record: record.url)
    purchase_order = tables.Column(verbose_name="Purchase order")
    status = StatusColumn(accessor="status_label", order_by=("status",), verbose_name="Status")
    upstream_id = tables.Column(verbose_name="Upstream id")
    ship_method = tables.Column(verbose_name="Ship method")
    recipient_name = tables.Column(verbose_name="Recipient")
    recipient_country = tables.Column(verbose_name="Country")
    created_at = tables.DateTimeColumn(verbose_name="Created", format="Y-m-d H:i")
    updated_at = tables.DateTimeColumn(verbose_name="Updated", format="Y-m-d H:i")

    class Meta:
        model = OrderRow
        fields = [
            "customer_order",
            "purchase_order",
            "status",
            "upstream_id",
            "ship_method",
            "recipient_name",
            "recipient_country",
            "created_at",
            "updated_at",
        ]
        attrs = {"class": "table", "id": "orders-table"}
        order_by = "-created_at"
        empty_text = "No orders match."


class OrderListView(OrgListView):
    model = OrderRow
    filterset_class = OrderFilter
    table_class = OrderTable
    template_name = "orders/list.html"
    export_filename = "orders"
    title = "Orders"

    def get_filterset_kwargs(self, filterset_class):
        kwargs = super().get_filterset_kwargs(filterset_class)
        kwargs["request"] = self.request
        return kwargs

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["can_buy"] = self.request.membership.has_role("buyer")
        return context
