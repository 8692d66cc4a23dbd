from django.contrib import admin, messages

from portal.admin import ReadOnlyAdmin

from . import services
from .models import WebhookDelivery


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(ReadOnlyAdmin):
    deletable = False  # the upstream's word on an order, kept as received
    list_display = [
        "id",
        "organization",
        "received_at",
        "order_upstream_id",
        "order_status",
        "order_updated_at",
        "status",
        "outcome",
        "attempts",
    ]
    list_filter = ["status", "outcome", "order_status", "organization", "received_at"]
    search_fields = ["=order_upstream_id", "error", "body"]
    list_select_related = ["organization"]
    actions = ["reprocess_failed"]
    date_hierarchy = "received_at"

    @admin.action(description="Reprocess the selected failed deliveries", permissions=["operate"])
    def reprocess_failed(self, request, queryset):
        n = services.reprocess(queryset)
        self.message_user(request, f"{n} failed deliveries queued again.", messages.SUCCESS)
