from django.apps import AppConfig


class HomeConfig(AppConfig):
    name = "home"

    def ready(self):
        from . import hooks, providers  # noqa: F401  the tallies' channel and listeners; the dashboard's cards
