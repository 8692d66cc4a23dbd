"""What other pages show of the sync (the home dashboard's freshness card, from a worker)."""

from __future__ import annotations

from typing import Any


def freshness(organization_id: int) -> list[dict[str, Any]]:
    """Per resource, what the freshness page shows: when its last success finished, the rows it fetched,
    and whether its latest run is working or failed. Whether it is stale depends on the time it is read:
    the reader decides (three intervals of its schedule, as the freshness page does)."""
    from .views import freshness_rows

    return [
        {
            "resource": row["resource"].name,
            "finished": row["finished"].isoformat() if row["finished"] else None,
            "count": row["count"],
            "working": row["working"],
            "failed": row["failed"],
        }
        for row in freshness_rows(organization_id)
    ]
