"""What RMAs plug into shared mechanisms.

- The hooks of the delivery kind "rma.create": the upstream's answer (the new RMA's detail)
  becomes the request's upstream id and lands in the mirror as a sync would write it; a 422
  stays on the delivery, shown next to the form's fields.
- The sync's "rmas" resource: the RMA lists' rows follow every page, every vanished RMA and
  every stored detail; a request's status follows its mirrored RMA, and its member gets an
  e-mail on every new status (portal.notifications).
"""

from __future__ import annotations

import logging

from django.db import transaction

from mirror.models import Rma
from outbox.kinds import DeliveryKind, register
from sync import registry
from sync.apply import apply_one
from sync.hooks import store_rma_detail
from upstream.records import RmaDetail, to_int

from . import notifications, rows, serials
from .models import RmaSubmission
from .services import KIND

log = logging.getLogger("rmas")


def on_success(delivery, body: dict) -> None:
    submission = RmaSubmission.objects.filter(delivery_id=delivery.pk).first()
    upstream_id = to_int(body.get("id")) if isinstance(body, dict) else None
    if submission is None or upstream_id is None:
        log.warning("delivery %s succeeded without a request or an RMA number", delivery.pk)
        return
    detail = RmaDetail.from_api(body)
    submission.upstream_id = upstream_id
    submission.upstream_status = detail.status_name
    submission.save(update_fields=["upstream_id", "upstream_status", "updated_at"])
    try:
        with transaction.atomic():
            applied = apply_one("rmas", delivery.organization, body)
            store_rma_detail(delivery.organization, applied.row, detail)
    except Exception:  # the mirror catches up with the next sync
        log.exception("RMA %s: the mirror could not take the answer", upstream_id)
    rows.refresh(delivery.organization_id, submission_ids=[submission.pk])


def on_status(delivery) -> None:
    """A request's state is its delivery's status: its list row follows."""
    for pk in RmaSubmission.objects.filter(delivery_id=delivery.pk).values_list("pk", flat=True):
        rows.refresh(delivery.organization_id, submission_ids=[pk])


register(DeliveryKind(KIND, on_success=on_success, on_status=on_status))


def follow(organization, rma_pks: list[int]) -> None:
    """The requests of these mirrored RMAs take their status; a new status is mailed once."""
    mirrored = dict(
        Rma.objects.filter(organization=organization, pk__in=rma_pks).values_list("upstream_id", "status_name")
    )
    if not mirrored:
        return
    for submission in RmaSubmission.objects.filter(organization=organization, upstream_id__in=list(mirrored)):
        status = mirrored[submission.upstream_id]
        if status and status != submission.upstream_status:
            submission.upstream_status = status
            submission.save(update_fields=["upstream_status", "updated_at"])
            notifications.NOTIFIER.queue(submission, status)


def _page(organization, client, changed, run) -> None:
    rows.on_page(organization, client, changed, run)
    follow(organization, [pk for pk, _, _ in changed])


def _detail(organization, rma) -> None:
    rows.refresh(organization.pk, rma_ids=[rma.pk])
    # A closing e-mail waits for the detail (its result notes): send what waited.
    notifications.NOTIFIER.nudge(submission__organization=organization, submission__upstream_id=rma.upstream_id)


registry.listen("rmas", after_page=_page, after_vanish=rows.on_vanish, after_detail=_detail)
notifications.NOTIFIER.register()
serials.register()  # the serial index follows orders, automation, serial data and RMAs
