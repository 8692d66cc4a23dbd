"""Resource-specific steps of a sync: child tables of orders, RMA details."""

from __future__ import annotations

import logging

from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from mirror import models as m
from upstream.errors import NotFound
from upstream.records import to_datetime, to_decimal, to_int, to_str

log = logging.getLogger("sync")


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
        for n, line in enumerate(raw.get("lines") or []):
            lines.append(
                m.OrderLine(
                    order_id=pk,
                    position=n,
                    product_code=to_str(line.get("product_code"))[:255],
                    quantity=to_int(line.get("quantity")),
                    customs_declared_value=to_decimal(line.get("customs_declared_value")),
                    serial_numbers=[to_str(s) for s in line.get("serial_numbers") or []],
                )
            )
        for t in raw.get("tracking_numbers") or []:
            tracking.append(
                m.OrderTrackingNumber(
                    order_id=pk,
                    tracking_number=to_str(t.get("tracking_number"))[:255],
                    weight=to_decimal(t.get("weight")),
                )
            )
        for i in raw.get("invoices") or []:
            number = to_int(i.get("invoice_number"))
            if number is not None:
                invoices.append(m.OrderInvoice(order_id=pk, invoice_number=number))
    m.OrderLine.objects.bulk_create(lines, batch_size=1000)
    m.OrderTrackingNumber.objects.bulk_create(tracking, batch_size=1000)
    m.OrderInvoice.objects.bulk_create(invoices, batch_size=1000)


def rma_details(organization, client, run) -> None:
    """Fetch GET /v2/rmas/<id> only for RMAs that are new, changed since their last detail, or open."""
    todo = (
        m.Rma.objects.for_org(organization)
        .present()
        .filter(Q(detail_fetched_at__isnull=True) | ~Q(detail_hash=F("content_hash")) | Q(is_open=True))
        .values_list("pk", "upstream_id")
    )
    for pk, upstream_id in todo.iterator():
        try:
            detail = client.get(f"/v2/rmas/{upstream_id}")
        except NotFound:
            continue  # vanished between the list and now; the next run flags it
        with transaction.atomic():
            rma = m.Rma.objects.select_for_update().get(pk=pk)
            rma.detail = detail
            rma.detail_hash = rma.content_hash
            rma.detail_fetched_at = timezone.now()
            rma.save(update_fields=["detail", "detail_hash", "detail_fetched_at"])
            rma.lines.all().delete()
            rma.notes.all().delete()
            m.RmaLine.objects.bulk_create(
                [
                    m.RmaLine(
                        rma=rma,
                        quantity=to_int(line.get("quantity")),
                        item_id=to_int((line.get("item") or {}).get("id")),
                        item_name=to_str((line.get("item") or {}).get("name"))[:255],
                        category_name=to_str(((line.get("item") or {}).get("category") or {}).get("name"))[:255],
                    )
                    for line in detail.get("lines") or []
                ]
            )
            notes = []
            for kind, key in (
                (m.RmaNote.Kind.PROBLEM, "problems"),
                (m.RmaNote.Kind.TROUBLESHOOTING, "troubleshootings"),
                (m.RmaNote.Kind.RESULT, "results"),
            ):
                for note in detail.get(key) or []:
                    notes.append(
                        m.RmaNote(
                            rma=rma,
                            kind=kind,
                            upstream_id=to_int(note.get("id")),
                            message=to_str(note.get("message")),
                            created_upstream_at=to_datetime(note.get("created_at")),
                        )
                    )
            m.RmaNote.objects.bulk_create(notes)
        run.details_fetched += 1
