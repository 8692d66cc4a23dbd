"""Counts of the inventory list that other pages show (the home dashboard, from a worker)."""

from __future__ import annotations

from .models import InventoryRow


def below_reorder(organization_id: int) -> int:
    """How many of the organization's inventory records are below their reorder level: an exact count
    through the tab's index (organization, is_below_reorder, ...), an index-only range scan."""
    return InventoryRow.objects.filter(organization_id=organization_id, is_below_reorder=True).count()
