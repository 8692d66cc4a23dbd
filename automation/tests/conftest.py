"""Automation test helpers: mirrored task types, queues and tasks, and the form's POST data."""

from __future__ import annotations

from datetime import datetime

from django.utils import timezone

from mirror.models import AutomationQueue, AutomationTask, AutomationTaskType


def _common(org) -> dict:
    now = timezone.now()
    return {"organization": org, "first_seen_at": now, "changed_at": now, "content_hash": "x"}


def task_types(org, types=((1, "Burn-in"), (2, "Imaging"), (3, "Run-In"))) -> None:
    for id_, name in types:
        if not AutomationTaskType.objects.filter(organization=org, upstream_id=id_).exists():
            AutomationTaskType.objects.create(upstream_id=id_, name=name, raw={"id": id_}, **_common(org))


def mirrored_queue(org, upstream_id: int, *, finished=False, ip="10.0.0.5", work_order=None) -> AutomationQueue:
    return AutomationQueue.objects.create(
        upstream_id=upstream_id,
        raw={"id": upstream_id},
        finished=finished,
        ip_address=ip,
        serial_id=upstream_id * 10,
        work_order_id=work_order,
        **_common(org),
    )


def mirrored_task(
    org,
    upstream_id: int,
    queue: int,
    sequence: int,
    *,
    type_id=1,
    serial="FG-1",
    started: datetime | None = None,
    completed: datetime | None = None,
    failed=False,
    message="",
    vanished: datetime | None = None,
) -> AutomationTask:
    common = _common(org)
    return AutomationTask.objects.create(
        upstream_id=upstream_id,
        raw={"id": upstream_id},
        automation_queue_id=queue,
        automation_task_type_id=type_id,
        sequence=sequence,
        started_at=started,
        completed_at=completed,
        failed=failed,
        message=message,
        manufacturer_serial=serial,
        vanished_at=vanished,
        **common,
    )


def queue_data(serial="FG-NEW-1", ip="10.1.2.3", tasks=((1, 1, ""), (2, 2, ""), (3, 3, "")), **overrides) -> dict:
    """POST data of a new queue: tasks as (task type id, sequence, assignee id or "")."""
    data = {
        "manufacturer_serial": serial,
        "ip_address": ip,
        "tasks-TOTAL_FORMS": str(len(tasks)),
        "tasks-INITIAL_FORMS": "0",
        "tasks-MIN_NUM_FORMS": "1",
        "tasks-MAX_NUM_FORMS": "100",
    }
    for n, (type_id, seq, assignee) in enumerate(tasks):
        data[f"tasks-{n}-task_type"] = str(type_id)
        data[f"tasks-{n}-sequence"] = str(seq)
        data[f"tasks-{n}-assignee"] = str(assignee)
    for key, value in overrides.items():
        if value is None:
            data.pop(key, None)
        else:
            data[key] = value
    return data
