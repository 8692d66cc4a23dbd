from django.contrib import admin

from portal.admin import ReadOnlyAdmin

from .models import InventoryRow


@admin.register(InventoryRow)
class InventoryRowAdmin(ReadOnlyAdmin):
    """The inventory list as staff see it (a table kept by inventory.rows from the mirror)."""

    list_display = ["item_name", "customer_sku", "location_id", "quantity_on_hand", "is_below_reorder", "organization"]
    list_filter = ["is_below_reorder", "organization"]
    search_fields = ["item_name", "customer_sku", "manufacturer_sku", "=upstream_id"]
    list_select_related = ["organization"]
