from django.apps import AppConfig


class InventoryConfig(AppConfig):
    name = "inventory"

    def ready(self):
        from . import hooks  # noqa: F401  the sync listeners that keep the list's rows
