"""Rows for the tallies to count: mirrored objects with their list rows, and local submissions."""

from __future__ import annotations

from datetime import date, timedelta

from django.utils import timezone

from mirror.models import AutomationQueue, AutomationTask, Order, Rma
from orders import rows as order_rows
from orders.models import OrderSubmission
from outbox.models import Delivery
from rmas import rows as rma_rows
from rmas.models import RmaSubmission

ORDER_STATUSES = ("Pending", "Released", "Shipped")


def _mirror(org, upstream_id: int) -> dict:
    now = timezone.now()
    return {
        "organization": org,
        "upstream_id": upstream_id,
        "raw": {"id": upstream_id},
        "content_hash": "x",
        "first_seen_at": now,
        "changed_at": now,
    }


def orders(org, n: int, *, start: int = 0) -> None:
    """n mirrored orders, Pending / Released / Shipped in turn, and their list rows."""
    Order.objects.bulk_create(
        Order(
            **_mirror(org, 700_000 + start + k),
            customer_order=f"HOME-{start + k:05d}",
            status=ORDER_STATUSES[(start + k) % 3],
            recipient_country="CA",
            created_upstream_at=timezone.now() - timedelta(hours=start + k),
        )
        for k in range(n)
    )
    order_rows.rebuild(org.pk)


def order_submissions(org, statuses) -> list[OrderSubmission]:
    """One local order submission (not mirrored) per delivery status, and their list rows."""
    made = []
    for k, status in enumerate(statuses):
        delivery = Delivery.objects.create(
            organization=org, kind=Delivery.Kind.ORDER_CREATE, method="POST", path="/v2/x", body="{}", status=status
        )
        made.append(
            OrderSubmission.objects.create(
                organization=org,
                purchase_order=f"PO-{k}",
                customer_order=f"WEB-{org.pk}-{k:04d}-{status}",
                ship_method_id=12,
                recipient_name="John L. Doe",
                recipient_country="CA",
                delivery=delivery,
            )
        )
    order_rows.refresh(org.pk, submission_ids=[s.pk for s in made])
    return made


RMA_STATUSES = ("Not Received", "Checked In", "In Repair", "Repaired")


def rmas(org, n_open: int, n_closed: int = 0, *, start: int = 0) -> None:
    """Mirrored RMAs: open ones in the four open statuses in turn (the first started longest ago), closed
    ones after them; and their list rows."""
    today = date.today()
    made = []
    for k in range(n_open + n_closed):
        is_open = k < n_open
        made.append(
            Rma(
                **_mirror(org, 800_000 + start + k),
                subject=f"Disk failure {k}",
                manufacturer_serial=f"SN{start + k:06d}",
                start_date=today - timedelta(days=400 - k),
                closed_date=None if is_open else today,
                status_name=RMA_STATUSES[k % 4] if is_open else "Closed",
                is_open=is_open,
            )
        )
    Rma.objects.bulk_create(made)
    rma_rows.rebuild(org.pk)


def rma_request(org, status: str = Delivery.Status.QUEUED) -> RmaSubmission:
    delivery = Delivery.objects.create(
        organization=org, kind=Delivery.Kind.RMA_CREATE, method="POST", path="/v2/rmas", body="{}", status=status
    )
    submission = RmaSubmission.objects.create(
        organization=org,
        delivery=delivery,
        request_type=1,
        manufacturer_serial="WEB0001",
        problem="No POST.",
        replacement_name="John",
    )
    rma_rows.refresh(org.pk, submission_ids=[submission.pk])
    return submission


def automation(org, *, in_progress: int, finished: int, failed_recently: int, failed_long_ago: int) -> None:
    now = timezone.now()
    AutomationQueue.objects.bulk_create(
        AutomationQueue(**_mirror(org, 900_000 + k), finished=k >= in_progress) for k in range(in_progress + finished)
    )
    tasks = [
        AutomationTask(**_mirror(org, 950_000 + k), failed=True, completed_at=now - timedelta(hours=1 + k))
        for k in range(failed_recently)
    ]
    tasks += [
        AutomationTask(**_mirror(org, 960_000 + k), failed=True, completed_at=now - timedelta(hours=30 + k))
        for k in range(failed_long_ago)
    ]
    tasks.append(AutomationTask(**_mirror(org, 970_000), failed=False, completed_at=now))
    AutomationTask.objects.bulk_create(tasks)
