from django.apps import AppConfig


class OrdersConfig(AppConfig):
    name = "orders"

    def ready(self):
        from . import hooks  # noqa: F401  the "order.create" delivery kind and the e-mail channel
