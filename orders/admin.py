from django.contrib import admin

from outbox.admin_bases import NotificationAdmin, SubmissionAdmin
from portal.admin import ReadOnlyAdmin, ReadOnlyInline

from .models import OrderEvent, OrderNotification, OrderRow, OrderSubmission, OrderSubmissionLine


class LineInline(ReadOnlyInline):
    model = OrderSubmissionLine


@admin.register(OrderSubmission)
class OrderSubmissionAdmin(SubmissionAdmin):
    noun = "orders"
    list_display = [
        "customer_order",
        "purchase_order",
        "organization",
        "upstream_id",
        "upstream_status",
        "delivery",
        "created_by",
        "created_at",
    ]
    list_filter = ["organization", "upstream_status", "delivery__status", "created_at"]
    search_fields = ["customer_order", "purchase_order", "=upstream_id", "recipient_name", "recipient_company"]
    list_select_related = ["organization", "delivery", "created_by"]
    inlines = [LineInline]


@admin.register(OrderSubmissionLine)
class OrderSubmissionLineAdmin(ReadOnlyAdmin):
    deletable = False
    list_display = ["submission", "position", "product_code", "quantity", "customs_declared_value"]
    list_filter = ["submission__organization"]
    search_fields = ["product_code", "submission__customer_order"]


@admin.register(OrderEvent)
class OrderEventAdmin(ReadOnlyAdmin):
    deletable = False
    list_display = ["upstream_id", "status", "upstream_updated_at", "source", "organization", "recorded_at"]
    list_filter = ["status", "source", "organization"]
    search_fields = ["=upstream_id"]


@admin.register(OrderNotification)
class OrderNotificationAdmin(NotificationAdmin):
    search_fields = ["submission__customer_order", "email"]


@admin.register(OrderRow)
class OrderRowAdmin(ReadOnlyAdmin):
    """The orders list as staff see it (a database view)."""

    deletable = False
    list_display = ["customer_order", "purchase_order", "status", "upstream_id", "organization", "created_at"]
    list_filter = ["status", "organization"]
    search_fields = ["customer_order", "purchase_order", "recipient_name"]
