"""The board's table: one row per automation queue, kept where the data changes.

A `QueueRow` is a mirrored queue (with the submission that created it here, if any) or a queue
submitted here that the mirror has not got yet: the shared rules of `portal.rowtables.RowTable`,
as for orders and RMAs. `refresh()` runs in the caller's transaction wherever a queue changes:

- every sync page (and vanish pass) of queues and of tasks (`automation.hooks` listens);
- every status of a queue submission's or a task action's delivery, and the upstream's answers.

A row carries every attempt of every task in sequence order (`tasks`, what the board and the
serial page draw), with the operators' actions laid over them:

- a pending action (its delivery still on its way) shows its effect at once, marked pending;
- a refused one (rejected or given up) shows on its task with the upstream's reason, until a
  later action on the task;
- a confirmed one is in the mirror: the upstream's answer was applied to it.

A failed attempt is followed by the unstarted retry the upstream creates; until a sync brings it,
the row shows it as expected. `version` digests everything the row shows, so a board refresh
re-renders only the rows whose version moved.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.utils.dateparse import parse_datetime

from mirror.models import AutomationQueue, AutomationTask
from outbox.models import OPEN_STATUSES, UNDELIVERED_STATUSES, Delivery
from portal.rowtables import RowTable, RowValues

from .models import QueueRow, QueueSubmission, StuckLimit, TaskAction

ROW_FIELDS = (
    "organization_id",
    "queue_id",
    "submission_id",
    "upstream_id",
    "manufacturer_serial",
    "serial_id",
    "work_order_id",
    "ip_address",
    "status",
    "finished",
    "tasks_total",
    "tasks_done",
    "failed_count",
    "has_failures",
    "pending_actions",
    "current_sequence",
    "current_type_id",
    "current_started_at",
    "stuck_at",
    "last_failed_at",
    "last_activity_at",
    "tasks",
    "version",
    "search_text",
)
SEARCHED = ("manufacturer_serial", "ip_address")
QUEUE_VALUES = (
    "pk",
    "organization_id",
    "upstream_id",
    "serial_id",
    "work_order_id",
    "finished",
    "ip_address",
    "first_seen_at",
    "vanished_at",
)
TASK_VALUES = (
    "upstream_id",
    "automation_queue_id",
    "automation_task_type_id",
    "sequence",
    "started_at",
    "completed_at",
    "failed",
    "message",
    "assignee_name",
    "manufacturer_serial",
    "work_order_id",
)


class Status:
    NOT_STARTED = "not_started"
    IN_PROGRESS = "in_progress"
    FINISHED = "finished"
    SUBMITTED = "submitted"  # delivered, not mirrored yet


STATUS_LABELS = {
    Status.NOT_STARTED: "Not started",
    Status.IN_PROGRESS: "In progress",
    Status.FINISHED: "Finished",
    Status.SUBMITTED: "Submitted",
    **{s.value: str(s.label) for s in Delivery.Status if s != Delivery.Status.SUCCEEDED},
}
# What a pending action shows, and what an expected attempt is waiting for.
EXPECTED_RETRY = "retry"  # the unstarted task the upstream adds after a fail, not synced yet


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _when(value: str | None) -> datetime | None:
    return parse_datetime(value) if value else None


def default_stuck_minutes() -> int:
    return int(settings.AUTOMATION_STUCK_MINUTES)


def stuck_limits(organization_id: int) -> dict[int, int]:
    """Task type id -> minutes a task of that type may run (the managers' limits)."""
    return dict(StuckLimit.objects.filter(organization_id=organization_id).values_list("task_type_id", "minutes"))


# -- the attempts of one queue ----------------------------------------------------------------------
def _attempt(seq: int, type_id: int | None, assignee: str = "", **values: Any) -> dict[str, Any]:
    attempt = {
        "seq": seq,
        "task": None,
        "type": type_id,
        "assignee": assignee,
        "started": None,
        "completed": None,
        "failed": False,
        "message": "",
        "pending": "",
        "refused": "",
        "expected": "",
    }
    attempt.update(values)
    return attempt


def _retry_of(attempt: dict[str, Any]) -> dict[str, Any]:
    return _attempt(attempt["seq"], attempt["type"], attempt["assignee"], expected=EXPECTED_RETRY)


def refusal(action: TaskAction) -> str:
    """Why the upstream refused an action, in words for its task."""
    delivery = action.delivery
    if delivery is None:
        return ""
    errors = delivery.field_errors or {}
    messages = [
        f"{field}: {'; '.join(str(m) for m in (msgs if isinstance(msgs, list) else [msgs]))}"
        for field, msgs in errors.items()
    ]
    reason = " ".join(messages) or delivery.last_error or str(delivery.get_status_display())
    return f"{action.get_message_type_display()} refused: {reason}"[:500]


def attempts(
    requested: Sequence[tuple[int, int | None, str]],
    mirrored: Sequence[dict[str, Any]],
    actions: Sequence[TaskAction],
) -> list[dict[str, Any]]:
    """Every attempt of a queue's tasks in sequence order: the mirrored tasks (retries after the
    attempt they follow), the submitted task rows the mirror has not got yet, the retries a fail
    adds, and the actions laid over them (see the module's docstring)."""
    by_seq: dict[int, list[dict[str, Any]]] = {}
    for t in sorted(mirrored, key=lambda t: (t["sequence"] if t["sequence"] is not None else -1, t["upstream_id"])):
        if t["sequence"] is None:
            continue
        by_seq.setdefault(t["sequence"], []).append(
            _attempt(
                t["sequence"],
                t["automation_task_type_id"],
                t["assignee_name"] or "",
                task=t["upstream_id"],
                started=_iso(t["started_at"]),
                completed=_iso(t["completed_at"]),
                failed=bool(t["failed"]),
                message=t["message"] or "",
            )
        )
    for seq, type_id, assignee in requested:
        if seq not in by_seq:
            by_seq[seq] = [_attempt(seq, type_id, assignee)]
    for seq_attempts in by_seq.values():
        if seq_attempts[-1]["failed"]:
            seq_attempts.append(_retry_of(seq_attempts[-1]))
    for action in sorted(actions, key=lambda a: a.pk):
        acted_on = by_seq.get(action.sequence)
        if not acted_on:
            continue
        target = acted_on[-1]
        status = action.delivery.status if action.delivery else Delivery.Status.QUEUED
        target["refused"] = ""
        if status in UNDELIVERED_STATUSES:
            target["refused"] = refusal(action)
        elif status in OPEN_STATUSES:
            stamp = _iso(action.created_at)
            kind = action.message_type
            target["pending"] = kind
            if action.message:
                target["message"] = action.message
            if kind == TaskAction.Type.START:
                target["started"] = target["started"] or stamp
            elif kind == TaskAction.Type.COMPLETE:
                target["started"] = target["started"] or stamp
                target["completed"] = target["completed"] or stamp
            elif kind == TaskAction.Type.FAIL:
                target["failed"] = True
                target["completed"] = target["completed"] or stamp
                acted_on.append(_retry_of(target))
    return [a for seq in sorted(by_seq) for a in by_seq[seq]]


def summary(tasks: list[dict[str, Any]], limits: dict[int, int]) -> dict[str, Any]:
    """What the board's columns and filters read of a queue's attempts."""
    last: dict[int, dict[str, Any]] = {}
    for a in tasks:
        last[a["seq"]] = a
    done = [s for s, a in last.items() if a["completed"] and not a["failed"]]
    current = next((a for s, a in sorted(last.items()) if not (a["completed"] and not a["failed"])), None)
    started = _when(current["started"]) if current and not current["completed"] else None
    stuck_at = None
    if started is not None and current is not None:
        minutes = limits.get(current["type"], default_stuck_minutes()) if current["type"] is not None else None
        stuck_at = started + timedelta(minutes=minutes or default_stuck_minutes())
    failed = [a for a in tasks if a["failed"]]
    stamps = [t for a in tasks for t in (_when(a["started"]), _when(a["completed"])) if t]
    return {
        "tasks_total": len(last),
        "tasks_done": len(done),
        "failed_count": len(failed),
        "has_failures": bool(failed),
        "pending_actions": sum(1 for a in tasks if a["pending"]),
        "current_sequence": current["seq"] if current else None,
        "current_type_id": current["type"] if current else None,
        "current_started_at": started,
        "stuck_at": stuck_at,
        "last_failed_at": max((t for a in failed if (t := _when(a["completed"]))), default=None),
        "all_done": bool(last) and current is None,
        "latest": max(stamps, default=None),
    }


def _version(values: RowValues) -> str:
    shown = {k: v for k, v in values.items() if k not in ("version", "search_text")}
    text = json.dumps(shown, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.md5(text.encode(), usedforsecurity=False).hexdigest()


def _finish(values: RowValues, facts: dict[str, Any], since: datetime) -> RowValues:
    latest = facts.pop("latest")
    facts.pop("all_done")
    values.update(facts)
    values["last_activity_at"] = max(t for t in (latest, since) if t is not None)
    values["version"] = _version(values)
    return values


def _actions(organization_id: int, queue_upstream_ids: list[int]) -> dict[int, list[TaskAction]]:
    out: dict[int, list[TaskAction]] = {}
    if not queue_upstream_ids:
        return out
    for action in TaskAction.objects.filter(
        organization_id=organization_id, queue_upstream_id__in=queue_upstream_ids
    ).select_related("delivery"):
        if action.queue_upstream_id is not None:
            out.setdefault(action.queue_upstream_id, []).append(action)
    return out


def _requested(submission_ids: list[int]) -> dict[int, list[tuple[int, int | None, str]]]:
    from .models import QueueTaskRequest

    out: dict[int, list[tuple[int, int | None, str]]] = {}
    for sub_id, seq, type_id, assignee in QueueTaskRequest.objects.filter(submission_id__in=submission_ids).values_list(
        "submission_id", "sequence", "task_type_id", "assignee_id"
    ):
        out.setdefault(sub_id, []).append((seq, type_id, f"#{assignee}" if assignee else ""))
    return out


def _queue_rows(queues: list[dict[str, Any]], linked: list[int | None]) -> list[RowValues]:
    if not queues:
        return []
    org_id = queues[0]["organization_id"]
    ids = [q["upstream_id"] for q in queues]
    tasks: dict[int, list[dict[str, Any]]] = {}
    for t in (
        AutomationTask.objects.filter(organization_id=org_id, automation_queue_id__in=ids, vanished_at__isnull=True)
        .order_by()
        .values(*TASK_VALUES)
    ):
        tasks.setdefault(t["automation_queue_id"], []).append(t)
    submissions = {
        s.pk: s for s in QueueSubmission.objects.filter(pk__in=[pk for pk in linked if pk]).select_related("delivery")
    }
    requested = _requested(list(submissions))
    actions = _actions(org_id, ids)
    limits = stuck_limits(org_id)
    rows = []
    for q, submission_id in zip(queues, linked, strict=True):
        mine = tasks.get(q["upstream_id"], [])
        submission = submissions.get(submission_id) if submission_id else None
        drawn = attempts(
            requested.get(submission_id, []) if submission_id else [], mine, actions.get(q["upstream_id"], [])
        )
        facts = summary(drawn, limits)
        finished = bool(q["finished"]) or facts["all_done"]
        serial = next((t["manufacturer_serial"] for t in mine if t["manufacturer_serial"]), "")
        if not serial and submission is not None:
            serial = submission.manufacturer_serial
        work_order = q["work_order_id"] or next((t["work_order_id"] for t in mine if t["work_order_id"]), None)
        if finished:
            status = Status.FINISHED
        elif any(a["started"] for a in drawn):
            status = Status.IN_PROGRESS
        else:
            status = Status.NOT_STARTED
        values: RowValues = {
            "organization_id": org_id,
            "queue_id": q["pk"],
            "submission_id": submission_id,
            "upstream_id": q["upstream_id"],
            "manufacturer_serial": serial,
            "serial_id": q["serial_id"],
            "work_order_id": work_order,
            "ip_address": q["ip_address"] or (submission.ip_address if submission else ""),
            "status": status,
            "finished": finished,
            "tasks": drawn,
        }
        if finished:
            facts["stuck_at"] = None
        since = submission.created_at if submission is not None else q["first_seen_at"]
        rows.append(_finish(values, facts, since))
    return rows


def _local_rows(submissions: list[QueueSubmission]) -> list[RowValues]:
    requested = _requested([s.pk for s in submissions])
    rows = []
    for s in submissions:
        delivery = s.delivery
        status = delivery.status if delivery else Delivery.Status.QUEUED
        if status == Delivery.Status.SUCCEEDED:
            status = Status.SUBMITTED
        drawn = attempts(requested.get(s.pk, []), [], [])
        facts = summary(drawn, {})
        values: RowValues = {
            "organization_id": s.organization_id,
            "queue_id": None,
            "submission_id": s.pk,
            "upstream_id": s.upstream_id,
            "manufacturer_serial": s.manufacturer_serial,
            "serial_id": None,
            "work_order_id": None,
            "ip_address": s.ip_address,
            "status": status,
            "finished": False,
            "tasks": drawn,
        }
        since = max(s.updated_at, delivery.updated_at) if delivery else s.updated_at
        rows.append(_finish(values, facts, since))
    return rows


TABLE = RowTable(
    QueueRow,
    mirror=AutomationQueue,
    submissions=QueueSubmission,
    link="queue",
    fields=ROW_FIELDS,
    searched=SEARCHED,
    mirror_fields=QUEUE_VALUES,
    mirrored_rows=_queue_rows,
    local_rows=_local_rows,
)
row_values = TABLE.row_values
vanished = TABLE.vanished
rebuild = TABLE.rebuild


def refresh(organization_id: int, *, queue_ids: Sequence[int] = (), submission_ids: Sequence[int] = ()) -> None:
    """Recompute the board rows of these mirrored queues and local queue submissions of one organization."""
    TABLE.refresh(organization_id, object_ids=queue_ids, submission_ids=submission_ids)


CHUNK = 500


def refresh_upstream(organization_id: int, queue_upstream_ids) -> None:
    """Recompute the rows of the queues with these upstream ids (a task, an action names its queue so)."""
    ids = sorted({i for i in queue_upstream_ids if i is not None})
    for start in range(0, len(ids), CHUNK):
        pks = list(
            AutomationQueue.objects.filter(organization_id=organization_id, upstream_id__in=ids[start : start + CHUNK])
            .order_by()
            .values_list("pk", flat=True)
        )
        refresh(organization_id, queue_ids=pks)


def refresh_type(organization_id: int, task_type_id: int) -> int:
    """After a stuck limit of a task type changed: the rows whose current task is of that type."""
    pks = list(
        QueueRow.objects.filter(
            organization_id=organization_id, current_type_id=task_type_id, current_started_at__isnull=False
        ).values_list("queue_id", "submission_id")
    )
    queue_ids = [q for q, _ in pks if q]
    for start in range(0, len(queue_ids), CHUNK):
        refresh(organization_id, queue_ids=queue_ids[start : start + CHUNK])
    return len(queue_ids)


# -- the sync's listeners (automation.hooks registers them) -------------------------------------------
def on_queues_page(organization, client, changed, run) -> None:
    if changed:
        refresh(organization.pk, queue_ids=[pk for pk, _upstream_id, _raw in changed])


def on_queues_vanish(organization, run) -> None:
    vanished(organization.pk)


def on_tasks_page(organization, client, changed, run) -> None:
    if changed:
        refresh_upstream(
            organization.pk,
            AutomationTask.objects.filter(pk__in=[pk for pk, _, _ in changed]).values_list(
                "automation_queue_id", flat=True
            ),
        )


def on_tasks_vanish(organization, run) -> None:
    tasks = AutomationTask.objects.filter(organization_id=organization.pk, vanished_at__isnull=False)
    if run is not None and getattr(run, "started_at", None):
        tasks = tasks.filter(vanished_at__gte=run.started_at)
    refresh_upstream(organization.pk, tasks.values_list("automation_queue_id", flat=True).distinct())
