"""What orders plug into shared mechanisms.

- The hooks of the delivery kind "order.create": the upstream's answer becomes the
  submission's state: the upstream id (and a mirror row) on success, the existing order on a
  409 that is our own earlier write, the upstream's field errors on a 422.
- The dispatch channel of order e-mails.
"""

from __future__ import annotations

import logging

from django.db import transaction

from outbox.kinds import DeliveryKind, register
from portal import dispatch
from upstream.records import OrderStatus, order_status, to_int

from . import notifications
from .mirror_apply import apply_order_payload
from .models import OrderSubmission
from .services import KIND, matches

log = logging.getLogger("orders")


def _submission_of(delivery) -> OrderSubmission | None:
    return OrderSubmission.objects.filter(delivery_id=delivery.pk).first()


def on_success(delivery, body: dict) -> None:
    submission = _submission_of(delivery)
    upstream_id = to_int(body.get("id")) if isinstance(body, dict) else None
    if submission is None or upstream_id is None:
        log.warning("delivery %s succeeded without a submission or an order id", delivery.pk)
        return
    submission.upstream_id = upstream_id
    submission.upstream_status = order_status(body.get("status")) or OrderStatus.PENDING
    submission.save(update_fields=["upstream_id", "upstream_status", "updated_at"])
    try:
        with transaction.atomic():
            apply_order_payload(delivery.organization, body, source="submission")
    except Exception:  # the mirror catches up through webhooks and the sync
        log.exception("order %s: the mirror could not take the submission answer", upstream_id)


def on_conflict(delivery, existing: dict, field_errors: dict) -> dict | None:
    """A duplicate customer_order: the existing order is ours when it matches what we sent."""
    if existing and matches(delivery.payload, existing):
        log.info("delivery %s: reconciled with existing upstream order %s", delivery.pk, existing.get("id"))
        return existing
    return None


def _touch(delivery, *_) -> None:
    """Rejected or retrying: the submission's state derives from its delivery; mark it changed."""
    submission = _submission_of(delivery)
    if submission is not None:
        submission.save(update_fields=["updated_at"])


register(DeliveryKind(KIND, on_success=on_success, on_conflict=on_conflict, on_rejected=_touch, on_retrying=_touch))


dispatch.register(
    dispatch.Channel(notifications.CHANNEL, process=notifications.send, due=notifications.due_for_redrive)
)
