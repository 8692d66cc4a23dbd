"""The data freshness page, Sync now, the sync command, schedules and the admin action."""

import io

import pytest
from django.core.management import CommandError, call_command
from django_celery_beat.models import PeriodicTask

from conftest import make_member
from sync import registry
from sync.models import SyncRun


def test_freshness_shows_each_resource_with_its_last_success(client_alice, org_a, org_b):
    SyncRun.objects.create(organization=org_a, resource="inventories", status="success", rows_fetched=5)
    SyncRun.objects.create(organization=org_b, resource="inventories", status="failed", error="globex secret trouble")
    response = client_alice.get("/sync/")
    assert response.status_code == 200
    rows = {r["resource"].name: r for r in response.context["rows"]}
    assert set(rows) == set(registry.REGISTRY)
    assert rows["inventories"]["success"].organization == org_a
    assert b"globex secret trouble" not in response.content


def test_sync_now_is_for_managers(client, org_a):
    viewer = make_member("vera", org_a, roles=["viewer"])
    client.force_login(viewer)
    page = client.get("/sync/")
    assert page.status_code == 200 and b"Sync now" not in page.content
    assert client.post("/sync/now/").status_code == 403


def test_manager_queues_a_sync(client_alice, django_capture_on_commit_callbacks, monkeypatch):
    queued = []
    monkeypatch.setattr("sync.tasks.sync_organization.delay", lambda *a: queued.append(a))
    with django_capture_on_commit_callbacks(execute=True):
        response = client_alice.post("/sync/now/")
    assert response.status_code == 302
    assert queued and queued[0][1] == "manual"


def test_every_active_organization_gets_default_schedules(org_a):
    names = set(PeriodicTask.objects.filter(name__startswith="sync acme ").values_list("name", flat=True))
    assert names == {f"sync acme {r}" for r in registry.REGISTRY}
    inv = PeriodicTask.objects.get(name="sync acme inventories")
    assert inv.interval.every == 300 and inv.enabled
    org_a.is_active = False
    org_a.save()
    assert not PeriodicTask.objects.filter(name__startswith="sync acme ", enabled=True).exists()


def test_an_edited_interval_is_kept(org_a):
    from django_celery_beat.models import IntervalSchedule

    task = PeriodicTask.objects.get(name="sync acme orders")
    task.interval = IntervalSchedule.objects.create(every=999, period="seconds")
    task.save()
    org_a.save()
    assert PeriodicTask.objects.get(name="sync acme orders").interval.every == 999


def test_sync_command_prints_a_summary_and_fails_loudly(sandbox_org, sandbox):
    out = io.StringIO()
    call_command(
        "sync", "countries", "ship_methods", org=sandbox_org.slug, no_progress=True, stdout=out, stderr=io.StringIO()
    )
    text = out.getvalue()
    assert "countries" in text and "success" in text and "ship_methods" in text
    sandbox.set_faults(error_rate=1.0, token=sandbox_org.sandbox_token)
    with pytest.raises(CommandError, match="1 sync run"):
        call_command(
            "sync", "countries", org=sandbox_org.slug, no_progress=True, stdout=io.StringIO(), stderr=io.StringIO()
        )


def test_sync_command_rejects_unknown_resources(db):
    with pytest.raises(CommandError, match="unknown resource"):
        call_command("sync", "bananas")


def test_freshness_keeps_the_last_success_after_a_failure_and_never_counts_mirror_tables(
    client_alice, org_a, django_assert_max_num_queries
):
    from django.utils import timezone

    SyncRun.objects.create(
        organization=org_a, resource="invoices", status="success", rows_fetched=1234, finished_at=timezone.now()
    )
    SyncRun.objects.create(organization=org_a, resource="invoices", status="failed", error="upstream said 503")
    # Two index probes per resource at most, plus the session, user and membership: no
    # COUNT over mirror tables that may hold millions of rows.
    with django_assert_max_num_queries(2 * len(registry.REGISTRY) + 8) as queries:
        response = client_alice.get("/sync/")
    assert not any("mirror_" in q["sql"] for q in queries.captured_queries)
    row = {r["resource"].name: r for r in response.context["rows"]}["invoices"]
    assert row["last"].status == "failed" and row["success"].rows_fetched == 1234
    assert b"1,234" in response.content and b"upstream said 503" in response.content


def test_prune_runs_keeps_recent_runs_and_the_latest_of_each_resource(org_a, org_b, settings):
    from datetime import timedelta

    from django.utils import timezone

    from sync.tasks import prune_runs

    settings.SYNC_RUN_DAYS = 30
    old = timezone.now() - timedelta(days=40)

    def run(org, resource, status, when):
        r = SyncRun.objects.create(organization=org, resource=resource, status=status)
        SyncRun.objects.filter(pk=r.pk).update(created_at=when)
        return r.pk

    gone = [run(org_a, "items", "success", old), run(org_a, "items", "failed", old)]
    last_success = run(org_a, "items", "success", old)
    gone.append(run(org_a, "items", "failed", old))
    recent = run(org_a, "items", "failed", timezone.now() - timedelta(days=2))  # the latest run
    other_org = run(org_b, "items", "success", old)
    gone.append(run(org_a, "countries", "failed", old))
    countries_last = run(org_a, "countries", "success", old)  # 40 days old, yet its latest
    assert prune_runs(batch=1) == len(gone)
    left = set(SyncRun.objects.values_list("pk", flat=True))
    assert left == {last_success, recent, other_org, countries_last}


def test_a_renamed_organization_keeps_one_schedule_per_resource(org_a, django_assert_max_num_queries):
    with django_assert_max_num_queries(2):  # saving an unchanged organization: its row and one lookup
        org_a.save()
    org_a.slug = "acme-corp"
    org_a.save()
    tasks = PeriodicTask.objects.filter(task="sync.sync_resource", args__startswith=f"[{org_a.pk},")
    assert sorted(tasks.values_list("name", flat=True)) == sorted(f"sync acme-corp {r}" for r in registry.REGISTRY)


def test_a_running_sync_shows_its_progress(client_alice, org_a):
    SyncRun.objects.create(organization=org_a, resource="inventories", status="working", rows_fetched=45000, pages=45)
    page = client_alice.get("/sync/").content.decode()
    assert "Working" in page and "45,000 rows so far" in page
