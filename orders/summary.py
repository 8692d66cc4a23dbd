"""The orders card of the dashboard."""

from accounts.scoping import scoped
from outbox.models import OPEN_STATUSES, UNDELIVERED_STATUSES
from upstream.records import OrderStatus

from .models import OrderRow


def dashboard_rows(request):
    rows = scoped(request, OrderRow)
    return [
        (OrderStatus.PENDING.label, rows.filter(status=OrderStatus.PENDING).count()),
        (OrderStatus.RELEASED.label, rows.filter(status=OrderStatus.RELEASED).count()),
        ("Waiting to be sent", rows.filter(status__in=OPEN_STATUSES).count()),
        ("Rejected", rows.filter(status__in=UNDELIVERED_STATUSES).count()),
    ]
