"""The inventory list's search: a trigram index on InventoryRow.search_text (PostgreSQL), and the rows
of inventory records mirrored before the list had its table."""

from django.db import migrations

TRGM_INDEX = "inv_row_search_trgm"


def search_index(apps, schema_editor):
    """PostgreSQL: substring search (LIKE '%term%') through a trigram index. SQLite scans."""
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS {TRGM_INDEX} ON inventory_inventoryrow USING gin (search_text gin_trgm_ops)"
        )


def drop_search_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"DROP INDEX IF EXISTS {TRGM_INDEX}")


def fill(apps, schema_editor):
    """A derived table: the current builder fills it (inventory.rows.rebuild), as rmas' 0002 does."""
    Inventory = apps.get_model("mirror", "Inventory")
    ids = list(Inventory.objects.order_by().values_list("organization_id", flat=True).distinct())
    if not ids:
        return
    from inventory.rows import rebuild

    for pk in ids:
        rebuild(pk)


class Migration(migrations.Migration):
    dependencies = [
        ("inventory", "0001_initial"),
    ]

    operations = [
        migrations.RunPython(search_index, drop_search_index),
        migrations.RunPython(fill, migrations.RunPython.noop),
    ]
