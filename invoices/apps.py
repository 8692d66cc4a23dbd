from django.apps import AppConfig


class InvoicesConfig(AppConfig):
    name = "invoices"

    def ready(self):
        from . import hooks  # noqa: F401  the sync listeners of invoices and orders
