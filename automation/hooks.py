"""What the automation line plugs into shared mechanisms.

- The hooks of the delivery kinds "automation.queue", "automation.task" and
  "automation.serial_datum": the upstream's answer (the new queue, the updated task, the new
  datum) becomes the submission's upstream id and lands in the mirror as a sync would write it
  (sync.apply), so the board shows it confirmed at once; a 422 stays on the delivery, shown next
  to the form's fields or on the task it refused. Every status change recomputes the board row.
- The sync's automation resources: the board's rows follow every page and every vanish pass of
  queues and tasks.
"""

from __future__ import annotations

import logging
from typing import Any

from django.db import transaction

from mirror.models import AutomationQueue
from outbox.kinds import DeliveryKind, register
from sync import registry
from sync.apply import apply_one
from upstream.records import to_int

from . import rows
from .models import QueueSubmission, SerialDatumSubmission, TaskAction
from .services import ACTION_KIND, DATUM_KIND, QUEUE_KIND

log = logging.getLogger("automation")


def _apply(resource: str, organization, body: dict) -> None:
    """The answer into the mirror, as a sync page would write it; the next sync catches up if it cannot."""
    try:
        with transaction.atomic():
            apply_one(resource, organization, body)
    except Exception:
        log.exception("%s %s: the mirror could not take the answer", resource, body.get("id"))


def _answered(model, delivery, body) -> tuple[Any, int | None]:
    submission = model.objects.filter(delivery_id=delivery.pk).first()
    upstream_id = to_int(body.get("id")) if isinstance(body, dict) else None
    if submission is None or upstream_id is None:
        log.warning("delivery %s succeeded without a local record or an upstream id", delivery.pk)
        return None, None
    submission.upstream_id = upstream_id
    submission.save(update_fields=["upstream_id", "updated_at"])
    return submission, upstream_id


# -- a new queue ------------------------------------------------------------------------------------
def queue_created(delivery, body: dict) -> None:
    submission, _ = _answered(QueueSubmission, delivery, body)
    if submission is None:
        return
    _apply("automation_queues", delivery.organization, body)  # its page hook refreshes the row
    rows.refresh(delivery.organization_id, submission_ids=[submission.pk])


def queue_status(delivery) -> None:
    for pk in QueueSubmission.objects.filter(delivery_id=delivery.pk).values_list("pk", flat=True):
        rows.refresh(delivery.organization_id, submission_ids=[pk])


# -- an action on a task ----------------------------------------------------------------------------
def task_updated(delivery, body: dict) -> None:
    action, _ = _answered(TaskAction, delivery, body)
    if action is None:
        return
    _apply("automation_tasks", delivery.organization, body)
    _refresh_action_queue(delivery)


def _refresh_action_queue(delivery) -> None:
    for queue_upstream_id in TaskAction.objects.filter(delivery_id=delivery.pk).values_list(
        "queue_upstream_id", flat=True
    ):
        pks = AutomationQueue.objects.for_org(delivery.organization_id).filter(upstream_id=queue_upstream_id)
        rows.refresh(delivery.organization_id, queue_ids=list(pks.values_list("pk", flat=True)))


# -- a serial datum ---------------------------------------------------------------------------------
def datum_created(delivery, body: dict) -> None:
    submission, _ = _answered(SerialDatumSubmission, delivery, body)
    if submission is not None:
        _apply("serial_data", delivery.organization, body)


register(DeliveryKind(QUEUE_KIND, on_success=queue_created, on_status=queue_status))
register(DeliveryKind(ACTION_KIND, on_success=task_updated, on_status=_refresh_action_queue))
register(DeliveryKind(DATUM_KIND, on_success=datum_created))

registry.listen("automation_queues", after_page=rows.on_queues_page, after_vanish=rows.on_queues_vanish)
registry.listen("automation_tasks", after_page=rows.on_tasks_page, after_vanish=rows.on_tasks_vanish)
