"""The automation board in `bench/lists.py` (`--lists automation`): its fill, its cases and its live refresh.

`bench/lists.py` fills it with its COPY machinery (`SPEC`), for each organization (`--sizes` counts tasks, ten
per queue: 100,000 queues and about 1,000,000 tasks for the first, a tenth of that for the second):

- 10 task types (a server line: receive, firmware, ..., burn-in, imaging, final QA, pack), each with a
  manager's stuck limit (`StuckLimit`, 45 minutes to two days);
- the queues, created over a year (the oldest 65 % over eleven months, the rest over the last 30 days), each
  with 3 to 20 tasks (10 on average) run in sequence: about 70 % finished, 25 % in progress with one running
  task (started within its type's limit: not stuck), 5 % not started; one queue in 12.5 fails a task once,
  and the retry the upstream adds follows it; about 300 queues (30 in the second) stopped months ago in a
  running task, so the Stuck tab has rows; work orders of 1 to 40 consecutive queues;
- one `QueueRow` per queue, built in Python from the generated tasks by the app's own builders
  (`automation.rows.attempts`, `summary`, `_finish` with its `_version`, and `TABLE.row_values` for the
  search text), then copied (the JSON `tasks` column as JSON text).

Then, through the app (`add_local`): a sample of the copied rows is refreshed by `automation.rows.refresh`
and must come out unchanged (the copied rows are what the app writes); 300 queue submissions (30 in the
second organization) that the mirror has not got yet, in every delivery status, submitted over the last
30 days; and a pending "complete" on 30 (3) running tasks.

The cases: the first page, each tab, each sort both ways, page 1,500 by keyset, the last page, a serial
substring, a queue number, a work order, a current task type, failed in the last 24 hours and 90 days, the
queues CSV and the tasks CSV of one work order, and the board's refresh (`/automation/changes/`) for the
50 rows of the first page: nothing changed, 5 rows changed, all 50 changed (a refresh: < 50 ms).
The same mirror tables' rows of `bench/home_page.py` (when it fills too) have other ids and no board rows.
"""

from __future__ import annotations

import json
import random
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from home_page import QUEUE_COLUMNS, TASK_COLUMNS  # one COPY stream per table when the home page fills them too
from lists import (
    BATCH,
    FIRST,
    LAST,
    Check,
    ListSpec,
    Result,
    copy_text,
    deep_page_case,
    local_deliveries,
    nothing_wrong,
    sort_cases,
)

TYPE_COLUMNS = (
    "id, organization_id, upstream_id, raw, content_hash, first_seen_at, changed_at, vanished_at, name, description"
)
LIMIT_COLUMNS = "id, organization_id, task_type_id, minutes, updated_by_id, updated_at"

TASKS_PER_QUEUE = 10  # on average: --sizes counts tasks
QUEUE_BATCH = BATCH // TASKS_PER_QUEUE  # queues per COPY write (about BATCH tasks)
TYPE_BASE = 900  # task type upstream ids 901..910
TASK_TYPES = (  # (name, stuck limit in minutes, typical minutes, manual: has an assignee)
    ("Receive and inspect", 240, 20, True),
    ("BMC and BIOS firmware", 90, 25, False),
    ("Hardware inventory check", 45, 8, False),
    ("Memory test", 360, 120, False),
    ("Burn-in", 2880, 720, False),
    ("Disk wipe and test", 600, 180, False),
    ("OS imaging", 180, 40, False),
    ("Network configuration", 60, 10, False),
    ("Final QA", 240, 30, True),
    ("Pack and label", 480, 15, True),
)
LIMITS = {TYPE_BASE + 1 + k: limit for k, (_name, limit, _typical, _manual) in enumerate(TASK_TYPES)}
TYPICAL = {TYPE_BASE + 1 + k: typical for k, (_name, _limit, typical, _manual) in enumerate(TASK_TYPES)}
MANUAL = {TYPE_BASE + 1 + k for k, (_name, _limit, _typical, manual) in enumerate(TASK_TYPES) if manual}
OLD_SHARE = 0.65  # queues created over the year but its last 30 days: finished (but for the stuck ones)
RECENT = (5, 5, 25)  # the last 30 days' queues, in 35ths: finished, not started, in progress
FAILED_SHARE = 0.08  # queues with one failed attempt (and its retry)
STUCK_QUEUES = 300  # in progress since months (first organization; a tenth in the second)
FAIL_REASONS = ("memory errors on DIMM B2", "POST timeout", "disk SMART failure", "image checksum mismatch",
                "BMC unreachable", "fan speed out of range", "PXE boot failed")  # fmt: skip
QUEUE_PK = 20_000_000  # apart from bench/home_page.py's queues and tasks (numbered from 1)
TASK_PK = 20_000_000
QUEUE_UPSTREAM = 400_000_000  # + 10,000,000 per organization
TASK_UPSTREAM = 500_000_000  # + 20,000,000 per organization
SERIAL_UPSTREAM = 8_000_000
WORK_ORDER_BASE = 600_000  # + 100,000 per organization


@dataclass
class Ids:
    type: int = 0
    limit: int = 0
    queue: int = QUEUE_PK
    task: int = TASK_PK
    row: int = 0


def when(ts: float) -> datetime:
    """A moment as the database gives it back (whole seconds here, UTC)."""
    return datetime.fromtimestamp(int(ts), UTC)


def iso(moment: datetime | None) -> str:
    return "\\N" if moment is None else str(moment)


def plan(rng: random.Random, kind: str, types: list[int], fail_at: int | None, current: int) -> list[list[Any]]:
    """One queue's attempts as [sequence index, type, start offset s, end offset s or None, failed], from 0
    (its first start) on: tasks 0..current-1 completed, `current` running (in progress); every task completed
    (finished); none (not started). A failure comes before its retry, at the same index."""
    last = {"finished": len(types) - 1, "in_progress": current, "not_started": -1}[kind]
    out: list[list[Any]] = []
    t = 0.0
    for j in range(last + 1):
        typical = TYPICAL[types[j]] * 60
        if j == fail_at:
            took = typical * rng.uniform(0.1, 0.8)
            out.append([j, types[j], t, t + took, True])
            t += took + rng.uniform(5, 120) * 60  # a look at the unit, then the retry
        took = typical * rng.uniform(0.6, 1.5)
        running = kind == "in_progress" and j == current
        out.append([j, types[j], t, None if running else t + took, False])
        if not running:
            t += took + rng.uniform(0.5, 30) * 60
    return out


def tables(org_id: int, prefix: str, count: int, n: int, ids: Ids, end: float) -> Iterator[dict[str, list[str]]]:
    """The COPY lines of one organization's task types and stuck limits, then of its queues, their tasks and
    their board rows, `QUEUE_BATCH` queues at a time. Times run up to now (a running task must not be
    stuck yet), not to the lists' `end`."""
    from automation.rows import ROW_FIELDS, TABLE, Status, _finish, attempts, summary

    rng = random.Random(4000 + n)
    now = float(int(time.time()))
    day = 86400.0
    seen = when(now - 400 * day)
    type_lines, limit_lines = [], []
    for k, (name, minutes, _typical, _manual) in enumerate(TASK_TYPES):
        ids.type += 1
        ids.limit += 1
        upstream_id = TYPE_BASE + 1 + k
        raw = json.dumps({"id": upstream_id, "name": name})
        type_lines.append(
            f"{ids.type}\t{org_id}\t{upstream_id}\t{copy_text(raw)}\t{upstream_id:032x}\t{seen}\t{seen}\t\\N\t"
            f"{name}\t\n"
        )
        limit_lines.append(f"{ids.limit}\t{org_id}\t{upstream_id}\t{minutes}\t\\N\t{iso(when(now - 30 * day))}\n")
    yield {"mirror_automationtasktype": type_lines, "automation_stucklimit": limit_lines}

    queues = max(1, count // TASKS_PER_QUEUE)
    old = int(queues * OLD_SHARE)
    stuck_share = STUCK_QUEUES / (10**n) / max(1, old)
    queue_base = QUEUE_UPSTREAM + 10_000_000 * n
    task_upstream = TASK_UPSTREAM + 20_000_000 * n
    work_order, work_order_left, item = WORK_ORDER_BASE + 100_000 * n, 0, 0
    middle = list(range(TYPE_BASE + 2, TYPE_BASE + 10))  # between receiving and packing
    for first in range(0, queues, QUEUE_BATCH):
        queue_lines: list[str] = []
        task_lines: list[str] = []
        rows: list[str] = []
        for i in range(first, min(queues, first + QUEUE_BATCH)):
            if work_order_left == 0:
                work_order += 1
                work_order_left = rng.randint(1, 40)
                item = 100_000 + rng.randrange(240)
            work_order_left -= 1
            if i < old:  # created over eleven months
                created = now - 365 * day + (i + rng.random()) * 335 * day / old
                kind = "in_progress" if rng.random() < stuck_share else "finished"
            else:  # over the last 30 days
                created = now - 30 * day + (i - old + rng.random()) * 30 * day / (queues - old)
                r = rng.random() * sum(RECENT)
                kind = "finished" if r < RECENT[0] else ("not_started" if r < RECENT[0] + RECENT[1] else "in_progress")
            size = min(20, max(3, round(rng.triangular(3, 20, 6.75))))
            types = [TYPE_BASE + 1, *sorted(rng.choices(middle, k=size - 2)), TYPE_BASE + 10]
            current = rng.randrange(size) if kind == "in_progress" else -1
            reach = {"finished": size, "in_progress": current + 1, "not_started": 0}[kind]
            fail_at = rng.randrange(reach) if reach and rng.random() < FAILED_SHARE else None
            steps = plan(rng, kind, types, fail_at, current)
            start = created + rng.uniform(2, 60) * 60  # the first task's start
            if kind == "in_progress" and i >= old:  # running now, within its type's limit
                running_type, running_at = steps[-1][1], steps[-1][2]
                start = now - rng.uniform(0.02, 0.5) * LIMITS[running_type] * 60 - running_at
                created = min(created, start - rng.uniform(2, 60) * 60)
            elif kind == "finished":
                overrun = start + steps[-1][3] - (now - 60)
                if overrun > 0:  # a recent queue whose tasks would end in the future: earlier
                    start -= overrun
                    created -= overrun
            queue_id, upstream_id = ids.queue + 1, queue_base + i
            ids.queue += 1
            serial = f"{prefix[:2]}{i:07d}JB{rng.randrange(1000):03d}"
            ip = f"10.{16 + n}.{i // 250 % 256}.{i % 250 + 1}"
            first_seen = when(created + 60)
            finished = kind == "finished"
            # The tasks: the upstream made one per sequence with the queue, and the retry of a failure later.
            task_ids = [task_upstream + k for k in range(size)]
            task_upstream += size
            mirrored: list[dict[str, Any]] = []
            attempted: dict[int, list[list[Any]]] = {}
            for planned in steps:
                attempted.setdefault(planned[0], []).append(planned)
            for j in range(size):
                tried: list[list[Any] | None] = [*attempted.get(j, [])] or [None]  # None: not started
                for a, step in enumerate(tried):
                    task_id = task_ids[j]
                    if a:  # the retry after a failure, made by the upstream later
                        task_id, task_upstream = task_upstream, task_upstream + 1
                    started = None if step is None else when(start + step[2])
                    completed = None if step is None or step[3] is None else when(start + step[3])
                    failed = bool(step and step[4])
                    message = ""
                    if failed:
                        message = f"failed: {rng.choice(FAIL_REASONS)}"
                    elif completed is not None and types[j] not in MANUAL:
                        message = "passed"
                    mirrored.append(
                        {
                            "upstream_id": task_id,
                            "automation_queue_id": upstream_id,
                            "automation_task_type_id": types[j],
                            "sequence": j + 1,
                            "started_at": started,
                            "completed_at": completed,
                            "failed": failed,
                            "message": message,
                            "assignee_name": f"{rng.choice(FIRST)} {rng.choice(LAST)}" if types[j] in MANUAL else "",
                            "manufacturer_serial": serial,
                            "work_order_id": work_order,
                        }
                    )
            changed = max([t for m in mirrored for t in (m["started_at"], m["completed_at"]) if t] or [first_seen])
            raw = json.dumps({"id": upstream_id, "manufacturer_serial": serial, "finished": finished})
            queue_lines.append(
                f"{queue_id}\t{org_id}\t{upstream_id}\t{copy_text(raw)}\t{upstream_id:032x}\t{first_seen}\t"
                f"{changed}\t\\N\t{SERIAL_UPSTREAM + 1_000_000 * n + i}\t{work_order}\t{'t' if finished else 'f'}\t"
                f"{ip}\n"
            )
            for m in mirrored:
                ids.task += 1
                task_raw = json.dumps(
                    {"id": m["upstream_id"], "automation_queue_id": upstream_id, "sequence": m["sequence"]}
                )
                task_lines.append(
                    f"{ids.task}\t{org_id}\t{m['upstream_id']}\t{copy_text(task_raw)}\t{m['upstream_id']:032x}\t"
                    f"{first_seen}\t{changed}\t\\N\t{upstream_id}\t{m['automation_task_type_id']}\t{m['sequence']}\t"
                    f"{iso(m['started_at'])}\t{iso(m['completed_at'])}\t{'t' if m['failed'] else 'f'}\t"
                    f"{copy_text(m['message'])}\t{copy_text(m['assignee_name'])}\t{work_order}\t{item}\t{serial}\n"
                )
            # The board row, as automation.rows._queue_rows builds it from these tasks.
            drawn = attempts([], mirrored, [])
            facts = summary(drawn, LIMITS)
            done = finished or facts["all_done"]
            if done:
                status = Status.FINISHED
                facts["stuck_at"] = None
            elif any(a["started"] for a in drawn):
                status = Status.IN_PROGRESS
            else:
                status = Status.NOT_STARTED
            values = {
                "organization_id": org_id,
                "queue_id": queue_id,
                "submission_id": None,
                "upstream_id": upstream_id,
                "manufacturer_serial": serial,
                "serial_id": SERIAL_UPSTREAM + 1_000_000 * n + i,
                "work_order_id": work_order,
                "ip_address": ip,
                "status": status,
                "finished": done,
                "tasks": drawn,
            }
            values = TABLE.row_values(**_finish(values, facts, first_seen))
            ids.row += 1
            rows.append("\t".join([str(ids.row), *(copy_text(values[f]) for f in ROW_FIELDS)]) + "\n")
        yield {"mirror_automationqueue": queue_lines, "mirror_automationtask": task_lines, "automation_queuerow": rows}


def row_fields() -> tuple[str, ...]:
    from automation.rows import ROW_FIELDS

    return ROW_FIELDS


def row_url(queue_id: int | None, submission_id: int | None) -> str:
    """The link a board row shows (its serial's page, at the queue): looked up, it names the serial."""
    from automation.models import QueueRow

    rows = (
        QueueRow.objects.filter(queue_id=queue_id) if queue_id else QueueRow.objects.filter(submission_id=submission_id)
    )
    return rows.get().url


# -- through the app ---------------------------------------------------------------------------------------
def same_as_refresh(org_id: int, wanted: int = 200) -> int:
    """About `wanted` copied rows of the organization, spread over it, recomputed by `automation.rows.refresh`,
    must not change: the rows the bench copied are the rows the app writes. Returns how many were checked."""
    from django.db.models import F

    from automation import rows
    from automation.models import QueueRow

    fields = rows.ROW_FIELDS
    copied = QueueRow.objects.filter(organization_id=org_id, queue_id__isnull=False)
    every = max(1, copied.count() // wanted)
    sample = copied.annotate(nth=F("id") % every).filter(nth=0)
    before = {r["queue_id"]: r for r in sample.values(*fields)}
    rows.refresh(org_id, queue_ids=list(before))
    after = {r["queue_id"]: r for r in QueueRow.objects.filter(queue_id__in=list(before)).values(*fields)}
    for queue_id, old in before.items():
        new = after.get(queue_id)
        differ = [f for f in fields if new is None or old[f] != new[f]]
        if differ:
            shown = {f: (old[f], new[f] if new else None) for f in differ if f != "tasks"}
            raise SystemExit(f"the copied board row of queue {queue_id} differs from the app's in {differ}: {shown}")
    return len(before)


def add_local(org: Any, count: int, seed: int) -> None:
    """Check the copied rows against the app's refresh; then queue submissions the mirror has not got yet, in
    every delivery status, submitted over the last 30 days, and pending actions on running tasks, their rows
    written by the app."""
    from django.db.models import F

    from automation import rows
    from automation.models import QueueRow, QueueSubmission, QueueTaskRequest, TaskAction
    from outbox.models import Delivery

    checked = same_as_refresh(org.pk)
    print(f"{org.slug}: {checked} copied board rows recomputed by automation.rows.refresh: unchanged", flush=True)
    rng = random.Random(seed)
    deliveries = local_deliveries(org, Delivery.Kind.QUEUE_CREATE, "/v2/automation_queues", count)
    submissions = QueueSubmission.objects.bulk_create(
        [
            QueueSubmission(
                organization=org,
                delivery=delivery,
                manufacturer_serial=f"WEB{k:05d}JB{rng.randrange(1000):03d}",
                ip_address=f"10.99.{k // 250}.{k % 250 + 1}",
            )
            for k, delivery in enumerate(deliveries)
        ]
    )
    QueueTaskRequest.objects.bulk_create(
        [
            QueueTaskRequest(
                submission=s,
                task_type_id=type_id,
                task_type_name=TASK_TYPES[type_id - TYPE_BASE - 1][0],
                sequence=q + 1,
                assignee_id=None,
            )
            for s in submissions
            for q, type_id in enumerate((TYPE_BASE + 1, TYPE_BASE + 7, TYPE_BASE + 10))
        ]
    )
    for s, delivery in zip(submissions, deliveries, strict=True):  # submitted over the last 30 days
        ago = timedelta(seconds=rng.uniform(0, 30 * 86400))
        QueueSubmission.objects.filter(pk=s.pk).update(
            created_at=F("created_at") - ago, updated_at=F("updated_at") - ago
        )
        Delivery.objects.filter(pk=delivery.pk).update(updated_at=F("updated_at") - ago)
    rows.refresh(org.pk, submission_ids=[s.pk for s in submissions])

    running = list(
        QueueRow.objects.filter(organization=org, status=rows.Status.IN_PROGRESS, queue__isnull=False)
        .order_by("id")
        .values("upstream_id", "manufacturer_serial", "ip_address", "current_sequence")[: max(1, count // 10)]
    )
    for r in running:
        delivery = Delivery.objects.create(
            organization=org, kind=Delivery.Kind.TASK_ACTION, method="PUT", path="/v2/automation_tasks", body="{}"
        )
        TaskAction.objects.create(
            organization=org,
            delivery=delivery,
            queue_upstream_id=r["upstream_id"],
            manufacturer_serial=r["manufacturer_serial"],
            ip_address=r["ip_address"],
            sequence=r["current_sequence"] or 1,
            message_type=TaskAction.Type.COMPLETE,
            message="done on the bench",
        )
    rows.refresh_upstream(org.pk, [r["upstream_id"] for r in running])


# -- the cases -----------------------------------------------------------------------------------------
def shows_total(expected: int) -> Check:
    """The page's summary gives this exact total (at most the count cap)."""

    def check(result: Result) -> str:
        if expected and result.summary.endswith(f" of {expected:,}"):
            return ""
        if not expected and result.rows == 0:
            return ""
        return f"summary {result.summary!r}, a COUNT over every row gives {expected:,}"

    return check


def has_rows(result: Result) -> str:
    return "" if result.rows else "no rows"


def exported(expected: int, word: str) -> Check:
    """A CSV export's last line says it wrote `expected` rows, and it did."""

    def check(result: Result) -> str:
        if result.summary == f"# {expected} {word}" and result.rows == expected:
            return ""
        return f"{result.rows} lines, last {result.summary!r}; a COUNT gives {expected:,} {word}"

    return check


def refreshed(redrawn: int, budget_ms: float | None) -> Check:
    """The refresh redrew this many rows, said nothing of new queues, and (if given) stayed in its budget."""

    def check(result: Result) -> str:
        wrong = []
        if result.rows != redrawn:
            wrong.append(f"{result.rows} rows redrawn, expected {redrawn}")
        new = re.search(r'id="board-new"[^>]*>([^<]*)', result.html)
        if new and new.group(1).strip():
            wrong.append(f"says {new.group(1).strip()!r} (nothing was added since the page loaded)")
        if budget_ms is not None and result.p95 >= budget_ms:
            wrong.append(f"p95 {result.p95:.1f} ms, over the {budget_ms:.0f} ms a refresh may cost")
        return "; ".join(wrong)

    return check


def board_page(org_id: int) -> tuple[str, str]:
    """The versions and the newest id the board's first page sends on its refresh, as its member sees it."""
    from django.contrib.auth import get_user_model
    from django.test import Client

    from accounts.models import Organization

    slug = Organization.objects.get(pk=org_id).slug
    client = Client()
    client.force_login(get_user_model().objects.get(username=slug))
    html = client.get("/automation/").content.decode()
    versions = re.search(r'id="board-versions" value="([^"]*)"', html)
    newest = re.search(r'id="board-newest" value="([^"]*)"', html)
    assert versions and newest, "the board page has no refresh inputs"
    return versions.group(1), newest.group(1)


def cases(spec: ListSpec, org_id: int, prefix: str, size: int) -> list[tuple[str, str, Check]]:
    """(case, URL, check) of one organization's board, its exports and its refresh."""
    from urllib.parse import urlencode

    from django.db import connection
    from django.utils import timezone

    from automation.lists import BoardView
    from automation.models import ROW_SORTS, serial_url

    url = spec.url
    now = timezone.now()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT upstream_id, manufacturer_serial, work_order_id FROM automation_queuerow "
            "WHERE organization_id = %s AND queue_id IS NOT NULL ORDER BY upstream_id OFFSET %s LIMIT 1",
            [org_id, size * 3 // 7],
        )
        number, serial, work_order = cursor.fetchone()

        def count(sql: str, params: list[Any]) -> int:
            cursor.execute(sql, params)
            return int(cursor.fetchone()[0])

        in_order = count(
            "SELECT count(*) FROM automation_queuerow WHERE organization_id = %s AND work_order_id = %s",
            [org_id, work_order],
        )
        order_tasks = count(
            "SELECT count(*) FROM mirror_automationtask WHERE organization_id = %s AND vanished_at IS NULL AND "
            "automation_queue_id IN (SELECT upstream_id FROM automation_queuerow WHERE organization_id = %s AND "
            "work_order_id = %s)",
            [org_id, org_id, work_order],
        )
        serials = count(
            "SELECT count(*) FROM automation_queuerow WHERE organization_id = %s AND manufacturer_serial LIKE %s",
            [org_id, serial[:8] + "%"],
        )
        since = {label: now - timedelta(days=days) for label, days in (("24 h", 1), ("90 days", 90))}
        failed = {
            label: count(
                "SELECT count(*) FROM automation_queuerow WHERE organization_id = %s AND last_failed_at >= %s",
                [org_id, moment],
            )
            for label, moment in since.items()
        }
    expected = serial_url(serial, number)
    memory_test = TYPE_BASE + 4

    def one_row(result: Result) -> str:
        if result.rows == 1 and result.first_link == expected:
            return ""
        return f"{result.rows} rows, the first {result.first_link!r}, for the one queue {number}"

    def q(**params: str) -> str:
        return f"{url}?{urlencode(params)}"

    versions, newest = board_page(org_id)
    shown = versions.split(",")
    stale = [(s.split(".")[0] + ".0." + s.split(".")[2]) for s in shown]  # a version the row no longer has
    some = [stale[k] if k % 10 == 0 else s for k, s in enumerate(shown)]

    def changes(rows: list[str]) -> str:
        return f"{url}changes/?{urlencode({'rows': ','.join(rows), 'newest': newest})}"

    return [
        ("first page", url, nothing_wrong),
        *((f"tab {t}", q(tab=t), has_rows) for t in ("in_progress", "stuck", "failures", "finished")),
        *sort_cases(spec, BoardView, ROW_SORTS),
        deep_page_case(spec, org_id, size, page=1500),
        ("last page ?last=1", q(last="1"), nothing_wrong),
        (f"serial {serial[:8]} ({serials} serials)", q(serial=serial[:8]), shows_total(serials)),
        (f"search one queue number ?q={number}", q(q=str(number)), one_row),
        (f"work order {work_order} ({in_order} queues)", q(work_order=str(work_order)), shows_total(in_order)),
        (f"current task type {memory_test} (Memory test)", q(task_type=str(memory_test)), has_rows),
        *(
            (
                f"failed since {label} ago ({failed[label]:,} queues)",
                q(failed_since=moment.isoformat()),
                shows_total(failed[label]),
            )
            for label, moment in since.items()
        ),
        (
            f"queues CSV of work order {work_order}",
            q(work_order=str(work_order), export="csv"),
            exported(in_order, "rows"),
        ),
        (
            f"tasks CSV of work order {work_order}",
            q(work_order=str(work_order), export="tasks"),
            exported(order_tasks, "tasks"),
        ),
        (f"refresh of {len(shown)} rows: none changed", changes(shown), refreshed(0, 50)),
        (f"refresh of {len(shown)} rows: {len(shown[::10])} changed", changes(some), refreshed(len(shown[::10]), 50)),
        (f"refresh of {len(shown)} rows: all changed", changes(stale), refreshed(len(shown), None)),
    ]


def export_count(kind: str, org_id: int) -> int:
    """What the full `?export=tasks` writes: the present tasks of the board's queues."""
    from django.db import connection

    assert kind == "tasks", kind
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM mirror_automationtask WHERE organization_id = %s AND vanished_at IS NULL AND "
            "automation_queue_id IN (SELECT upstream_id FROM automation_queuerow WHERE organization_id = %s)",
            [org_id, org_id],
        )
        return int(cursor.fetchone()[0])


SPEC = ListSpec(
    name="automation",
    url="/automation/",
    row_table="automation_queuerow",
    link="queue",
    default_sort="last_activity_at",
    copies=(
        ("mirror_automationtasktype", TYPE_COLUMNS),
        ("automation_stucklimit", LIMIT_COLUMNS),
        ("mirror_automationqueue", QUEUE_COLUMNS),
        ("mirror_automationtask", TASK_COLUMNS),
        ("automation_queuerow", row_fields),
    ),
    tables=tables,
    new_ids=Ids,
    add_local=add_local,
    cases=cases,
    row_url=row_url,
    exports=(("csv", "rows"), ("tasks", "tasks")),
    export_count=export_count,
)
