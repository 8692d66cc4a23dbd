from django.contrib import admin

from portal.admin import ReadOnlyAdmin

from .models import Tally


@admin.register(Tally)
class TallyAdmin(ReadOnlyAdmin):
    """Kept counts of the home dashboard: written by a worker, recomputed when what they count changes."""

    list_display = ["organization", "key", "refreshed_at", "changed_at", "current", "compute_ms"]
    list_filter = ["key", "organization"]
    search_fields = ["key", "organization__name", "organization__slug"]
    readonly_fields = [f.name for f in Tally._meta.fields]
    list_select_related = ["organization"]

    @admin.display(boolean=True, description="current")
    def current(self, obj):
        return obj.current
