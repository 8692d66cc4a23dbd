"""An item's page: its stock across locations, its catalog price, its orders and its RMAs."""

from __future__ import annotations

from django.shortcuts import redirect, render

from accounts.access import member_required
from accounts.scoping import get_scoped_or_404
from mirror.models import Item

from .presenters import ItemPage


@member_required()
def item_detail(request, pk):
    item = get_scoped_or_404(request, Item.objects.present(), pk=pk)
    if request.method not in ("GET", "HEAD"):
        return redirect("inventory:item", pk=item.pk)
    return render(request, "inventory/item.html", {"page": ItemPage(request, item)})
