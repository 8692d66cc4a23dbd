"""The orders card of the dashboard: one capped count query, as the orders list counts."""

from django.db.models import Q

from accounts.scoping import scoped
from outbox.models import OPEN_STATUSES, UNDELIVERED_STATUSES
from portal.lists import COUNT_CAP, Counts, capped_counts
from upstream.records import OrderStatus

from .models import OrderRow

CARD = (
    (OrderStatus.PENDING.label, Q(status=OrderStatus.PENDING)),
    (OrderStatus.RELEASED.label, Q(status=OrderStatus.RELEASED)),
    ("Waiting to be sent", Q(status__in=OPEN_STATUSES)),
    ("Rejected", Q(status__in=UNDELIVERED_STATUSES)),
)


def dashboard_rows(request):
    rows = scoped(request, OrderRow)
    counts = Counts(tabs=capped_counts(rows, dict(CARD), COUNT_CAP), cap=COUNT_CAP)
    return [(label, counts.text(label)) for label, _ in CARD]
