from django.apps import AppConfig


class AutomationConfig(AppConfig):
    name = "automation"

    def ready(self):
        from . import hooks  # noqa: F401  the automation delivery kinds and the board's sync listeners
