"""The one generic sync engine, driven by sync.registry.

For a resource of an organization it pages through the upstream collection (fetching the
next page while the current one is written), maps each row to the mirror model's columns,
and upserts each page in bulk inside one transaction:

- rows whose content hash did not change are not written at all;
- on PostgreSQL changed rows go through COPY into a temporary staging table and one
  `INSERT ... SELECT ... ON CONFLICT DO UPDATE ... WHERE content_hash IS DISTINCT FROM ...`;
  elsewhere (SQLite, the laptop default) through bulk_create / bulk_update;
- the ids seen are kept in a temporary table (memory stays flat), and only after a
  complete pass are rows that were not seen flagged `vanished_at` (never deleted).

A failure leaves every page already written in place, and the run FAILED with its error;
the next run repairs the rest. At most one run per organization and resource is active
(a partial unique constraint on SyncRun); a run whose worker died is reaped after
SYNC_STALE_AFTER seconds without a heartbeat.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import queue
import re
import threading
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import orjson
from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from portal.processes import holder_is_gone, this_process
from upstream.client import UpstreamClient

from . import registry
from .models import SyncRun
from .registry import Resource

log = logging.getLogger("sync")

PAGE_SIZE = 1000
COMMON = ("upstream_id", "raw", "content_hash")


class AlreadyRunning(Exception):
    """Another run of this organization's resource is active."""


def canonical_json(raw) -> str:
    """The payload as stored and hashed: compact JSON, keys in upstream order, UTF-8 unescaped."""
    try:
        return orjson.dumps(raw).decode()
    except TypeError:  # an integer beyond 64 bits: the standard encoder has no such limit
        return json.dumps(_finite(raw), separators=(",", ":"), ensure_ascii=False)


def _finite(value: Any) -> Any:
    """NaN and infinities as null, as orjson writes them (JSON has no such numbers)."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_finite(v) for v in value]
    return value


# A NUL character, as JSON writes it: the escape not preceded by an odd run of backslashes.
_NUL = re.compile(r"(?<!\\)((?:\\\\)*)\\u0000")


def storable(raw) -> tuple[str, Any]:
    """The payload's canonical JSON and the payload itself, as a database can store them:
    without NUL characters, which PostgreSQL's text and jsonb refuse (one bad character in a
    note would otherwise fail the whole page). The common case costs one substring search."""
    text = canonical_json(raw)
    if "\\u0000" in text:
        text = _NUL.sub(r"\1", text)
        raw = json.loads(text)
    return text, raw


def content_hash(raw_json: str) -> str:
    return hashlib.md5(raw_json.encode(), usedforsecurity=False).hexdigest()


# -- fetching ---------------------------------------------------------------------------------
def fetch_pages(client: UpstreamClient, resource: Resource, page_size: int = PAGE_SIZE) -> Iterator[list[dict]]:
    if resource.kind == "csv":
        chunk: list[dict] = []
        for row in client.get_csv(resource.path):
            chunk.append(row)
            if len(chunk) >= page_size:
                yield chunk
                chunk = []
        if chunk:
            yield chunk
    else:
        for page in client.paginate(resource.path, page_size=page_size):
            if page.results:
                yield page.results


def prefetched(pages: Iterator[list[dict]], depth: int = 2) -> Iterator[list[dict]]:
    """Fetch the next pages in a thread while the caller writes the current one."""
    q: queue.Queue = queue.Queue(maxsize=depth)
    done = object()
    stop = threading.Event()

    def produce():
        try:
            for page in pages:
                if stop.is_set():
                    return
                q.put(page)
            q.put(done)
        except BaseException as exc:  # handed to the consumer
            q.put(exc)

    thread = threading.Thread(target=produce, name="sync-prefetch", daemon=True)
    thread.start()
    try:
        while True:
            item = q.get()
            if item is done:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        while thread.is_alive():  # unblock a producer waiting on a full queue
            try:
                q.get_nowait()
            except queue.Empty:
                thread.join(0.05)


# -- writing --------------------------------------------------------------------------------
class Writer:
    """Writes pages of one resource for one organization on the current connection."""

    def __init__(self, organization, resource: Resource):
        self.organization = organization
        self.resource = resource
        self.model = resource.model
        self.table = self.model._meta.db_table
        self.columns = list(resource.fields)

    def begin(self) -> None:
        with connection.cursor() as cur:
            cur.execute("CREATE TEMP TABLE IF NOT EXISTS sync_seen (upstream_id bigint)")
            cur.execute("DELETE FROM sync_seen")

    def prepare(self, rows: list[dict]) -> dict[int, tuple]:
        """upstream_id -> (raw json text, hash, raw dict); duplicates keep the last."""
        out: dict[int, tuple] = {}
        for raw in rows:
            upstream_id = _int(raw.get("id"))
            if upstream_id is None:
                continue
            text, raw = storable(raw)
            out[upstream_id] = (text, content_hash(text), raw)
        return out

    def existing(self, ids: list[int]) -> dict[int, tuple[str, bool, int]]:
        """upstream_id -> (content hash, vanished, mirror row id) of the rows already mirrored."""
        with connection.cursor() as cur:
            placeholders = ",".join(["%s"] * len(ids))
            cur.execute(
                f"SELECT upstream_id, content_hash, vanished_at IS NOT NULL, id FROM {self.table} "  # nosec B608  # table from model metadata; values bound
                f"WHERE organization_id = %s AND upstream_id IN ({placeholders})",
                [self.organization.pk, *ids],
            )
            return {r[0]: (r[1], bool(r[2]), r[3]) for r in cur.fetchall()}

    def write_page(self, rows: list[dict]) -> tuple[dict, list[tuple[int, int, dict]]]:
        prepared = self.prepare(rows)
        ids = list(prepared)
        counts = {"created": 0, "updated": 0, "unchanged": 0}
        if not ids:
            return counts, []
        existing = self.existing(ids)
        todo = {}
        mapper = self.resource.mapper
        for upstream_id, item in prepared.items():
            known = existing.get(upstream_id)
            if known and known[0] == item[1] and not known[1]:
                counts["unchanged"] += 1
            else:  # only rows to be written are mapped
                todo[upstream_id] = (*item, mapper(item[2]))
        changed = self.upsert(todo, existing) if todo else []
        for _pk, upstream_id, _raw in changed:
            counts["created" if upstream_id not in existing else "updated"] += 1
        self.mark_seen(ids)
        return counts, changed

    def page_committed(self) -> None:
        pass

    def mark_seen(self, ids: list[int]) -> None:
        with connection.cursor() as cur:
            cur.executemany("INSERT INTO sync_seen (upstream_id) VALUES (%s)", [(i,) for i in ids])

    def upsert(self, todo: dict[int, tuple], existing: dict) -> list[tuple[int, int, dict]]:
        now = timezone.now()
        model = self.model
        new, changed = [], []
        for upstream_id, (_text, digest, raw, values) in todo.items():
            obj = model(
                organization=self.organization,
                upstream_id=upstream_id,
                raw=raw,
                content_hash=digest,
                changed_at=now,
                vanished_at=None,
                **values,
            )
            if upstream_id in existing:
                obj.pk = existing[upstream_id][2]
                changed.append(obj)
            else:
                obj.first_seen_at = now
                new.append(obj)
        model.objects.bulk_create(new, batch_size=500)
        if changed:
            model.objects.bulk_update(
                changed, ["raw", "content_hash", "changed_at", "vanished_at", *self.columns], batch_size=500
            )
        if new and new[0].pk is None:  # backends without RETURNING on bulk insert
            created = dict(
                model.objects.filter(
                    organization=self.organization, upstream_id__in=[o.upstream_id for o in new]
                ).values_list("upstream_id", "pk")
            )
            for obj in new:
                obj.pk = created[obj.upstream_id]
        return [(o.pk, o.upstream_id, o.raw) for o in [*new, *changed]]

    def vanish_statement(self) -> tuple[str, list]:
        return (
            f"UPDATE {self.table} SET vanished_at = %s WHERE organization_id = %s "  # nosec B608  # table from model metadata
            f"AND vanished_at IS NULL AND NOT EXISTS "
            f"(SELECT 1 FROM sync_seen s WHERE s.upstream_id = {self.table}.upstream_id)",
            [timezone.now(), self.organization.pk],
        )

    def before_vanish(self, cur) -> None:
        pass

    def mark_vanished(self) -> int:
        with connection.cursor() as cur:
            self.before_vanish(cur)
            cur.execute(*self.vanish_statement())
            return cur.rowcount


class PostgresWriter(Writer):
    """COPY into a staging table, then one INSERT ... ON CONFLICT that skips unchanged rows."""

    # Planner statistics. Without them PostgreSQL guesses that an organization owns a handful of
    # rows, and then looks rows up by scanning the organization's slice (O(n) per page) and
    # flags vanished rows with a nested-loop anti-join (O(n^2): minutes at 100,000 rows).
    # Autovacuum may be off, or lag behind a first sync, and it never sees one organization's
    # slice grow inside a large table. So the writer analyzes the table itself:
    # - at the start of a run, when the table has no statistics or has doubled or halved since;
    # - during a run, each time this organization's slice has doubled since the statistics last
    #   saw it (a first sync of n rows analyzes log2(n / 1000) times; a re-sync that adds
    #   nothing never does).
    ANALYZE_MIN_ROWS = 1000

    def begin(self) -> None:
        cols = ", ".join([*COMMON, *self.columns])
        self.stage = f"sync_stage_{self.table}"
        with connection.cursor() as cur:
            cur.execute("CREATE TEMP TABLE IF NOT EXISTS sync_seen (upstream_id bigint)")
            cur.execute("TRUNCATE sync_seen")
            cur.execute(f"CREATE TEMP TABLE IF NOT EXISTS {self.stage} AS SELECT {cols} FROM {self.table} WITH NO DATA")  # nosec B608  # names from model metadata
            cur.execute(
                "SELECT c.reltuples, COALESCE(s.n_live_tup, 0) FROM pg_class c "
                "LEFT JOIN pg_stat_user_tables s ON s.relid = c.oid WHERE c.oid = %s::regclass",
                [self.table],
            )
            reltuples, live = cur.fetchone()
        # The slice's size as the last successful run left it; rows added to it since.
        self.slice_rows = (
            SyncRun.objects.filter(
                organization=self.organization, resource=self.resource.name, status=SyncRun.Status.SUCCESS
            )
            .order_by("-created_at")
            .values_list("rows_fetched", flat=True)
            .first()
            or 0
        )
        self.added = 0
        if abs(live - max(reltuples, 0)) >= max(self.ANALYZE_MIN_ROWS, reltuples):
            self.analyze()

    def analyze_if_stale(self) -> None:
        if self.added >= max(self.ANALYZE_MIN_ROWS, self.slice_rows):
            self.analyze()

    def analyze(self) -> None:
        with connection.cursor() as cur:
            # Only the columns the engine's own statements filter on: statistics of the JSON
            # payload cost most of a full ANALYZE (690 ms against 170 ms at 200,000 rows). A partial
            # ANALYZE leaves the modification counter alone, so autovacuum still does a full one.
            cur.execute(f"ANALYZE {self.table} (organization_id, upstream_id, vanished_at)")
        self.slice_rows += self.added
        self.added = 0

    def write_page(self, rows: list[dict]) -> tuple[dict, list[tuple[int, int, dict]]]:
        with connection.cursor() as cur:
            # A mirror page can always be fetched again: a crash may lose the last moment of
            # commits (never consistency), and the next run repairs it. Saves a flush per page.
            cur.execute("SET LOCAL synchronous_commit = off")
        counts, changed = super().write_page(rows)
        self.added += counts["created"]
        return counts, changed

    def page_committed(self) -> None:
        # Outside the page's transaction: ANALYZE's table lock is then held for the ANALYZE only.
        self.analyze_if_stale()

    def before_vanish(self, cur) -> None:
        cur.execute("ANALYZE sync_seen")  # temporary tables are never analyzed by autovacuum
        # Flagging is an anti-join of two large sets: a hash join is right at every size, a
        # nested loop (chosen on a bad estimate) is quadratic.
        cur.execute("SET LOCAL enable_nestloop = off")

    def existing(self, ids: list[int]) -> dict[int, tuple[str, bool, int]]:
        with connection.cursor() as cur:
            cur.execute(
                f"SELECT upstream_id, content_hash, vanished_at IS NOT NULL, id FROM {self.table} "  # nosec B608  # table from model metadata; values bound
                f"WHERE organization_id = %s AND upstream_id = ANY(%s::bigint[])",
                [self.organization.pk, "{" + ",".join(map(str, ids)) + "}"],
            )  # ints: safe literal
            return {r[0]: tuple(r[1:]) for r in cur.fetchall()}

    def mark_seen(self, ids: list[int]) -> None:
        with (
            connection.cursor() as cur,
            cur.connection.cursor().copy("COPY sync_seen (upstream_id) FROM STDIN") as copy,
        ):
            for i in ids:
                copy.write_row((i,))

    def upsert(self, todo: dict[int, tuple], existing: dict) -> list[tuple[int, int, dict]]:
        now = timezone.now()
        cols = [*COMMON, *self.columns]
        col_list = ", ".join(cols)
        updates = ", ".join(f"{c} = EXCLUDED.{c}" for c in ["raw", "content_hash", *self.columns])
        with connection.cursor() as cur:
            raw_conn = cur.connection
            with raw_conn.cursor() as pg:
                pg.execute(f"TRUNCATE {self.stage}")
                with pg.copy(f"COPY {self.stage} ({col_list}) FROM STDIN") as copy:
                    for upstream_id, (text, digest, _raw, values) in todo.items():
                        copy.write_row((upstream_id, text, digest, *[values[c] for c in self.columns]))
                pg.execute(
                    f"INSERT INTO {self.table} (organization_id, first_seen_at, changed_at, vanished_at, {col_list}) "  # nosec B608  # names from model metadata; values bound
                    f"SELECT %s, %s, %s, NULL, {col_list} FROM {self.stage} "
                    f"ON CONFLICT (organization_id, upstream_id) DO UPDATE SET {updates}, "
                    f"changed_at = EXCLUDED.changed_at, vanished_at = NULL "
                    f"WHERE {self.table}.content_hash IS DISTINCT FROM EXCLUDED.content_hash "
                    f"OR {self.table}.vanished_at IS NOT NULL "
                    f"RETURNING id, upstream_id",
                    [self.organization.pk, now, now],
                )
                returned = pg.fetchall()
        return [(pk, upstream_id, todo[upstream_id][2]) for pk, upstream_id in returned]


def writer_for(organization, resource: Resource) -> Writer:
    return (PostgresWriter if connection.vendor == "postgresql" else Writer)(organization, resource)


def _int(value):
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


# -- runs -----------------------------------------------------------------------------------
def reap_stale_runs(organization, resource_name: str) -> int:
    """Fail the active runs of this resource whose worker is gone: its heartbeat is older than
    SYNC_STALE_AFTER, or its process is known dead (portal.processes.holder_is_gone)."""
    active = SyncRun.objects.filter(
        organization=organization,
        resource=resource_name,
        status__in=[SyncRun.Status.PENDING, SyncRun.Status.WORKING],
    )
    cutoff = timezone.now() - timedelta(seconds=settings.SYNC_STALE_AFTER)
    reaped = active.filter(heartbeat_at__lt=cutoff).update(
        status=SyncRun.Status.FAILED,
        finished_at=timezone.now(),
        error="the worker stopped sending heartbeats (killed or lost); the next run repairs the mirror",
    )
    for pk, holder in active.exclude(claimed_by="").values_list("pk", "claimed_by"):
        if holder_is_gone(holder):
            log.warning("sync run %s of %s: its process (%s) is gone; failing it", pk, resource_name, holder)
            reaped += active.filter(pk=pk, claimed_by=holder).update(
                status=SyncRun.Status.FAILED,
                finished_at=timezone.now(),
                error="its worker process died mid-run (killed); the next run repairs the mirror",
            )
    return reaped


def start_run(organization, resource_name: str, trigger: str) -> SyncRun:
    """A WORKING run row, or AlreadyRunning when another is active for this org and resource."""
    reap_stale_runs(organization, resource_name)
    now = timezone.now()
    try:
        with transaction.atomic():
            return SyncRun.objects.create(
                organization=organization,
                resource=resource_name,
                trigger=trigger,
                status=SyncRun.Status.WORKING,
                started_at=now,
                heartbeat_at=now,
                claimed_by=this_process(),
            )
    except IntegrityError:
        raise AlreadyRunning(f"a sync of {resource_name} for {organization.slug} is already running") from None


def _safe_error(exc: BaseException) -> str:
    text = str(exc).splitlines()[0] if str(exc) else ""
    return f"{exc.__class__.__name__}: {text}"[:1000]


def run_sync(
    organization,
    resource_name: str,
    trigger: str = SyncRun.Trigger.SCHEDULE,
    *,
    client: UpstreamClient | None = None,
    on_page: Callable[[SyncRun], None] | None = None,
    page_size: int = PAGE_SIZE,
) -> SyncRun:
    """Run one sync now, in this process. Raises AlreadyRunning when one is active."""
    resource = registry.get(resource_name)
    run = start_run(organization, resource_name, trigger)
    own_client = client is None
    client = client or UpstreamClient(organization)
    writer = writer_for(organization, resource)
    client.defer_call_log()  # pages are fetched on a helper thread; its calls are logged from here
    try:
        writer.begin()
        for rows in prefetched(fetch_pages(client, resource, page_size)):
            with transaction.atomic():
                counts, changed = writer.write_page(rows)
                for hook in registry.page_hooks(resource):
                    hook(organization, client, changed, run)
                run.pages += 1
                run.rows_fetched += len(rows)
                run.created += counts["created"]
                run.updated += counts["updated"]
                run.unchanged += counts["unchanged"]
                run.heartbeat_at = timezone.now()
                run.save(update_fields=["pages", "rows_fetched", "created", "updated", "unchanged", "heartbeat_at"])
            writer.page_committed()
            client.flush_call_log()
            if on_page:
                on_page(run)
        with transaction.atomic():
            run.vanished = writer.mark_vanished()
            for vanish_hook in registry.vanish_hooks(resource):
                vanish_hook(organization, run)
        if resource.after_run:
            resource.after_run(organization, client, run)
        run.status = SyncRun.Status.SUCCESS
    except Exception as exc:
        log.warning("sync %s of %s failed: %s", resource_name, organization.slug, _safe_error(exc))
        run.status = SyncRun.Status.FAILED
        run.error = _safe_error(exc)
    finally:
        client.flush_call_log()
        run.finished_at = timezone.now()
        run.save()
        if own_client:
            client.close()
    for hook in registry.finish_hooks(resource):
        try:
            hook(organization, run)
        except Exception:  # what listens to runs never undoes one
            log.exception("a hook after the %s sync of %s failed", resource_name, organization.slug)
    return run
