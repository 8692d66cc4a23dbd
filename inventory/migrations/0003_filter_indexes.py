"""The filters' indexes: the flag filters' rare sides (not stocked, not serialized, archived) as small
partial indexes in the list's default order, and the location's and the tab's indexes with the columns the
filters compare, so that a filtered page and its capped counts read an index alone, never the
organization's rows."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("inventory", "0002_search_index_and_rows"),
    ]

    operations = [
        migrations.RemoveIndex(
            model_name="inventoryrow",
            name="inv_row_location_id",
        ),
        migrations.RemoveIndex(
            model_name="inventoryrow",
            name="inv_row_below",
        ),
        migrations.AddIndex(
            model_name="inventoryrow",
            index=models.Index(
                fields=["organization", "location_id", "id"], include=("is_below_reorder",), name="inv_row_location_id"
            ),
        ),
        migrations.AddIndex(
            model_name="inventoryrow",
            index=models.Index(
                fields=["organization", "is_below_reorder", "item_name", "id"],
                include=("location_id", "stocked", "serialized", "archived"),
                name="inv_row_below",
            ),
        ),
        migrations.AddIndex(
            model_name="inventoryrow",
            index=models.Index(
                condition=models.Q(("stocked", False)),
                fields=["organization", "item_name", "id"],
                include=("is_below_reorder",),
                name="inv_row_unstocked",
            ),
        ),
        migrations.AddIndex(
            model_name="inventoryrow",
            index=models.Index(
                condition=models.Q(("serialized", False)),
                fields=["organization", "item_name", "id"],
                include=("is_below_reorder",),
                name="inv_row_unserialized",
            ),
        ),
        migrations.AddIndex(
            model_name="inventoryrow",
            index=models.Index(
                condition=models.Q(("archived", True)),
                fields=["organization", "item_name", "id"],
                include=("is_below_reorder",),
                name="inv_row_archived",
            ),
        ),
    ]
