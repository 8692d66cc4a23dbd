"""A new organization's first sync: countries, ship methods, items and catalog items first, then the rest."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.conf import settings
from django.utils import timezone
from django_celery_beat.models import PeriodicTask
from django_celery_beat.schedulers import ModelEntry

from portal.celery import app
from sync import first_run, registry, tasks
from sync.models import SyncRun

REFERENCE = ["countries", "ship_methods", "items", "customer_catalog_items", "automation_task_types"]


def test_a_new_daily_schedule_would_first_run_a_day_after_it_was_made(org_a):
    """Why the first run exists: django-celery-beat counts a new schedule's first interval from the
    row's creation, so a new organization's countries would wait a day (its orders two minutes)."""
    due, wait = ModelEntry(PeriodicTask.objects.get(name="sync acme countries"), app=app).is_due()
    assert not due and wait > 23 * 3600
    due, wait = ModelEntry(PeriodicTask.objects.get(name="sync acme orders"), app=app).is_due()
    assert not due and 60 < wait <= 120


def test_beat_looks_for_organizations_to_sync_first_every_ten_seconds():
    assert settings.CELERY_BEAT_SCHEDULE["sync-first-runs"] == {"task": "sync.first_runs", "schedule": 10.0}
    assert registry.REFERENCE == REFERENCE


def done(org, resource, status="success", **extra):
    return SyncRun.objects.create(
        organization=org, resource=resource, status=status, finished_at=timezone.now(), **extra
    )


def test_an_organization_is_due_until_each_reference_collection_synced_once(org_a, org_b):
    assert first_run.due_organizations() == [org_a.pk, org_b.pk]
    for name in REFERENCE:
        done(org_a, name)
    done(org_b, "orders")
    assert first_run.due_organizations() == [org_b.pk]
    assert first_run.missing(org_b) == REFERENCE and first_run.missing(org_a) == []


def test_not_due_while_its_first_sync_runs_or_just_after_a_failure(org_a, org_b):
    SyncRun.objects.create(organization=org_a, resource="countries", status="working")
    failed = done(org_b, "ship_methods", status="failed", error="ConnectionError")
    assert first_run.due_organizations() == []
    SyncRun.objects.filter(pk=failed.pk).update(finished_at=timezone.now() - timedelta(seconds=31))
    assert first_run.due_organizations() == [org_b.pk]
    org_b.is_active = False
    org_b.save()
    assert first_run.due_organizations() == []


def test_the_beat_task_queues_a_first_sync_per_organization_due(org_a, monkeypatch):
    queued = []
    monkeypatch.setattr(tasks.first_sync, "delay", lambda pk: queued.append(pk))
    assert tasks.first_runs() == [org_a.pk] and queued == [org_a.pk]


def test_first_sync_brings_reference_collections_first_then_queues_the_rest(sandbox_org, monkeypatch):
    queued: list[tuple] = []
    monkeypatch.setattr(tasks.sync_resource, "delay", lambda *args: queued.append(args))
    runs = first_run.first_sync(sandbox_org)
    assert [r.resource for r in runs] == REFERENCE and all(r.status == "success" for r in runs)
    rest = [name for name in registry.REGISTRY if name not in REFERENCE]
    assert queued == [(sandbox_org.pk, name, "schedule") for name in rest]
    for args in queued:
        tasks.sync_resource(*args)
    order = list(SyncRun.objects.filter(organization=sandbox_org).order_by("started_at", "pk"))
    assert [r.resource for r in order] == REFERENCE + rest
    last_reference = max(r.finished_at for r in order if r.resource in REFERENCE)
    assert all(r.started_at >= last_reference for r in order if r.resource not in REFERENCE)
    assert first_run.due_organizations() == [] and first_run.first_sync(sandbox_org) == []  # nothing twice


def test_any_other_sync_of_a_new_organization_runs_the_reference_collections_first(sandbox_org):
    assert tasks.sync_resource(sandbox_org.pk, "orders") == "success"
    order = list(SyncRun.objects.filter(organization=sandbox_org).order_by("started_at", "pk"))
    assert [r.resource for r in order] == [*REFERENCE, "orders"]
    assert tasks.sync_resource(sandbox_org.pk, "rmas") == "success"
    assert SyncRun.objects.filter(organization=sandbox_org).count() == len(REFERENCE) + 2  # not again


def test_a_failed_first_sync_is_retried_later_without_holding_up_other_syncs(sandbox_org, sandbox, fast_outbox):
    sandbox.set_faults(error_rate=1.0, error_status=500, path_prefix="/v2/countries", token=sandbox_org.sandbox_token)
    runs = first_run.first_sync(sandbox_org)
    assert (runs[0].resource, runs[0].status) == ("countries", "failed")
    assert first_run.missing(sandbox_org) == ["countries"]
    assert first_run.state(sandbox_org, ["countries", "ship_methods"]) == {
        "countries": "failed",
        "ship_methods": "ready",
    }
    assert first_run.due_organizations() == []  # retried after RETRY_AFTER seconds
    started = timezone.now()
    assert tasks.sync_resource(sandbox_org.pk, "orders") == "success"  # the recent failure is not tried again
    assert not SyncRun.objects.filter(organization=sandbox_org, resource="countries", created_at__gte=started).exists()


@pytest.mark.parametrize("resource", ["countries", "orders"])
def test_state_says_loading_until_a_first_success(org_a, resource):
    assert first_run.state(org_a, [resource]) == {resource: "loading"}
    SyncRun.objects.create(organization=org_a, resource=resource, status="working")
    assert first_run.state(org_a, [resource]) == {resource: "loading"}
    done(org_a, resource)
    done(org_a, resource, status="failed")
    assert first_run.state(org_a, [resource]) == {resource: "ready"}
