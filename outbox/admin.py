from django.contrib import admin, messages

from portal.admin import ReadOnlyAdmin, ReadOnlyInline

from . import services
from .models import Delivery, DeliveryAttempt


class DeliveryAttemptInline(ReadOnlyInline):
    model = DeliveryAttempt
    fields = ["number", "started_at", "duration_ms", "status_code", "outcome", "error"]


@admin.register(Delivery)
class DeliveryAdmin(ReadOnlyAdmin):
    deletable = False  # an undelivered write would be lost
    list_display = [
        "id",
        "organization",
        "kind",
        "status",
        "attempts",
        "last_status_code",
        "next_attempt_at",
        "upstream_id",
        "created_at",
    ]
    list_filter = ["status", "kind", "organization"]
    search_fields = ["idempotency_key", "path", "body", "last_error", "=upstream_id"]
    date_hierarchy = "created_at"
    inlines = [DeliveryAttemptInline]
    actions = ["retry_now"]

    @admin.action(description="Send selected open deliveries now", permissions=["operate"])
    def retry_now(self, request, queryset):
        count = 0
        for delivery in queryset:
            if delivery.is_open:
                services.retry_now(delivery)
                count += 1
        self.message_user(request, f"{count} deliveries queued to send now.", messages.SUCCESS)


@admin.register(DeliveryAttempt)
class DeliveryAttemptAdmin(ReadOnlyAdmin):
    deletable = False
    list_display = ["delivery", "number", "outcome", "status_code", "duration_ms", "started_at"]
    list_filter = ["outcome", "status_code"]
    search_fields = ["error", "=delivery__id", "delivery__idempotency_key"]
