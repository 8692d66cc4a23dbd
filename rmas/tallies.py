"""Counts of the RMA lists that other pages show (the home dashboard, from a worker)."""

from __future__ import annotations

from typing import Any

from django.db.models import Count

from .models import RmaRow


def open_by_status(organization_id: int) -> dict[str, Any]:
    """The Open tab's rows per status, and the oldest open RMA (by start date): through the tab's index
    (organization, is_open, start_date, id). Local requests not mirrored yet count as open, as in the tab."""
    open_rows = RmaRow.objects.filter(organization_id=organization_id, is_open=True)
    by_status = dict(open_rows.order_by().values("status").annotate(n=Count("id")).values_list("status", "n"))
    first = (
        open_rows.filter(start_date__isnull=False)
        .order_by("start_date", "id")
        .values("rma_id", "submission_id", "upstream_id", "subject", "manufacturer_serial", "start_date")
        .first()
    )
    oldest: dict[str, Any] | None = dict(first) if first is not None else None
    if oldest is not None:
        oldest["start_date"] = oldest["start_date"].isoformat()
    return {"by_status": by_status, "oldest": oldest}
