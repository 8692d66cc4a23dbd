"""The home page (`/`): the member's dashboard."""

from __future__ import annotations

from django.shortcuts import render

from accounts.access import member_required
from savedviews.queries import home_views

from . import presenters


@member_required()
def dashboard(request):
    return render(
        request, "home/dashboard.html", {"cards": presenters.cards(request), "home_views": home_views(request)}
    )
