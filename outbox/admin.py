from django.contrib import admin, messages

from . import service
from .models import Delivery, DeliveryAttempt


class DeliveryAttemptInline(admin.TabularInline):
    model = DeliveryAttempt
    extra = 0
    can_delete = False
    readonly_fields = ["number", "started_at", "duration_ms", "status_code", "outcome", "error"]

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Delivery)
class DeliveryAdmin(admin.ModelAdmin):
    list_display = ["id", "organization", "kind", "status", "attempts", "last_status_code", "next_attempt_at",
                    "upstream_id", "created_at"]
    list_filter = ["status", "kind", "organization"]
    search_fields = ["idempotency_key", "path", "body", "last_error", "=upstream_id"]
    date_hierarchy = "created_at"
    readonly_fields = [f.name for f in Delivery._meta.fields]
    inlines = [DeliveryAttemptInline]
    actions = ["retry_now"]

    def has_add_permission(self, request):
        return False

    @admin.action(description="Send selected open deliveries now")
    def retry_now(self, request, queryset):
        count = 0
        for delivery in queryset:
            if delivery.is_open:
                service.retry_now(delivery)
                count += 1
        self.message_user(request, f"{count} deliveries queued to send now.", messages.SUCCESS)


@admin.register(DeliveryAttempt)
class DeliveryAttemptAdmin(admin.ModelAdmin):
    list_display = ["delivery", "number", "outcome", "status_code", "duration_ms", "started_at"]
    list_filter = ["outcome", "status_code"]
    search_fields = ["error", "=delivery__id", "delivery__idempotency_key"]
    readonly_fields = [f.name for f in DeliveryAttempt._meta.fields]

    def has_add_permission(self, request):
        return False
