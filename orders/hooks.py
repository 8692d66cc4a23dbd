"""What orders plug into shared mechanisms.

- The hooks of the delivery kind "order.create": the upstream's answer becomes the
  submission's state: the upstream id (and a mirror row) on success, the existing order on a
  409 that is our own earlier write, the upstream's field errors on a 422.
- The dispatch channel of order e-mails.
- The orders list's rows (`orders.rows`) follow the submission's delivery status, every sync
  page of orders (and every applied webhook or answer), and orders that vanished.
"""

from __future__ import annotations

import logging

from django.db import transaction

from outbox.kinds import DeliveryKind, register
from sync import registry
from upstream.records import OrderStatus, order_status, to_int

from . import notifications, rows
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


def on_status(delivery) -> None:
    """The submission's state is its delivery's status: its orders-list row follows."""
    for pk in OrderSubmission.objects.filter(delivery_id=delivery.pk).values_list("pk", flat=True):
        rows.refresh(delivery.organization_id, submission_ids=[pk])


register(DeliveryKind(KIND, on_success=on_success, on_conflict=on_conflict, on_status=on_status))


def _page(organization, client, changed, run) -> None:
    """A sync page (or one applied payload) changed these mirror orders: their list rows follow."""
    if changed:
        rows.refresh(organization.pk, order_ids=[pk for pk, _, _ in changed])


def _vanished(organization, run) -> None:
    rows.vanished(organization.pk)


registry.listen("orders", after_page=_page, after_vanish=_vanished)


notifications.NOTIFIER.register()
