"""Admin pieces every feature's submissions and notifications share (orders, RMAs)."""

from __future__ import annotations

from django.contrib import admin

from portal.admin import ReadOnlyAdmin

from . import services


class SubmissionAdmin(ReadOnlyAdmin):
    """What members submitted. Read-only: a hand edit would differ from what was sent upstream;
    members correct a refused submission through the portal, which sends it again."""

    deletable = False
    actions = ["retry_now"]
    noun = "submissions"

    @admin.action(description="Send the selected open submissions again now", permissions=["operate"])
    def retry_now(self, request, queryset):
        n = 0
        for submission in queryset.select_related("delivery"):
            if submission.delivery and submission.delivery.is_open:
                services.retry_now(submission.delivery)
                n += 1
        self.message_user(request, f"{n} {self.noun} will be sent again now.")


class NotificationAdmin(ReadOnlyAdmin):
    deletable = False
    list_display = ["submission", "status", "email", "created_at", "sent_at", "error"]
    list_filter = ["status", "organization", ("sent_at", admin.EmptyFieldListFilter)]
