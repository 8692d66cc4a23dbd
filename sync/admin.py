from django.contrib import admin

from portal.admin import ReadOnlyAdmin

from .models import SyncRun


@admin.register(SyncRun)
class SyncRunAdmin(ReadOnlyAdmin):
    list_display = [
        "created_at",
        "organization",
        "resource",
        "trigger",
        "status",
        "pages",
        "rows_fetched",
        "created",
        "updated",
        "unchanged",
        "vanished",
        "duration",
        "short_error",
    ]
    list_filter = ["status", "resource", "trigger", "organization"]
    search_fields = ["resource", "error", "organization__name", "organization__slug"]
    date_hierarchy = "created_at"
    readonly_fields = [f.name for f in SyncRun._meta.fields]
    list_select_related = ["organization"]

    @admin.display(description="error")
    def short_error(self, obj):
        return obj.error[:80]
