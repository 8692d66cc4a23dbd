from django.apps import AppConfig


class RmasConfig(AppConfig):
    name = "rmas"

    def ready(self):
        from . import hooks  # noqa: F401  the "rma.create" delivery kind, the sync listeners, the e-mail channel
