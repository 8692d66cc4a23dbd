"""The orders list becomes a table (0005): the view and its unmanaged model go."""

from importlib import import_module

from django.db import migrations

VIEW = import_module("orders.migrations.0003_orderrow_raw_statuses").VIEW


class Migration(migrations.Migration):
    dependencies = [("orders", "0003_orderrow_raw_statuses")]

    operations = [
        migrations.RunSQL("DROP VIEW IF EXISTS orders_orderrow", VIEW),
        migrations.DeleteModel(name="OrderRow"),
    ]
