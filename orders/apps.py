from django.apps import AppConfig


class OrdersConfig(AppConfig):
    name = "orders"

    def ready(self):
        from portal.sections import register_summary

        from . import services  # noqa: F401  registers the "order.create" delivery kind
        from .summary import dashboard_rows

        register_summary("orders", dashboard_rows)
