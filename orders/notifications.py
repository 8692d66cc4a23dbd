"""E-mails to the buyer who submitted an order: once when it is released, once when it ships
(the mechanism is portal.notifications; this is what they say)."""

from __future__ import annotations

from django.conf import settings
from django.template.loader import render_to_string
from django.urls import reverse

from mirror.models import Order
from portal.notifications import Notifier
from upstream.records import OrderStatus

from .models import OrderNotification, OrderSubmission

CHANNEL = "orders.email"
NOTIFY_STATUSES = (OrderStatus.RELEASED, OrderStatus.SHIPPED)


def _message(notification) -> tuple[str, str]:
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
    return subject, render_to_string("orders/email_status.txt", context)


NOTIFIER = Notifier(CHANNEL, OrderNotification, "notify_order_updates", NOTIFY_STATUSES, _message)


def queue_status_email(submission: OrderSubmission, status: str) -> OrderNotification | None:
    return NOTIFIER.queue(submission, status)  # type: ignore[return-value]


send = NOTIFIER.send
due_for_redrive = NOTIFIER.due
