"""Counts of the orders list that other pages show (the home dashboard, from a worker)."""

from __future__ import annotations

from django.db.models import Count

from .models import OrderRow


def by_status(organization_id: int) -> dict[str, int]:
    """Rows of the orders list per status (an upstream order's, or a local submission's delivery status):
    exact, from one index-only scan of (organization, status, id). The orders list's tabs and its status
    filter show the same numbers."""
    rows = (
        OrderRow.objects.filter(organization_id=organization_id)
        .order_by()
        .values("status")
        .annotate(n=Count("id"))
        .values_list("status", "n")
    )
    return dict(rows)
