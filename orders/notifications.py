"""E-mails to the buyer who submitted an order: once when it is released, once when it ships."""

from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from accounts.models import Membership
from mirror.models import Order
from portal import dispatch
from upstream.records import OrderStatus

from .models import OrderNotification, OrderSubmission

log = logging.getLogger("orders")

CHANNEL = "orders.email"
NOTIFY_STATUSES = (OrderStatus.RELEASED, OrderStatus.SHIPPED)


def queue_status_email(submission: OrderSubmission, status: str) -> OrderNotification | None:
    """Record the e-mail (at most one per order and status) and send it from a worker on commit."""
    user = submission.created_by
    if status not in NOTIFY_STATUSES or user is None:
        return None
    membership = Membership.objects.filter(user=user, organization_id=submission.organization_id).first()
    if membership is None or not membership.notify_order_updates or not user.email:
        return None
    notification, created = OrderNotification.objects.get_or_create(
        submission=submission,
        status=status,
        defaults={"organization_id": submission.organization_id, "recipient": user, "email": user.email},
    )
    if created:
        dispatch.on_commit(CHANNEL, notification.pk)
    return notification


def send(notification_id: int) -> bool:
    """Send one recorded e-mail unless it was sent already. True when sent now."""
    with transaction.atomic():
        notification = (
            OrderNotification.objects.select_for_update(of=("self",))
            .select_related("submission", "recipient")
            .filter(pk=notification_id)
            .first()
        )
        if notification is None or notification.sent_at is not None:
            return False
        submission = notification.submission
        order = Order.objects.for_org(submission.organization_id).filter(upstream_id=submission.upstream_id).first()
        context = {
            "submission": submission,
            "order": order,
            "status": notification.status,
            "shipped": notification.status == OrderStatus.SHIPPED,
            "user": notification.recipient,
            "tracking": list(order.tracking_numbers.all()) if order else [],
            "url": settings.PORTAL_BASE_URL.rstrip("/") + reverse("orders:submission", args=[submission.pk]),
        }
        subject = f"Order {submission.customer_order} {notification.status.lower()}"
        body = render_to_string("orders/email_status.txt", context)
        try:
            send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, [notification.email])
        except Exception as exc:
            notification.error = f"{exc.__class__.__name__}: {exc}"[:1000]
            notification.save(update_fields=["error"])
            log.warning("order e-mail %s not sent: %s", notification.pk, exc.__class__.__name__)
            return False
        notification.sent_at = timezone.now()
        notification.error = ""
        notification.save(update_fields=["sent_at", "error"])
    return True


def due_for_redrive(limit: int, older_than: float = 60) -> list[int]:
    """Recorded e-mails not sent yet: their task was lost, or sending failed."""
    cutoff = timezone.now() - timedelta(seconds=older_than)
    return list(
        OrderNotification.objects.filter(sent_at__isnull=True, created_at__lt=cutoff)
        .order_by("created_at")
        .values_list("pk", flat=True)[:limit]
    )
