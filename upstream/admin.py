from django.contrib import admin

from portal.admin import ReadOnlyAdmin

from .models import UpstreamCall


@admin.register(UpstreamCall)
class UpstreamCallAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "organization", "method", "path", "status", "duration_ms", "attempt", "error"]
    list_filter = ["method", "status", "organization", "created_at"]
    search_fields = ["path", "error", "idempotency_key", "organization__name", "organization__slug"]
    date_hierarchy = "created_at"
    readonly_fields = [f.name for f in UpstreamCall._meta.fields]
    list_select_related = ["organization"]
