"""Thin Celery tasks: take ids, re-read rows, call the engine."""

from __future__ import annotations

import logging
from datetime import timedelta

from celery import shared_task
from django.conf import settings
from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from accounts.models import Organization
from portal.tasks import delete_in_batches

from . import first_run, registry
from .engine import AlreadyRunning, run_sync
from .models import SyncRun

log = logging.getLogger("sync")


@shared_task(name="sync.sync_resource", ignore_result=True, acks_late=True)
def sync_resource(organization_id: int, resource: str, trigger: str = "schedule") -> str:
    org = Organization.objects.filter(pk=organization_id, is_active=True).first()
    if org is None:
        return "skipped: organization inactive or gone"
    if resource not in registry.REFERENCE:
        first_run.before(org)  # a new organization's reference collections come first
    try:
        return run_sync(org, resource, trigger).status
    except AlreadyRunning as exc:
        log.info("%s", exc)
        return "skipped: already running"


@shared_task(name="sync.sync_organization", ignore_result=True)
def sync_organization(organization_id: int, trigger: str = "manual", resources: list[str] | None = None) -> None:
    for name in resources or list(registry.REGISTRY):
        sync_resource.delay(organization_id, name, trigger)


@shared_task(name="sync.first_runs", ignore_result=True)
def first_runs() -> list[int]:
    """Beat, every 10 s: queue the first sync of organizations whose reference collections never synced."""
    due = first_run.due_organizations()
    for organization_id in due:
        first_sync.delay(organization_id)
    return due


@shared_task(name="sync.first_sync", ignore_result=True, acks_late=True)
def first_sync(organization_id: int) -> int:
    """Reference collections first (here, one after the other), then every other resource (queued)."""
    org = Organization.objects.filter(pk=organization_id, is_active=True).first()
    return len(first_run.first_sync(org)) if org is not None else 0


def enqueue_organization_sync(organization, trigger: str = "manual", resources: list[str] | None = None) -> None:
    """Queue a sync of every resource once the current transaction commits."""
    transaction.on_commit(lambda: sync_organization.delay(organization.pk, trigger, resources))


@shared_task(name="sync.prune_runs", ignore_result=True)
def prune_runs(batch: int = 5000) -> int:
    """Delete finished sync runs older than SYNC_RUN_DAYS, in batches; returns how many.

    The latest run and the latest success of each organization's resource are kept whatever
    their age: the freshness page must still say when a long-failing resource last succeeded.
    """
    cutoff = timezone.now() - timedelta(days=settings.SYNC_RUN_DAYS)

    def latest(runs):
        return runs.values("organization", "resource").annotate(m=Max("pk")).values_list("m", flat=True)

    keep = {*latest(SyncRun.objects.all()), *latest(SyncRun.objects.filter(status=SyncRun.Status.SUCCESS))}
    return delete_in_batches(
        SyncRun.objects.filter(
            created_at__lt=cutoff, status__in=[SyncRun.Status.SUCCESS, SyncRun.Status.FAILED]
        ).exclude(pk__in=keep),
        batch,
    )
