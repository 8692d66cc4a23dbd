"""Writes to the automation line: the vendor payloads and persist-then-call.

Each write saves its local record and its outbox Delivery in one transaction (the orders'
mechanism, `outbox.services.send_submission`): a worker sends it with its idempotency key,
never lost and never sent twice. What the upstream's answer does is in `automation.hooks`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from django.db import transaction

from mirror.models import AutomationTaskType
from outbox import services as outbox
from outbox.models import Delivery
from upstream.api import COLLECTION_PATHS

from . import rows
from .models import QueueRow, QueueSubmission, QueueTaskRequest, SerialDatumSubmission, TaskAction

QUEUE_KIND = Delivery.Kind.QUEUE_CREATE
ACTION_KIND = Delivery.Kind.TASK_ACTION
DATUM_KIND = Delivery.Kind.SERIAL_DATUM
QUEUE_PATH = COLLECTION_PATHS["automation_queues"]
TASK_PATH = COLLECTION_PATHS["automation_tasks"]
DATUM_PATH = COLLECTION_PATHS["serial_data"]


@dataclass(frozen=True)
class TaskRow:
    task_type_id: int
    sequence: int
    assignee_id: int | None = None


def task_types(organization) -> list[tuple[int, str]]:
    """The organization's task types from the mirror: (upstream id, name), by name."""
    return list(
        AutomationTaskType.objects.for_org(organization)
        .present()
        .order_by("name", "upstream_id")
        .values_list("upstream_id", "name")
    )


def queue_payload(submission: QueueSubmission, tasks: Sequence[QueueTaskRequest]) -> dict:
    """The queue in the vendor's POST /v2/automation_queues shape."""
    return {
        "manufacturer_serial": submission.manufacturer_serial,
        "ip_address": submission.ip_address,
        "automation_tasks": [
            {
                "task_type_id": int(t.task_type_id),
                "sequence": int(t.sequence),
                **({"assignee_id": int(t.assignee_id)} if t.assignee_id else {}),
            }
            for t in tasks
        ],
    }


def create_queue(organization, user, submission: QueueSubmission, tasks: Sequence[TaskRow]) -> QueueSubmission:
    """Save a new queue with its task rows and queue its delivery, in one transaction."""
    with transaction.atomic():
        submission.organization = organization
        submission.created_by = user
        submission.save()
        _send_queue(organization, user, submission, tasks)
    return submission


def resubmit_queue(organization, user, submission: QueueSubmission, tasks: Sequence[TaskRow]) -> QueueSubmission:
    """A corrected refused (or failed) queue goes out as a new delivery with a new key; its task rows are
    the corrected ones."""
    with transaction.atomic():
        outbox.reopen_submission(submission)
        submission.save()
        submission.tasks.all().delete()
        _send_queue(organization, user, submission, tasks)
    return submission


def _send_queue(organization, user, submission: QueueSubmission, tasks: Sequence[TaskRow]) -> None:
    names = dict(task_types(organization))
    requests = QueueTaskRequest.objects.bulk_create(
        [
            QueueTaskRequest(
                submission=submission,
                task_type_id=t.task_type_id,
                task_type_name=names.get(t.task_type_id, ""),
                sequence=t.sequence,
                assignee_id=t.assignee_id,
            )
            for t in sorted(tasks, key=lambda t: t.sequence)
        ]
    )
    outbox.send_submission(submission, QUEUE_KIND, "POST", QUEUE_PATH, queue_payload(submission, requests), user=user)
    rows.refresh(organization.pk, submission_ids=[submission.pk])


class NotActionable(ValueError):
    """An action the portal refuses before sending it (the message says why)."""


# What each action needs of the task's current attempt: (started, completed) -> allowed.
ALLOWED = {
    TaskAction.Type.START: lambda a: not a["started"] and not a["completed"],
    TaskAction.Type.COMPLETE: lambda a: not a["completed"],
    TaskAction.Type.FAIL: lambda a: not a["completed"],
    TaskAction.Type.NOTIFY: lambda a: not a["completed"],
}
REFUSED_BECAUSE = {
    TaskAction.Type.START: "this task has already started",
    TaskAction.Type.COMPLETE: "this task is already completed",
    TaskAction.Type.FAIL: "this task is already completed",
    TaskAction.Type.NOTIFY: "this task is already completed",
}


def current_attempt(row: QueueRow, sequence: int) -> dict | None:
    """The attempt of a sequence an action acts on: its latest."""
    found = [a for a in row.tasks or [] if a.get("seq") == sequence]
    return found[-1] if found else None


def act(organization, user, row: QueueRow, sequence: int, message_type: str, message: str = "") -> TaskAction:
    """Queue an action on the current attempt of one task of a queue (PUT /v2/automation_tasks) and lay
    it over the queue's row at once. NotActionable when the queue is not at the upstream yet, the
    sequence is unknown, or the task's state rules the action out."""
    with transaction.atomic():
        row = QueueRow.objects.select_for_update().get(pk=row.pk, organization=organization)
        if row.upstream_id is None or row.queue_id is None:
            raise NotActionable("This queue is not at the integrator yet: act on its tasks once it is submitted.")
        if not row.ip_address:
            raise NotActionable("The integrator has no IP address for this queue: its tasks cannot be updated.")
        attempt = current_attempt(row, sequence)
        if attempt is None:
            raise NotActionable(f"This queue has no task with sequence {sequence}.")
        kind = TaskAction.Type(message_type)
        if not ALLOWED[kind](attempt):
            raise NotActionable(f"{kind.label}: {REFUSED_BECAUSE[kind]}.")
        action = TaskAction(
            organization=organization,
            created_by=user,
            queue_upstream_id=row.upstream_id,
            queue_submission_id=row.submission_id,
            manufacturer_serial=row.manufacturer_serial,
            ip_address=row.ip_address,
            sequence=sequence,
            message_type=kind,
            message=message,
        )
        action.save()
        payload = {
            "manufacturer_serial": action.manufacturer_serial,
            "ip_address": action.ip_address,
            "sequence": int(action.sequence),
            "message": action.message or None,
            "message_type": str(action.message_type),
        }
        outbox.send_submission(action, ACTION_KIND, "PUT", TASK_PATH, payload, user=user)
        rows.refresh(organization.pk, queue_ids=[row.queue_id])
    return action


def datum_payload(submission: SerialDatumSubmission) -> dict:
    return {
        "manufacturer_serial": submission.manufacturer_serial,
        "serial_data_type_id": int(submission.serial_data_type_id),
        "metadata": submission.metadata or None,
        "value": submission.value,
    }


def submit_datum(organization, user, submission: SerialDatumSubmission) -> SerialDatumSubmission:
    with transaction.atomic():
        submission.organization = organization
        submission.created_by = user
        submission.save()
        outbox.send_submission(submission, DATUM_KIND, "POST", DATUM_PATH, datum_payload(submission), user=user)
    return submission
