from django.contrib import admin

from outbox.admin_bases import NotificationAdmin, SubmissionAdmin
from portal.admin import ReadOnlyAdmin

from .models import RmaNotification, RmaRow, RmaSubmission


@admin.register(RmaSubmission)
class RmaSubmissionAdmin(SubmissionAdmin):
    noun = "RMA requests"
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


@admin.register(RmaNotification)
class RmaNotificationAdmin(NotificationAdmin):
    search_fields = ["submission__manufacturer_serial", "email"]


@admin.register(RmaRow)
class RmaRowAdmin(ReadOnlyAdmin):
    """The RMA lists as staff see them (a table kept by rmas.rows)."""

    deletable = False
    list_display = ["manufacturer_serial", "subject", "status", "upstream_id", "organization", "start_date"]
    list_filter = ["is_open", "organization"]
    search_fields = ["manufacturer_serial", "subject", "=upstream_id"]
