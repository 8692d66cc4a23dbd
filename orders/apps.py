from django.apps import AppConfig


class OrdersConfig(AppConfig):
    name = "orders"

    def ready(self):
        from portal.sections import register_summary

        from . import hooks  # noqa: F401  the "order.create" delivery kind and the e-mail channel
        from .summary import dashboard_rows

        register_summary("orders", dashboard_rows)
