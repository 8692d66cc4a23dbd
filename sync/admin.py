from django.contrib import admin

from .models import SyncRun


@admin.register(SyncRun)
class SyncRunAdmin(admin.ModelAdmin):
    list_display = ["created_at", "organization", "resource", "trigger", "status", "pages", "rows_fetched", "created",
                    "updated", "unchanged", "vanished", "duration", "short_error"]
    list_filter = ["status", "resource", "trigger", "organization"]
    search_fields = ["resource", "error", "organization__name", "organization__slug"]
    date_hierarchy = "created_at"
    readonly_fields = [f.name for f in SyncRun._meta.fields]
    list_select_related = ["organization"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    @admin.display(description="error")
    def short_error(self, obj):
        return obj.error[:80]
