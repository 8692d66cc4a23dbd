"""The inventory list's search: a trigram index on InventoryRow.search_text (PostgreSQL), and the rows
of inventory records mirrored before the list had its table."""

from django.db import migrations

from portal.migration_ops import fill_rows, search_index


class Migration(migrations.Migration):
    dependencies = [
        ("inventory", "0001_initial"),
    ]

    operations = [
        search_index("inventory_inventoryrow", "inv_row_search_trgm"),
        fill_rows("mirror.Inventory", "inventory.rows.rebuild"),
    ]
