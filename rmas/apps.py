from django.apps import AppConfig


class RmasConfig(AppConfig):
    name = "rmas"
