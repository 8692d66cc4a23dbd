"""Resource-specific steps of a sync: child tables of orders, RMA details."""

from __future__ import annotations

import logging

from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from mirror import models as m
from upstream import api
from upstream import records as r
from upstream.errors import NotFound

from .columns import column_plan

log = logging.getLogger("sync")

# The child rows' columns, from the records of an order's and an RMA detail's parts.
ORDER_LINE = column_plan(m.OrderLine, r.OrderLine, skip=("order", "position"))
TRACKING_NUMBER = column_plan(m.OrderTrackingNumber, r.TrackingNumber, skip=("order",))
INVOICE_REF = column_plan(m.OrderInvoice, r.InvoiceRef, skip=("order",))
RMA_LINE = column_plan(
    m.RmaLine,
    r.RmaLine,
    sources={"item_id": "item.id", "item_name": "item.name", "category_name": "item.category.name"},
    skip=("rma",),
)
RMA_NOTE = column_plan(
    m.RmaNote, r.Note, sources={"upstream_id": "id", "created_upstream_at": "created_at"}, skip=("rma", "kind")
)


def order_children(organization, client, changed, run) -> None:
    """Rewrite lines, tracking numbers and invoice refs of orders whose content changed."""
    if not changed:
        return
    pks = [pk for pk, _, _ in changed]
    m.OrderLine.objects.filter(order_id__in=pks).delete()
    m.OrderTrackingNumber.objects.filter(order_id__in=pks).delete()
    m.OrderInvoice.objects.filter(order_id__in=pks).delete()
    lines, tracking, invoices = [], [], []
    for pk, _, raw in changed:
        order = r.Order.from_api(raw)
        for n, line in enumerate(order.lines):
            lines.append(m.OrderLine(order_id=pk, position=n, **ORDER_LINE.values(line)))
        for number in order.tracking_numbers:
            tracking.append(m.OrderTrackingNumber(order_id=pk, **TRACKING_NUMBER.values(number)))
        for ref in order.invoices:
            if ref.invoice_number is not None:
                invoices.append(m.OrderInvoice(order_id=pk, **INVOICE_REF.values(ref)))
    m.OrderLine.objects.bulk_create(lines, batch_size=1000)
    m.OrderTrackingNumber.objects.bulk_create(tracking, batch_size=1000)
    m.OrderInvoice.objects.bulk_create(invoices, batch_size=1000)


def rma_details(organization, client, run) -> None:
    """Fetch an RMA's detail only for RMAs that are new, changed since their last detail, or open."""
    todo = (
        m.Rma.objects.for_org(organization)
        .present()
        .filter(Q(detail_fetched_at__isnull=True) | ~Q(detail_hash=F("content_hash")) | Q(is_open=True))
        .values_list("pk", "upstream_id")
    )
    for pk, upstream_id in todo.iterator():
        try:
            detail = api.rma(client, upstream_id)
        except NotFound:
            continue  # vanished between the list and now; the next run flags it
        with transaction.atomic():
            store_rma_detail(organization, m.Rma.objects.select_for_update().get(pk=pk), detail)
        run.details_fetched += 1


def store_rma_detail(organization, rma: m.Rma, detail: r.RmaDetail) -> None:
    """Keep an RMA's detail (its lines and notes) with the mirror row, in the caller's transaction."""
    rma.detail = detail.raw
    rma.detail_hash = rma.content_hash
    rma.detail_fetched_at = timezone.now()
    rma.save(update_fields=["detail", "detail_hash", "detail_fetched_at"])
    rma.lines.all().delete()
    rma.notes.all().delete()
    m.RmaLine.objects.bulk_create([m.RmaLine(rma=rma, **RMA_LINE.values(line)) for line in detail.lines])
    kinds = (
        (m.RmaNote.Kind.PROBLEM, detail.problems),
        (m.RmaNote.Kind.TROUBLESHOOTING, detail.troubleshootings),
        (m.RmaNote.Kind.RESULT, detail.results),
    )
    m.RmaNote.objects.bulk_create(
        [m.RmaNote(rma=rma, kind=kind, **RMA_NOTE.values(note)) for kind, notes in kinds for note in notes]
    )
    from .registry import detail_hooks, get

    for hook in detail_hooks(get("rmas")):
        hook(organization, rma)
