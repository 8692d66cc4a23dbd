from django.apps import AppConfig
from django.db.models.signals import post_migrate, post_save


class SyncConfig(AppConfig):
    name = "sync"

    def ready(self):
        from accounts.models import Organization

        post_save.connect(_organization_saved, sender=Organization, dispatch_uid="sync_schedules_on_save")
        post_migrate.connect(_after_migrate, sender=self, dispatch_uid="sync_schedules_after_migrate")


def _organization_saved(sender, instance, raw=False, **kwargs):
    if raw:
        return
    from .schedules import ensure_schedules

    ensure_schedules([instance])


def _after_migrate(sender, **kwargs):
    from .schedules import ensure_schedules

    ensure_schedules()
