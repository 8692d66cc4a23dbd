"""Apply one upstream order payload to the mirror (webhook, submission answer), newest wins.

The periodic sync pages whole collections; a webhook or a write answer brings one order.
This reuses the sync registry's "orders" mapper and page hooks, so one order lands in exactly
the columns, child rows and orders-list row a sync would write. It never lets an older `updated_at`
overwrite a newer state, and a payload identical to the stored one changes nothing.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from django.db import IntegrityError, models, transaction
from django.utils import timezone

from mirror.models import Order
from sync import registry
from sync.engine import content_hash, storable
from upstream.records import order_status, to_datetime, to_int

from .models import OrderEvent, OrderSubmission

log = logging.getLogger("orders")


class Outcome:
    CREATED = "created"
    UPDATED = "updated"
    DUPLICATE = "duplicate"
    STALE = "stale"


@dataclass
class Applied:
    outcome: str
    order: Order | None
    status: str = ""

    @property
    def changed(self) -> bool:
        return self.outcome in (Outcome.CREATED, Outcome.UPDATED)


def apply_order_payload(organization, raw: dict, source: str, *, partial: bool = False) -> Applied:
    """Upsert one order of `organization` from its upstream payload. Call inside or outside a transaction.

    `partial`: the payload carries only some fields (a webhook may); they replace the stored
    order's fields of the same name and every other field stays as it was.
    """
    upstream_id = to_int(raw.get("id"))
    if upstream_id is None:
        raise ValueError("the order payload has no id")
    for attempt in range(2):  # a concurrent first insert of the same order loses once, then updates
        try:
            with transaction.atomic():
                return _apply(organization, upstream_id, raw, source, partial)
        except IntegrityError:
            if attempt:
                raise
    raise AssertionError("unreachable")


def _apply(organization, upstream_id: int, raw: dict, source: str, partial: bool) -> Applied:
    resource = registry.get("orders")
    order = Order.objects.select_for_update().filter(organization=organization, upstream_id=upstream_id).first()
    if partial and order is not None and isinstance(order.raw, dict):
        # The payload's fields in its own order, then the stored ones it does not carry
        # (PostgreSQL's jsonb keeps keys in its own order: a full payload must hash as sent).
        raw = {**raw, **{key: value for key, value in order.raw.items() if key not in raw}}
    text, raw = storable(raw)
    digest = content_hash(text)
    values = resource.mapper(raw)
    now = timezone.now()
    if order is not None:
        if (order.content_hash == digest or order.raw == raw) and order.vanished_at is None:
            return Applied(Outcome.DUPLICATE, order, order.status)
        incoming = values.get("updated_upstream_at")
        if order.updated_upstream_at and incoming and incoming < order.updated_upstream_at:
            return Applied(Outcome.STALE, order, order.status)
        previous_status = order.status
        for key, value in values.items():
            setattr(order, key, value)
        order.raw, order.content_hash, order.changed_at, order.vanished_at = raw, digest, now, None
        order.save()
        outcome = Outcome.UPDATED
    else:
        previous_status = ""
        order = Order.objects.create(
            organization=organization,
            upstream_id=upstream_id,
            raw=raw,
            content_hash=digest,
            first_seen_at=now,
            changed_at=now,
            **values,
        )
        outcome = Outcome.CREATED
    for hook in registry.page_hooks(resource):  # child rows and the list's row, as a sync page would
        hook(organization, None, [(order.pk, upstream_id, raw)], None)
    if order.status and order.status != previous_status:
        record_status(organization, upstream_id, order.status, order.updated_upstream_at, source)
    return Applied(outcome, order, order.status)


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
