"""Beat schedules for every active organization and resource (django-celery-beat rows).

Created with the registry's default intervals; an admin's later edit of an interval is kept.
An inactive organization's schedules are disabled.
"""

from __future__ import annotations

import json

from django_celery_beat.models import IntervalSchedule, PeriodicTask

from accounts.models import Organization

from . import registry


def task_name(organization, resource_name: str) -> str:
    return f"sync {organization.slug} {resource_name}"


def ensure_schedules(organizations=None) -> int:
    """Create missing schedules, (dis)able them with the organization. Returns how many were created."""
    created = 0
    for org in organizations if organizations is not None else Organization.objects.all():
        for resource in registry.REGISTRY.values():
            interval, _ = IntervalSchedule.objects.get_or_create(every=resource.schedule_seconds,
                                                                 period=IntervalSchedule.SECONDS)
            task, made = PeriodicTask.objects.get_or_create(
                name=task_name(org, resource.name),
                defaults={"task": "sync.sync_resource", "interval": interval,
                          "args": json.dumps([org.pk, resource.name, "schedule"]), "enabled": org.is_active},
            )
            created += made
            if not made and task.enabled != org.is_active:
                task.enabled = org.is_active
                task.save(update_fields=["enabled"])
    return created
