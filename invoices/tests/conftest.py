"""Invoice test helpers: mirrored invoices (and the orders they bill), their rows written by the app."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from django.utils import timezone

from invoices import rows
from mirror.models import Invoice, Order

# Invoices every 37 hours from here: a month holds about 20, and bills cross month edges at odd hours.
BASE = datetime(2025, 1, 1, 5, 0, tzinfo=UTC)
STEP = timedelta(hours=37)


def mirrored_order(org, upstream_id: int, customer_order: str = "", purchase_order: str = "", **values) -> Order:
    now = timezone.now()
    return Order.objects.create(
        organization=org,
        upstream_id=upstream_id,
        raw={"id": upstream_id},
        content_hash="x",
        first_seen_at=now,
        changed_at=now,
        customer_order=customer_order or f"CO-{upstream_id}",
        purchase_order=purchase_order or f"PO-{upstream_id}",
        status=values.pop("status", "Shipped"),
        **values,
    )


def total_of(k: int) -> Decimal:
    """Invoice k's total: cents that add up differently in every month."""
    return Decimal(1000 + (k * 7919) % 900_000) / 100


def make_invoices(
    org,
    n: int,
    *,
    start: int = 0,
    orders: bool = True,
    order_every: int = 1,
    base: datetime = BASE,
    step: timedelta = STEP,
    number_base: int = 700_000,
) -> list[Invoice]:
    """n mirrored invoices billed `step` apart from `base`, and their rows (and months). Invoice k bills
    upstream order 200000 + k // order_every, mirrored when `orders` (customer order "CO-<id>")."""
    now = timezone.now()
    order_ids = sorted({200_000 + k // order_every for k in range(start, start + n)})
    if orders:
        existing = set(
            Order.objects.filter(organization=org, upstream_id__in=order_ids).values_list("upstream_id", flat=True)
        )
        Order.objects.bulk_create(
            Order(
                organization=org,
                upstream_id=o,
                raw={"id": o},
                content_hash="x",
                first_seen_at=now,
                changed_at=now,
                customer_order=f"CO-{o}",
                purchase_order=f"PO-{o}",
                status="Shipped",
            )
            for o in order_ids
            if o not in existing
        )
    invoices = Invoice.objects.bulk_create(
        Invoice(
            organization=org,
            upstream_id=number_base + k,
            raw={"id": number_base + k},
            content_hash="x",
            first_seen_at=now,
            changed_at=now,
            order_id=200_000 + k // order_every,
            billed_at=base + k * step,
            total=total_of(k),
        )
        for k in range(start, start + n)
    )
    pks = list(
        Invoice.objects.filter(organization=org, upstream_id__in=[number_base + k for k in range(start, start + n)])
        .order_by("upstream_id")
        .values_list("pk", flat=True)
    )
    rows.refresh(org.pk, pks)
    return invoices
