"""Which saved views a member sees: their own and the shared ones of their organization, through
the one scoping helper. Another organization's view, or another member's private one, is not there."""

from __future__ import annotations

from typing import Any

from django.db.models import Case, Q, QuerySet, Value, When
from django.db.models.functions import Lower

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
    """For the home page (one query): the member's own views first, then the shared ones, by list and
    name, each with its list's title (`list_title`)."""
    from portal.lists import LISTS

    views: list[SavedView] = list(
        visible(request)
        .select_related("owner")
        .annotate(mine=Case(When(owner_id=request.user.pk, then=Value(0)), default=Value(1)))
        .order_by("mine", "list_key", Lower("name"), "id")[:limit]
    )
    for view in views:
        known = LISTS.get(view.list_key)
        view.list_title = (known.title or view.list_key) if known else view.list_key  # type: ignore[attr-defined]
    return views
