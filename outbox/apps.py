from django.apps import AppConfig
from django.core import checks


class OutboxConfig(AppConfig):
    name = "outbox"

    def ready(self):
        from . import hooks  # noqa: F401  registers the "outbox" dispatch channel
        from .kinds import check_kinds

        checks.register(check_kinds)
