"""Tallies: what each provider counts, how a change makes them stale, and how a recount is scheduled."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from django.utils import timezone

from home import services, tallies
from home.models import Tally
from outbox.models import Delivery
from sync.models import SyncRun

from . import factories
from .conftest import scheduled


def value(org, key):
    return Tally.objects.get(organization=org, key=key).value


def test_the_orders_tally_counts_the_list_rows_per_status_with_local_submissions(org_a, org_b):
    factories.orders(org_a, 10)
    factories.order_submissions(org_a, ["queued", "retrying", "rejected", "rejected", "failed", "succeeded"])
    factories.orders(org_b, 4)
    assert services.recompute(org_a.pk) == [p.key for p in tallies.providers()]
    assert value(org_a, "orders") == {
        "Pending": 4,
        "Released": 3,
        "Shipped": 3,
        "queued": 1,
        "retrying": 1,
        "rejected": 2,
        "failed": 1,
        "succeeded": 1,
    }


def test_the_rmas_tally_counts_open_ones_per_status_and_names_the_oldest(org_a):
    factories.rmas(org_a, n_open=6, n_closed=5)
    request = factories.rma_request(org_a, Delivery.Status.RETRYING)
    services.recompute(org_a.pk)
    rmas = value(org_a, "rmas")
    assert rmas["by_status"] == {"Not Received": 2, "Checked In": 2, "In Repair": 1, "Repaired": 1, "retrying": 1}
    oldest = rmas["oldest"]
    assert oldest["subject"] == "Disk failure 0" and oldest["upstream_id"] == 800_000
    assert oldest["start_date"] == (timezone.localdate() - timedelta(days=400)).isoformat()
    assert oldest["rma_id"] is not None and oldest["submission_id"] is None and request.pk


def test_the_automation_tally_counts_queues_in_progress_and_failures_of_the_last_day(org_a):
    factories.automation(org_a, in_progress=3, finished=5, failed_recently=2, failed_long_ago=4)
    services.recompute(org_a.pk)
    line = value(org_a, "automation")
    assert line["queues_in_progress"] == 3 and line["tasks_failed"] == 2
    since = timezone.datetime.fromisoformat(line["failed_since"])
    assert abs((timezone.now() - since) - timedelta(hours=24)) < timedelta(minutes=1)


def test_the_freshness_tally_keeps_each_resource_s_last_success_and_its_latest_run(org_a):
    done = timezone.now() - timedelta(minutes=3)
    SyncRun.objects.create(organization=org_a, resource="orders", status="success", rows_fetched=12, finished_at=done)
    SyncRun.objects.create(organization=org_a, resource="orders", status="failed", error="boom")
    services.recompute(org_a.pk)
    rows = {row["resource"]: row for row in value(org_a, "freshness")}
    assert rows["orders"]["finished"] == done.isoformat() and rows["orders"]["count"] == 12
    assert rows["orders"]["failed"] is True and rows["countries"]["finished"] is None


def test_a_change_marks_only_the_tallies_reading_it_once_it_commits(org_a, handed, django_capture_on_commit_callbacks):
    services.recompute(org_a.pk)
    with django_capture_on_commit_callbacks(execute=True):
        services.changed(org_a.pk, ["rmas"])
        assert Tally.objects.get(organization=org_a, key="rmas").current  # not before the commit
    current = dict(Tally.objects.filter(organization=org_a).values_list("key", "changed_at"))
    assert current["rmas"] is not None
    assert [key for key, at in current.items() if at is not None] == ["rmas"]
    assert not Tally.objects.get(organization=org_a, key="rmas").current
    assert scheduled(handed, org_a) == 1
    assert services.recompute(org_a.pk) == ["rmas"]  # only what is stale
    assert Tally.objects.get(organization=org_a, key="rmas").current


def test_a_rolled_back_change_marks_nothing(org_a, handed, django_capture_on_commit_callbacks):
    from django.db import transaction

    services.recompute(org_a.pk)
    with django_capture_on_commit_callbacks(execute=True):
        try:
            with transaction.atomic():
                services.changed(org_a.pk, ["orders"])
                raise RuntimeError
        except RuntimeError:
            pass
    assert Tally.objects.get(organization=org_a, key="orders").current and handed == []


def test_a_change_while_counting_leaves_the_tally_stale(org_a, monkeypatch):
    """The value stored is the data as of the count's start: a change after it is still to count."""

    def count_then_change(organization_id):
        services.mark(organization_id, ["orders"])  # a change committed while the worker counts
        return {}

    monkeypatch.setitem(tallies._PROVIDERS, "orders", replace(tallies.get("orders"), compute=count_then_change))
    assert "orders" in services.recompute(org_a.pk)
    assert not Tally.objects.get(organization=org_a, key="orders").current


def test_an_older_count_never_replaces_a_newer_one(org_a):
    now = timezone.now()
    assert services.store(org_a.pk, "orders", {"Pending": 2}, now)
    assert not services.store(org_a.pk, "orders", {"Pending": 1}, now - timedelta(seconds=1))
    assert value(org_a, "orders") == {"Pending": 2}


def test_a_windowed_tally_is_recounted_past_its_max_age_even_without_a_change(org_a):
    services.recompute(org_a.pk)
    assert services.recompute(org_a.pk) == []  # nothing changed: nothing to count
    Tally.objects.filter(organization=org_a, key="automation").update(
        refreshed_at=timezone.now() - timedelta(seconds=tallies.get("automation").max_age + 1)
    )
    assert services.recompute(org_a.pk) == ["automation"]


def test_recounts_are_debounced_per_organization(org_a, org_b, handed, settings):
    settings.HOME_TALLY_DEBOUNCE = 3
    assert services.schedule(org_a.pk) and not services.schedule(org_a.pk)
    assert services.schedule(org_b.pk)
    assert handed == [("home.tallies", org_a.pk, 3), ("home.tallies", org_b.pk, 3)]
    services.recompute(org_a.pk)  # the worker's start: a change from now on schedules the next one
    assert services.schedule(org_a.pk)
    assert scheduled(handed, org_a) == 2


def test_the_redrive_recounts_tallies_whose_hand_over_was_lost(org_a, org_b, handed, settings):
    from portal import dispatch

    settings.HOME_TALLY_DEBOUNCE = 1
    services.recompute(org_a.pk)
    services.recompute(org_b.pk)
    long_ago = timezone.now() - timedelta(minutes=5)
    Tally.objects.filter(organization=org_a).update(refreshed_at=long_ago - timedelta(minutes=1))
    Tally.objects.filter(organization=org_a, key="orders").update(changed_at=long_ago)
    Tally.objects.filter(organization=org_b, key="orders").update(changed_at=timezone.now())  # just scheduled
    assert services.due(10) == [org_a.pk]
    assert dispatch.redrive()["home.tallies"] == 1 and ("home.tallies", org_a.pk, None) in handed


def test_a_recount_of_an_organization_gone_does_nothing(db):
    assert services.recompute(987654) == [] and not Tally.objects.exists()


def test_a_failing_provider_leaves_its_old_value_and_the_others_are_counted(org_a, monkeypatch):
    services.recompute(org_a.pk)
    Tally.objects.filter(organization=org_a).update(changed_at=timezone.now() + timedelta(seconds=1))

    def broken(organization_id):
        raise RuntimeError("the database went away")

    monkeypatch.setitem(tallies._PROVIDERS, "rmas", replace(tallies.get("rmas"), compute=broken))
    done = services.recompute(org_a.pk)
    assert "rmas" not in done and "orders" in done
    assert value(org_a, "rmas") == {"by_status": {}, "oldest": None}
