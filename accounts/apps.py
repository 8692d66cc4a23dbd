from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"

    def ready(self):
        from . import twofactor  # noqa: F401  # its user_logged_in receiver notes enrolment in the session
