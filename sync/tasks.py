"""Thin Celery tasks: take ids, re-read rows, call the engine."""

from __future__ import annotations

import logging

from celery import shared_task
from django.db import transaction

from accounts.models import Organization

from . import registry
from .engine import AlreadyRunning, run_sync

log = logging.getLogger("sync")


@shared_task(name="sync.sync_resource", ignore_result=True, acks_late=True)
def sync_resource(organization_id: int, resource: str, trigger: str = "schedule") -> str:
    org = Organization.objects.filter(pk=organization_id, is_active=True).first()
    if org is None:
        return "skipped: organization inactive or gone"
    try:
        return run_sync(org, resource, trigger).status
    except AlreadyRunning as exc:
        log.info("%s", exc)
        return "skipped: already running"


@shared_task(name="sync.sync_organization", ignore_result=True)
def sync_organization(organization_id: int, trigger: str = "manual", resources: list[str] | None = None) -> None:
    for name in resources or list(registry.REGISTRY):
        sync_resource.delay(organization_id, name, trigger)


def enqueue_organization_sync(organization, trigger: str = "manual", resources: list[str] | None = None) -> None:
    """Queue a sync of every resource once the current transaction commits."""
    transaction.on_commit(lambda: sync_organization.delay(organization.pk, trigger, resources))
