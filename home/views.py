"""The home page (`/`): the member's dashboard."""

from __future__ import annotations

from django.shortcuts import render

from accounts.access import member_required

from . import presenters


@member_required()
def dashboard(request):
    return render(request, "home/dashboard.html", {"cards": presenters.cards(request)})
