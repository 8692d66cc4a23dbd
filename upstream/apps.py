from django.apps import AppConfig


class UpstreamConfig(AppConfig):
    name = "upstream"
