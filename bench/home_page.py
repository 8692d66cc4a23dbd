"""The home page in `bench/lists.py`: its extra data, the tally recount, and the page itself.

`bench/lists.py` fills the lists' tables (orders and RMAs, and the others it measures); for the
home page it also fills, with the same COPY machinery (`SPEC`), for each organization:

- as many automation queues and automation tasks as the lists' rows (1,000,000 for the first
  organization): 2 % of the queues in progress, 5 % of the tasks failed, finished over three years;
- 30 days of sync runs of every resource at its schedule's interval (orders every 2 minutes: 21,600
  runs), as `SYNC_RUN_DAYS` keeps them, which the freshness tally reads.

Then `measure()`, as a member with every role:

- recounts every tally of each organization (`home.services.recompute`, as the worker does), several
  times, and reports each provider's time (p50, slowest) and its queries;
- times the home page (stored tallies: p50/p95, queries, SQL), checks that its numbers are the exact
  counts (one COUNT per number, outside the timing) and that the page itself ran no COUNT;
- times it again with every tally marked changed (the page says "as of" and schedules a recount: the
  hand-over is counted here, not sent to a broker).
"""

from __future__ import annotations

import math
import random
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from lists import BATCH, ORGS, REPEAT, ListSpec, Result, copy_text, percentile, stamp

QUEUE_COLUMNS = (
    "id, organization_id, upstream_id, raw, content_hash, first_seen_at, changed_at, vanished_at, serial_id, "
    "work_order_id, finished, ip_address"
)
TASK_COLUMNS = (
    "id, organization_id, upstream_id, raw, content_hash, first_seen_at, changed_at, vanished_at, "
    "automation_queue_id, automation_task_type_id, sequence, started_at, completed_at, failed, message, "
    "assignee_name, work_order_id, item_id, manufacturer_serial"
)
RUN_COLUMNS = (
    "id, organization_id, resource, trigger, status, created_at, started_at, finished_at, heartbeat_at, pages, "
    "rows_fetched, created, updated, unchanged, vanished, details_fetched, error, claimed_by"
)
RUN_DAYS = 30
IN_PROGRESS = 0.02  # of the queues
FAILED = 0.05  # of the tasks


@dataclass
class Ids:
    queue: int = 0
    task: int = 0
    run: int = 0


def tables(org_id: int, prefix: str, count: int, n: int, ids: Ids, end: float) -> Iterator[dict[str, list[str]]]:
    """The COPY lines of one organization's automation queues, tasks and sync runs, `BATCH` at a time."""
    from sync import registry

    rng = random.Random(2000 + n)
    span = 3 * 365 * 86400
    base = 70_000_000 + 10_000_000 * n
    for first in range(0, count, BATCH):
        size = min(BATCH, count - first)
        queues: list[str] = []
        tasks: list[str] = []
        for k in range(size):
            i = first + k
            ids.queue += 1
            ids.task += 1
            done = end + 86400 - span + (i + rng.random()) * span / count  # the newest last, up to today
            in_progress = rng.random() < IN_PROGRESS or i >= count - 50
            seen, changed = stamp(done - 3600), stamp(done)
            queues.append(
                f"{ids.queue}\t{org_id}\t{base + i}\t{copy_text('{}')}\t{base + i:032x}\t{seen}\t{changed}\t\\N\t"
                f"{base + i}\t{300_000 + i}\t{'f' if in_progress else 't'}\t10.0.{i % 250}.{i % 200}\n"
            )
            failed = rng.random() < FAILED
            tasks.append(
                f"{ids.task}\t{org_id}\t{base + i}\t{copy_text('{}')}\t{base + i:032x}\t{seen}\t{changed}\t\\N\t"
                f"{base + i}\t{1 + i % 6}\t{i % 6}\t{stamp(done - 600)}\t{stamp(done)}\t{'t' if failed else 'f'}\t"
                f"{'failed: retrying' if failed else 'passed'}\t\t{300_000 + i}\t{100_000 + i % 240}\t"
                f"{prefix[:2]}{i:07d}JB\n"
            )
        yield {"mirror_automationqueue": queues, "mirror_automationtask": tasks}
    runs: list[str] = []
    for resource in registry.REGISTRY.values():
        every = resource.schedule_seconds
        for k in range(RUN_DAYS * 86400 // every):
            ids.run += 1
            started = end + 86400 - (k + 1) * every  # up to the day after the last order: "now"
            ok = rng.random() > 0.01
            runs.append(
                f"{ids.run}\t{org_id}\t{resource.name}\tschedule\t{'success' if ok else 'failed'}\t"
                f"{stamp(started)}\t{stamp(started)}\t{stamp(started + 2)}\t{stamp(started + 2)}\t1\t"
                f"{count if resource.name in ('orders', 'rmas') else 100}\t0\t0\t0\t0\t0\t"
                f"{'' if ok else 'ConnectionError: bench'}\t\n"
            )
    yield {"sync_syncrun": runs}


SPEC = ListSpec(
    name="home",
    url="/",
    row_table="mirror_automationqueue",
    link="",
    default_sort="",
    copies=(
        ("mirror_automationqueue", QUEUE_COLUMNS),
        ("mirror_automationtask", TASK_COLUMNS),
        ("sync_syncrun", RUN_COLUMNS),
    ),
    tables=tables,
    new_ids=Ids,
    add_local=None,
    cases=lambda spec, org_id, prefix, size: [],
    row_url=lambda object_id, submission_id: "",
)


# -- measure -------------------------------------------------------------------------------------
def recount(org_id: int, repeat: int) -> dict[str, tuple[list[float], int]]:
    """Every tally of one organization, `repeat` times, as the worker computes it: key -> (ms, queries)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from home import services, tallies

    out: dict[str, tuple[list[float], int]] = {p.key: ([], 0) for p in tallies.providers()}
    for _ in range(repeat):
        for provider in tallies.providers():
            with CaptureQueriesContext(connection) as ctx:
                started = time.perf_counter()
                services.recompute(org_id, keys=[provider.key])
                elapsed = (time.perf_counter() - started) * 1000
            times, _queries = out[provider.key]
            times.append(elapsed)
            out[provider.key] = (times, len(ctx.captured_queries))
    return out


def exact_numbers(org_id: int) -> dict[str, int]:
    """What the orders, RMAs and automation cards should say, counted exactly (outside any timing)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT status, count(*) FROM orders_orderrow WHERE organization_id = %s GROUP BY status", [org_id]
        )
        orders = dict(cursor.fetchall())
        cursor.execute("SELECT count(*) FROM rmas_rmarow WHERE organization_id = %s AND is_open", [org_id])
        (open_rmas,) = cursor.fetchone()
        cursor.execute(
            "SELECT count(*) FROM mirror_automationqueue WHERE organization_id = %s AND finished = false "
            "AND vanished_at IS NULL",
            [org_id],
        )
        (queues,) = cursor.fetchone()
    return {
        "Shipped": orders.get("Shipped", 0),
        "Waiting to be sent": sum(orders.get(s, 0) for s in ("queued", "sending", "retrying")),
        "All open": open_rmas,
        "Queues in progress": queues,
    }


def page_numbers(html: str) -> dict[str, int]:
    """label -> number of the page's figures."""
    out = {}
    for label, value in re.findall(r"<dt>([^<]+?)(?: <span[^>]*>[^<]*</span>)?</dt>\s*<dd><a [^>]*>([\d,]+)</a>", html):
        out[label.strip()] = int(value.replace(",", ""))
    return out


def time_page(client: Any, repeat: int, case: str) -> tuple[Result, str]:
    """The page's timings (as a list case's) and its last HTML."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    assert client.get("/").status_code == 200  # warm-up
    times, queries, db_times, captured, html = [], [], [], [], ""
    for _ in range(repeat):
        with CaptureQueriesContext(connection) as ctx:
            started = time.perf_counter()
            response = client.get("/")
            times.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200
        queries.append(len(ctx.captured_queries))
        db_times.append(sum(float(q["time"]) for q in ctx.captured_queries) * 1000)
        captured = list(ctx.captured_queries)
        html = response.content.decode()
    slowest = max(captured, key=lambda q: float(q["time"]))
    counts = [q["sql"] for q in captured if "COUNT(" in q["sql"].upper()]
    result = Result(
        case,
        times,
        queries,
        db_times,
        len(page_numbers(html)),
        "",
        "",
        "",
        slowest["sql"],
        float(slowest["time"]) * 1000,
    )
    if counts:
        result.wrong = f"the page ran a COUNT: {counts[0][:200]}"
    return result, html


def measure(repeat: int = REPEAT) -> list[Result]:
    """Recount, then time the page, for each organization; prints markdown tables. Returns the page results."""
    from django.contrib.auth import get_user_model
    from django.test import Client

    from accounts.models import Organization
    from home import services, tallies
    from home.models import Tally
    from portal import dispatch

    handed: list[int] = []

    def hand_over(channel: str, pk: int, *, countdown: float | None = None) -> bool:
        handed.append(pk)  # counted, not sent: no worker listens to the bench
        return True

    dispatch.hand_over = hand_over
    results: list[Result] = []
    print(
        f"\nhome page: tallies recounted as the worker does ({repeat} runs each, ms), then the page "
        f"({repeat} runs after one warm-up, as a member with every role)\n"
    )
    print("| organization | tally | p50 ms | slowest ms | queries |\n|---|---|---:|---:|---:|")
    recounts = []
    for slug, _name, _prefix in ORGS:
        org = Organization.objects.filter(slug=slug).first()
        if org is None:
            continue
        for key, (times, queries) in recount(org.pk, repeat).items():
            print(f"| {slug} | {key} | {percentile(times, 50):.1f} | {max(times):.1f} | {queries} |")
            recounts.append(sum(times) / len(times))
        tables = ("orders_orderrow", "rmas_rmarow", "mirror_automationqueue", "mirror_automationtask", "sync_syncrun")
        rows = {table: _count(table, org.pk) for table in tables}
        print(f"| {slug} | rows | " + ", ".join(f"{t} {n:,}" for t, n in rows.items()) + " | | |")
    print()
    print("| organization | case | p50 ms | p95 ms | of which SQL (p50) | queries | numbers checked |")
    print("|---|---|---:|---:|---:|---:|---|")
    for slug, _name, _prefix in ORGS:
        org = Organization.objects.filter(slug=slug).first()
        if org is None:
            continue
        client = Client()
        client.force_login(get_user_model().objects.get(username=slug))
        expected = exact_numbers(org.pk)
        for case in ("tallies current", "every tally changed (as of)"):
            if case.startswith("every"):
                services.mark(org.pk, [p.key for p in tallies.providers()])
            before = len(handed)
            result, html = time_page(client, repeat, case)
            shown = page_numbers(html)
            wrong = [f"{k}: page {shown.get(k)}, exact {v}" for k, v in expected.items() if shown.get(k) != v]
            if case.startswith("every"):
                if "as of" not in html:
                    wrong.append("no 'as of' on a changed tally")
                if len(handed) - before != 1:
                    wrong.append(f"{len(handed) - before} recounts scheduled in {repeat + 1} views (debounced: 1)")
            result.wrong = "; ".join(filter(None, [result.wrong, *wrong]))
            checked = ", ".join(f"{k} {v:,}" for k, v in expected.items())
            print(
                f"| {slug} | {case} | {result.p50:.1f} | {result.p95:.1f} | {percentile(result.db_times, 50):.1f} "
                f"| {result.query_text} | {checked}" + (f" **WRONG: {result.wrong}**" if result.wrong else "") + " |"
            )
            result.case = f"home page, {slug}: {case}"
            results.append(result)
        Tally.objects.filter(organization=org).update(changed_at=None)
    stamp_now = datetime.now(UTC).isoformat(timespec="seconds")
    if recounts:
        print(f"\n(recount mean of all tallies per run: {sum(recounts):.0f} ms; measured {stamp_now})")
    return [r for r in results if not math.isnan(r.p95)]


def _count(table: str, org_id: int) -> int:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM {table} WHERE organization_id = %s", [org_id])
        return cursor.fetchone()[0]
