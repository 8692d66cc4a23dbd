"""The orders card of the dashboard."""

from accounts.scoping import scoped

from .models import OrderRow


def dashboard_rows(request):
    rows = scoped(request, OrderRow)
    return [
        ("Pending", rows.filter(status="pending").count()),
        ("Released", rows.filter(status="released").count()),
        ("Waiting to be sent", rows.filter(status__in=["queued", "sending", "retrying"]).count()),
        ("Rejected", rows.filter(status__in=["rejected", "failed"]).count()),
    ]
