"""The sync engine against the real sandbox over loopback."""

from __future__ import annotations

import threading

import pytest
from django.db import connection

from mirror import models as m
from sync import registry
from sync.engine import AlreadyRunning, run_sync, start_run
from sync.models import SyncRun


def sync_all(org):
    return {name: run_sync(org, name) for name in registry.REGISTRY}


def test_first_sync_mirrors_every_resource(sandbox_org):
    runs = sync_all(sandbox_org)
    for name, run in runs.items():
        assert run.status == SyncRun.Status.SUCCESS, (name, run.error)
        resource = registry.get(name)
        count = resource.model.objects.for_org(sandbox_org).count()
        assert count == run.rows_fetched == run.created > 0, name
    order = m.Order.objects.for_org(sandbox_org).filter(status="Shipped").first()
    assert order.lines.exists() and order.tracking_numbers.exists() and order.invoice_refs.exists()
    assert order.lines.first().serial_numbers
    assert {o.status for o in m.Order.objects.for_org(sandbox_org)} <= {"Pending", "Released", "Shipped"}
    rma = m.Rma.objects.for_org(sandbox_org).filter(is_open=False).first()
    assert rma.detail and rma.notes.filter(kind="problem").exists() and rma.lines.exists()
    assert runs["rmas"].details_fetched == m.Rma.objects.for_org(sandbox_org).count()
    assert m.AutomationTask.objects.for_org(sandbox_org).filter(failed=False).exists()


def test_second_sync_without_upstream_change_writes_no_row(sandbox_org):
    sync_all(sandbox_org)
    before = {
        name: list(r.model.objects.for_org(sandbox_org).order_by("pk").values_list("pk", "changed_at", "content_hash"))
        for name, r in registry.REGISTRY.items()
    }
    with RowWrites(m.Inventory, sandbox_org) as writes:
        runs = sync_all(sandbox_org)
    for name, run in runs.items():
        assert run.status == SyncRun.Status.SUCCESS, (name, run.error)
        assert (run.created, run.updated, run.vanished) == (0, 0, 0), name
        assert run.unchanged == run.rows_fetched > 0
        after = list(
            registry.get(name)
            .model.objects.for_org(sandbox_org)
            .order_by("pk")
            .values_list("pk", "changed_at", "content_hash")
        )
        assert after == before[name], name
    assert writes.rows == []  # no tuple was rewritten, not even with the same values


class RowWrites:
    """The ids of `model`'s rows of `org` inserted or updated inside the block: by xmin on
    PostgreSQL, by temporary row triggers elsewhere (SQLite)."""

    def __init__(self, model, org):
        self.table = model._meta.db_table
        self.org = org
        self.rows: list[int] | None = None

    def __enter__(self):
        with connection.cursor() as cur:
            if connection.vendor == "postgresql":
                self.xmins = self._xmins(cur)
                assert self.xmins, "no rows to watch"
            else:
                cur.execute("CREATE TEMP TABLE row_writes (id integer)")
                for event in ("INSERT", "UPDATE"):
                    cur.execute(
                        f"CREATE TEMP TRIGGER row_writes_{event.lower()} AFTER {event} ON {self.table} "
                        f"WHEN NEW.organization_id = {int(self.org.pk)} "
                        f"BEGIN INSERT INTO row_writes (id) VALUES (NEW.id); END"
                    )
        return self

    def __exit__(self, *exc):
        with connection.cursor() as cur:
            if connection.vendor == "postgresql":
                after = self._xmins(cur)
                self.rows = sorted(pk for pk, xmin in after.items() if self.xmins.get(pk) != xmin)
            else:
                cur.execute("SELECT id FROM row_writes ORDER BY id")
                self.rows = [pk for (pk,) in cur.fetchall()]
                cur.execute("DROP TRIGGER row_writes_insert")
                cur.execute("DROP TRIGGER row_writes_update")
                cur.execute("DROP TABLE row_writes")

    def _xmins(self, cur) -> dict[int, str]:
        cur.execute(f"SELECT id, xmin::text FROM {self.table} WHERE organization_id = %s", [self.org.pk])
        return dict(cur.fetchall())


def test_row_writes_sees_a_rewrite_with_the_same_values(sandbox_org):
    """The check above would catch a writer that rewrites unchanged rows."""
    run_sync(sandbox_org, "inventories")
    rows = m.Inventory.objects.for_org(sandbox_org).order_by("pk")
    first = rows[0]
    with RowWrites(m.Inventory, sandbox_org) as writes:
        m.Inventory.objects.bulk_update([first], ["content_hash"])
        assert m.Inventory.objects.for_org(sandbox_org).get(pk=first.pk).content_hash == first.content_hash
    assert writes.rows == [first.pk]


def test_change_addition_and_removal_upstream_are_reflected(sandbox_org, sandbox):
    token = sandbox_org.sandbox_token
    run_sync(sandbox_org, "inventories")
    rows = m.Inventory.objects.for_org(sandbox_org).order_by("upstream_id")
    changed, removed = rows[0], rows[1]
    raw = dict(changed.raw, quantity_on_hand=12345.0)
    sandbox.upsert(token, "inventories", [raw, dict(raw, id=9_999_999, item_id=42)])
    sandbox.delete(token, "inventories", [removed.upstream_id])
    run = run_sync(sandbox_org, "inventories")
    assert (run.created, run.updated, run.vanished) == (1, 1, 1)
    changed.refresh_from_db()
    assert changed.quantity_on_hand == 12345 and changed.raw["quantity_on_hand"] == 12345.0
    assert m.Inventory.objects.for_org(sandbox_org).get(upstream_id=9_999_999).item_id == 42
    removed.refresh_from_db()
    assert removed.vanished_at is not None  # kept, flagged
    sandbox.upsert(token, "inventories", [removed.raw])
    run = run_sync(sandbox_org, "inventories")
    removed.refresh_from_db()
    assert removed.vanished_at is None and run.updated == 1


def test_failure_in_the_middle_gives_a_failed_run_and_loses_nothing(sandbox_org, sandbox, settings):
    settings.UPSTREAM_MAX_ATTEMPTS = 1
    first = run_sync(sandbox_org, "inventories", page_size=10)
    total = m.Inventory.objects.for_org(sandbox_org).count()
    assert first.status == SyncRun.Status.SUCCESS and total > 30
    sandbox.delete(
        sandbox_org.sandbox_token,
        "inventories",
        list(
            m.Inventory.objects.for_org(sandbox_org).order_by("-upstream_id").values_list("upstream_id", flat=True)[:5]
        ),
    )
    # Pages 1-2 answer, then the upstream fails for good.
    sandbox.set_faults(error_rate=1.0, path_prefix="/v2/inventories", token=sandbox_org.sandbox_token, after=2)
    run = run_sync(sandbox_org, "inventories", page_size=10)
    assert run.status == SyncRun.Status.FAILED and "500" in run.error
    assert run.pages == 2
    assert m.Inventory.objects.for_org(sandbox_org).count() == total
    assert not m.Inventory.objects.for_org(sandbox_org).exclude(vanished_at=None).exists()  # no pass, no vanish
    sandbox.clear_faults()
    repaired = run_sync(sandbox_org, "inventories", page_size=10)
    assert repaired.status == SyncRun.Status.SUCCESS and repaired.vanished == 5


def test_a_second_start_is_refused_while_one_runs(sandbox_org):
    running = start_run(sandbox_org, "inventories", "manual")
    with pytest.raises(AlreadyRunning):
        run_sync(sandbox_org, "inventories")
    assert SyncRun.objects.filter(organization=sandbox_org, resource="inventories").count() == 1
    running.status = SyncRun.Status.SUCCESS
    running.save()
    assert run_sync(sandbox_org, "inventories").status == SyncRun.Status.SUCCESS


def test_a_dead_run_is_reaped(sandbox_org, settings):
    settings.SYNC_STALE_AFTER = 0
    dead = start_run(sandbox_org, "countries", "schedule")
    run = run_sync(sandbox_org, "countries")
    dead.refresh_from_db()
    assert dead.status == SyncRun.Status.FAILED and "heartbeats" in dead.error
    assert run.status == SyncRun.Status.SUCCESS


def test_a_run_whose_worker_process_died_is_reaped_at_once(sandbox_org):
    import socket
    import subprocess
    import sys

    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    dead = start_run(sandbox_org, "countries", "schedule")
    assert dead.claimed_by.split()[1] == str(__import__("os").getpid())  # the run names its process
    SyncRun.objects.filter(pk=dead.pk).update(claimed_by=f"{socket.gethostname()} {gone.pid}")
    live = start_run(sandbox_org, "ship_methods", "schedule")  # held by this (live) process
    run = run_sync(sandbox_org, "countries")  # heartbeat fresh, SYNC_STALE_AFTER far off
    dead.refresh_from_db()
    assert dead.status == SyncRun.Status.FAILED and "died mid-run" in dead.error
    assert run.status == SyncRun.Status.SUCCESS
    with pytest.raises(AlreadyRunning):  # a live holder keeps its run
        run_sync(sandbox_org, "ship_methods")
    live.refresh_from_db()
    assert live.status == SyncRun.Status.WORKING


@pytest.mark.django_db(transaction=True)
def test_two_syncs_started_together_run_once(sandbox, transactional_db):
    from conftest import make_org

    sandbox.add_org("together-token", "together-secret", 5, "Together")
    sandbox.seed("together-token", scale=0.2)
    org = make_org("together", "Together", base_url=sandbox.url, token="together-token", secret="together-secret")
    sandbox.set_faults(latency_ms=100, token="together-token")
    results = []

    def go():
        from django.db import connection as conn

        try:
            results.append(run_sync(org, "inventories", page_size=20).status)
        except AlreadyRunning:
            results.append("refused")
        finally:
            conn.close()

    threads = [threading.Thread(target=go) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == ["refused", "success"]
    assert m.Inventory.objects.for_org(org).count() == SyncRun.objects.get(organization=org).rows_fetched


def test_rma_detail_is_fetched_only_for_new_changed_or_open(sandbox_org, sandbox):
    first = run_sync(sandbox_org, "rmas")
    total = m.Rma.objects.for_org(sandbox_org).count()
    open_count = m.Rma.objects.for_org(sandbox_org).filter(is_open=True).count()
    assert first.details_fetched == total
    second = run_sync(sandbox_org, "rmas")
    assert second.details_fetched == open_count < total
    closed = m.Rma.objects.for_org(sandbox_org).filter(is_open=False).first()
    sandbox.upsert(sandbox_org.sandbox_token, "rmas", [dict(closed.detail, subject="Changed subject")])
    third = run_sync(sandbox_org, "rmas")
    assert third.details_fetched == open_count + 1
    closed.refresh_from_db()
    assert closed.subject == "Changed subject" and closed.detail["subject"] == "Changed subject"


def test_the_writer_keeps_planner_statistics_as_a_table_grows(sandbox_org, sandbox, monkeypatch):
    """Autovacuum may be off or late: without statistics PostgreSQL flags vanished rows with a
    quadratic nested loop (minutes at 100,000 rows), so the writer analyzes what it grew,
    also when a second organization's slice grows inside a table the statistics already know."""
    from conftest import make_org
    from sync.engine import PostgresWriter, Writer, writer_for

    monkeypatch.setattr(PostgresWriter, "ANALYZE_MIN_ROWS", 10)
    run = run_sync(sandbox_org, "inventories")
    assert run.status == SyncRun.Status.SUCCESS and run.created > 20
    sandbox.add_org("second-token", "second-secret", 77, "Second")
    sandbox.seed("second-token", scale=0.2)
    second = make_org("second", "Second", base_url=sandbox.url, token="second-token", secret="second-secret")
    assert run_sync(second, "inventories").created > 20
    writer = writer_for(sandbox_org, registry.get("inventories"))
    if connection.vendor != "postgresql":
        assert type(writer) is Writer
        return
    with connection.cursor() as cur:
        cur.execute("SELECT reltuples FROM pg_class WHERE oid = 'mirror_inventory'::regclass")
        assert cur.fetchone()[0] >= run.created  # both slices, estimated at most 2x off
        cur.execute(
            "SELECT most_common_vals::text::bigint[] FROM pg_stats "
            "WHERE tablename = 'mirror_inventory' AND attname = 'organization_id'"
        )
        assert set(cur.fetchone()[0]) == {sandbox_org.pk, second.pk}
        writer.begin()
        writer.before_vanish(cur)
        sql, params = writer.vanish_statement()
        cur.execute("EXPLAIN " + sql, params)
        plan = "\n".join(r[0] for r in cur.fetchall())
    assert "Hash Anti Join" in plan or "Hash Right Anti Join" in plan, plan
