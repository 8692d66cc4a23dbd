"""Apply one upstream order payload to the mirror (webhook, submission answer), newest wins.

The periodic sync pages whole collections; a webhook or a write answer brings one order.
This reuses the sync registry's "orders" mapper and page hooks, so one order lands in exactly
the columns, child rows and orders-list row a sync would write. It never lets an older `updated_at`
overwrite a newer state, and a payload identical to the stored one changes nothing.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from django.db import models, transaction

from mirror.models import Order
from sync.apply import Outcome, apply_one
from upstream.records import order_status, to_datetime

from .models import OrderEvent, OrderSubmission

log = logging.getLogger("orders")


@dataclass
class Applied:
    outcome: str
    order: Order | None
    status: str = ""

    @property
    def changed(self) -> bool:
        return self.outcome in (Outcome.CREATED, Outcome.UPDATED)


def apply_order_payload(organization, raw: dict, source: str, *, partial: bool = False) -> Applied:
    """Upsert one order of `organization` from its upstream payload (sync.apply), and record the
    status it reached. Call inside or outside a transaction."""
    with transaction.atomic():
        applied = apply_one("orders", organization, raw, partial=partial)
        order = applied.row
        previous_status = applied.previous_values.get("status", "")
        if applied.changed and order.status and order.status != previous_status:
            record_status(organization, order.upstream_id, order.status, order.updated_upstream_at, source)
    return Applied(applied.outcome, order, order.status)


def record_status(organization, upstream_id: int, status: str, updated_at, source: str) -> None:
    """Remember the first time an order reached `status`; notify its buyer (once) on commit."""
    status = order_status(status)
    _, created = OrderEvent.objects.get_or_create(
        organization=organization,
        upstream_id=upstream_id,
        status=status,
        defaults={"upstream_updated_at": to_datetime(updated_at) if updated_at else None, "source": source},
    )
    submission = OrderSubmission.objects.for_org(organization).filter(upstream_id=upstream_id).first()
    if submission is not None:
        OrderSubmission.objects.filter(pk=submission.pk).update(upstream_status=status)
        if created:
            from .notifications import queue_status_email

            queue_status_email(submission, status)


def reconcile_from_mirror(limit: int = 500) -> int:
    """Statuses the periodic sync brought into the mirror (a webhook was missed): record them and
    notify the buyer, as a webhook would have. Returns how many submissions moved on."""
    from django.db.models import OuterRef, Subquery

    mirrored = Order.objects.filter(organization_id=OuterRef("organization_id"), upstream_id=OuterRef("upstream_id"))
    behind = (
        OrderSubmission.objects.filter(upstream_id__isnull=False)
        .annotate(
            mirror_status=Subquery(mirrored.values("status")[:1]),
            mirror_updated=Subquery(mirrored.values("updated_upstream_at")[:1]),
        )
        .exclude(mirror_status__isnull=True)
        .exclude(mirror_status="")
        .exclude(mirror_status=models.F("upstream_status"))
        .select_related("organization")[:limit]
    )
    moved = 0
    for submission in behind:
        with transaction.atomic():
            record_status(
                submission.organization,
                submission.upstream_id,
                submission.mirror_status,
                submission.mirror_updated,
                OrderEvent.Source.SYNC,
            )
        moved += 1
    return moved
