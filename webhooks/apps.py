from django.apps import AppConfig


class WebhooksConfig(AppConfig):
    name = "webhooks"

    def ready(self):
        from . import hooks  # noqa: F401  registers the "webhooks" dispatch channel
