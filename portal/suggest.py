"""Suggestions for the lists' filter boxes (`portal.lists.SuggestingInput`): htmx fragments of `<option>`s.

- `item_names`: the names of the organization's mirrored items that contain what was typed (the items
  collection is the catalog's size, thousands at most, so a substring match there is cheap), for
  filters that match an item by its exact name.
"""

from __future__ import annotations

from django.shortcuts import render
from django.views.decorators.http import require_GET

from accounts.access import member_required
from accounts.scoping import scoped
from mirror.models import Item
from portal.lists import typed

SUGGESTIONS = 20


@require_GET
@member_required()
def item_names(request):
    text = typed(request)
    names: list[str] = []
    if text:
        names = list(
            scoped(request, Item.objects.filter(vanished_at__isnull=True, name__icontains=text))
            .order_by("name")
            .values_list("name", flat=True)
            .distinct()[:SUGGESTIONS]
        )
    return render(request, "portal/_options.html", {"options": names})
