from django.contrib import admin

from .models import SavedView


@admin.register(SavedView)
class SavedViewAdmin(admin.ModelAdmin):
    list_display = ("name", "list_key", "organization", "owner", "shared", "updated_at")
    list_filter = ("list_key", "shared")
    search_fields = ("name", "owner__username", "organization__name")
    raw_id_fields = ("owner",)
