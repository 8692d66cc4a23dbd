"""Beat schedules for every active organization and resource (django-celery-beat rows).

Created with the registry's default intervals; an admin's later edit of an interval is kept.
An inactive organization's schedules are disabled.
"""

from __future__ import annotations

import json

from django_celery_beat.models import IntervalSchedule, PeriodicTask

from accounts.models import Organization

from . import registry

TASK = "sync.sync_resource"


def task_name(organization, resource_name: str) -> str:
    return f"sync {organization.slug} {resource_name}"


def _org_tasks(organization) -> dict[str, PeriodicTask]:
    """This organization's sync schedules by resource, found by their arguments (names follow the slug)."""
    tasks = {}
    for task in PeriodicTask.objects.filter(task=TASK, args__startswith=f"[{organization.pk},"):
        try:
            org_pk, resource_name = json.loads(task.args)[:2]
        except (ValueError, TypeError):
            continue
        if org_pk == organization.pk:
            tasks[resource_name] = task
    return tasks


def ensure_schedules(organizations=None) -> int:
    """Create missing schedules; keep names and enabled in step with the organization.

    Returns how many were created. An admin's edit of an interval is kept; a renamed
    organization's schedules are renamed, not duplicated.
    """
    created = 0
    intervals: dict[int, IntervalSchedule] = {}
    for org in organizations if organizations is not None else Organization.objects.all():
        existing = _org_tasks(org)
        for resource in registry.REGISTRY.values():
            name = task_name(org, resource.name)
            task = existing.get(resource.name)
            if task is None:
                if resource.schedule_seconds not in intervals:
                    every = {"every": resource.schedule_seconds, "period": IntervalSchedule.SECONDS}
                    # first(): the admin may have made a second interval of the same length
                    intervals[resource.schedule_seconds] = IntervalSchedule.objects.filter(**every).order_by(
                        "pk"
                    ).first() or IntervalSchedule.objects.create(**every)
                PeriodicTask.objects.create(
                    name=name,
                    task=TASK,
                    interval=intervals[resource.schedule_seconds],
                    args=json.dumps([org.pk, resource.name, "schedule"]),
                    enabled=org.is_active,
                )
                created += 1
            elif task.enabled != org.is_active or task.name != name:
                task.enabled, task.name = org.is_active, name
                task.save(update_fields=["enabled", "name"])
    return created
