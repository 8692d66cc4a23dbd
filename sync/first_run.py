"""An organization's first sync: the reference collections first.

Countries, ship methods, items, catalog items and automation task types (`registry.REFERENCE`)
are what forms offer and pages name. Their beat schedules run once a day, and a new schedule's
first run comes one interval after it was created (django-celery-beat counts from the row's
creation), so on a new organization they would stay empty for a day while orders (every
2 minutes) filled in. Hence:

- `first_runs` (beat, every 10 s: `sync.first_runs`) finds the active organizations whose
  reference collections have never synced (`due_organizations`: one query), and queues
  `sync.first_sync` for each: the missing reference collections sync one after the other in
  that worker, then every other resource is queued (orders, RMAs, inventory... in the
  registry's order). A failed attempt is tried again after `RETRY_AFTER` seconds.
- A sync of any other resource (its beat schedule, "Sync now") of an organization whose
  reference collections have never synced runs them first, in its own worker (`before`).
- Until then, a form that needs them says what it is still waiting for (`state`).
"""

from __future__ import annotations

import logging
from datetime import timedelta

from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from accounts.models import Organization

from . import registry
from .engine import AlreadyRunning, run_sync
from .models import SyncRun

log = logging.getLogger("sync")

RETRY_AFTER = 30  # seconds after a failed first sync before the next attempt

ACTIVE = (SyncRun.Status.PENDING, SyncRun.Status.WORKING)


def reference() -> list[str]:
    return list(registry.REFERENCE)


def missing(organization) -> list[str]:
    """The reference collections of the organization that never synced successfully, in sync order."""
    done = set(
        SyncRun.objects.filter(organization=organization, resource__in=reference(), status=SyncRun.Status.SUCCESS)
        .order_by()
        .values_list("resource", flat=True)
        .distinct()
    )
    return [name for name in reference() if name not in done]


def state(organization, resources: list[str]) -> dict[str, str]:
    """For each of these resources: "ready" (synced successfully at least once), "loading" (never synced:
    a run is on its way or working), or "failed" (never synced, and its latest attempt failed). One query."""
    latest: dict[str, str] = {}
    successes: set[str] = set()
    runs = (
        SyncRun.objects.filter(organization=organization, resource__in=resources)
        .order_by("resource", "-created_at")
        .values_list("resource", "status")
    )
    for resource, status in runs.iterator():
        latest.setdefault(resource, status)
        if status == SyncRun.Status.SUCCESS:
            successes.add(resource)
    out = {}
    for name in resources:
        if name in successes:
            out[name] = "ready"
        elif latest.get(name) == SyncRun.Status.FAILED:
            out[name] = "failed"
        else:
            out[name] = "loading"
    return out


def due_organizations(limit: int = 100) -> list[int]:
    """Active organizations with a reference collection never synced, none of them syncing now, and no
    failed attempt in the last RETRY_AFTER seconds."""
    names = reference()
    runs = SyncRun.objects.filter(organization=OuterRef("pk"), resource__in=names)
    per_resource = [
        ~Exists(SyncRun.objects.filter(organization=OuterRef("pk"), resource=name, status=SyncRun.Status.SUCCESS))
        for name in names
    ]
    lacking = Q()
    for condition in per_resource:
        lacking |= Q(condition)
    recent_failure = runs.filter(
        status=SyncRun.Status.FAILED, finished_at__gt=timezone.now() - timedelta(seconds=RETRY_AFTER)
    )
    return list(
        Organization.objects.filter(is_active=True)
        .filter(lacking)
        .exclude(Exists(runs.filter(status__in=ACTIVE)))
        .exclude(Exists(recent_failure))
        .order_by("pk")
        .values_list("pk", flat=True)[:limit]
    )


def before(organization) -> list[SyncRun]:
    """Run the reference collections the organization never synced, one after the other, here and now.
    One already running elsewhere, or whose attempt failed less than RETRY_AFTER seconds ago (the
    upstream is down: every other sync would wait for it again), is skipped. Returns the runs."""
    todo = missing(organization)
    if not todo:
        return []
    failed_lately = set(
        SyncRun.objects.filter(
            organization=organization,
            resource__in=todo,
            status=SyncRun.Status.FAILED,
            finished_at__gt=timezone.now() - timedelta(seconds=RETRY_AFTER),
        ).values_list("resource", flat=True)
    )
    runs = []
    for name in todo:
        if name in failed_lately:
            continue
        try:
            runs.append(run_sync(organization, name, SyncRun.Trigger.SCHEDULE))
        except AlreadyRunning:
            log.info("first sync of %s: %s is already running", organization.slug, name)
    return runs


def first_sync(organization) -> list[SyncRun]:
    """The reference collections first; once they are all in, queue every other resource."""
    runs = before(organization)
    if not runs:
        return runs  # nothing was missing (or it is syncing elsewhere): whoever ran it queues the rest
    left = missing(organization)
    if left:
        log.warning("first sync of %s: %s not synced yet; tried again later", organization.slug, ", ".join(left))
        return runs
    from .tasks import sync_resource

    for name in registry.REGISTRY:
        if name not in registry.REFERENCE:
            sync_resource.delay(organization.pk, name, SyncRun.Trigger.SCHEDULE)
    return runs
