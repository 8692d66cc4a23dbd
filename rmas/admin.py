from django.contrib import admin

from outbox import services as outbox
from portal.admin import ReadOnlyAdmin

from .models import RmaNotification, RmaRow, RmaSubmission


@admin.register(RmaSubmission)
class RmaSubmissionAdmin(ReadOnlyAdmin):
    """What service staff requested. Read-only: a hand edit would differ from what was sent
    upstream; staff correct a refused request through the portal, which sends it again."""

    deletable = False
    list_display = [
        "manufacturer_serial",
        "request_type",
        "organization",
        "upstream_id",
        "upstream_status",
        "delivery",
        "created_by",
        "created_at",
    ]
    list_filter = ["organization", "request_type", "upstream_status", "delivery__status", "created_at"]
    search_fields = ["manufacturer_serial", "=upstream_id", "replacement_name"]
    list_select_related = ["organization", "delivery", "created_by"]
    actions = ["retry_now"]

    @admin.action(description="Send the selected open requests again now", permissions=["operate"])
    def retry_now(self, request, queryset):
        n = 0
        for submission in queryset.select_related("delivery"):
            if submission.delivery and submission.delivery.is_open:
                outbox.retry_now(submission.delivery)
                n += 1
        self.message_user(request, f"{n} RMA requests will be sent again now.")


@admin.register(RmaNotification)
class RmaNotificationAdmin(ReadOnlyAdmin):
    deletable = False
    list_display = ["submission", "status", "email", "created_at", "sent_at", "error"]
    list_filter = ["status", "organization", ("sent_at", admin.EmptyFieldListFilter)]
    search_fields = ["submission__manufacturer_serial", "email"]


@admin.register(RmaRow)
class RmaRowAdmin(ReadOnlyAdmin):
    """The RMA lists as staff see them (a table kept by rmas.rows)."""

    deletable = False
    list_display = ["manufacturer_serial", "subject", "status", "upstream_id", "organization", "start_date"]
    list_filter = ["is_open", "organization"]
    search_fields = ["manufacturer_serial", "subject", "=upstream_id"]
