"""Which saved views a member sees: their own and the shared ones of their organization, through
the one scoping helper. Another organization's view, or another member's private one, is not there."""

from __future__ import annotations

from typing import Any

from django.db.models import Q, QuerySet

from accounts.scoping import scoped

from .models import SavedView


def visible(request: Any) -> QuerySet[SavedView]:
    return scoped(request, SavedView.objects.all()).filter(Q(shared=True) | Q(owner_id=request.user.pk))


def views_of_list(request: Any, list_key: str) -> list[SavedView]:
    return list(visible(request).filter(list_key=list_key).select_related("owner"))


def visible_view(request: Any, list_key: str, pk: str) -> SavedView | None:
    """The view `?view=<pk>` names, if it is this list's and the member may open it."""
    if not (pk.isascii() and pk.isdigit()) or len(pk) > 18:
        return None
    return visible(request).filter(list_key=list_key, pk=int(pk)).first()


def home_views(request: Any, limit: int = 20) -> list[SavedView]:
    """For the home page: the member's own views first, then the shared ones, by list and name."""
    return sorted(
        visible(request).select_related("owner")[: limit * 2],
        key=lambda v: (v.owner_id != request.user.pk, v.list_key, v.name.casefold()),
    )[:limit]
