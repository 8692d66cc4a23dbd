"""The home dashboard's view model: a card per tally the member's roles use, from stored values only.

One query reads every tally a member sees (`home.models.Tally`); nothing is counted here. A tally
that is missing, changed since it was computed, or past its max age shows what it has "as of"
the time it was computed, and a recompute is scheduled (debounced: `home.services.schedule`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from django.urls import NoReverseMatch, reverse
from django.utils import timezone

from accounts.scoping import scoped

from . import services, tallies
from .models import Tally

TONE_WORDS = {"warn": "needs a look", "bad": "needs attention"}


@dataclass(frozen=True)
class Figure:
    """One number (or time) of a card, and the filtered list behind it."""

    label: str
    value: str
    url: str
    tone: str = ""  # "", "ok", "warn" or "bad": how it stands out (a badge, with words for screen readers)
    note: str = ""  # said after the value, e.g. "started 12 Mar"

    @property
    def tone_words(self) -> str:
        return TONE_WORDS.get(self.tone, "")

    @property
    def is_words(self) -> bool:
        """A value in words ("20 seconds ago", "never"), set smaller than a count so its label keeps room."""
        return not any(c.isdigit() for c in self.value) or self.value.endswith(" ago")


@dataclass(frozen=True)
class Group:
    heading: str
    figures: list[Figure]
    empty: str = ""  # said when there is no figure


@dataclass
class Card:
    key: str
    title: str
    url: str
    groups: list[Group] = field(default_factory=list)
    counting: bool = False  # never computed yet: the first count is on its way
    as_of: datetime | None = None  # shown with this time: changed (or old) since it was computed
    as_of_format: str = "H:i"  # with the day too when it is not from the last hours


def link(url_name: str, **params: Any) -> str:
    """The URL of a list with its filters (`status=[...]` repeats the parameter); "" if it has no page yet."""
    try:
        url = reverse(url_name)
    except NoReverseMatch:
        return ""
    query = urlencode({k: v for k, v in params.items() if v not in (None, "", [])}, doseq=True)
    return f"{url}?{query}" if query else url


def number(n: int | None) -> str:
    return "—" if n is None else f"{n:,}"


def cards(request) -> list[Card]:
    """The cards of the member's dashboard, in the registry's order. Schedules a recompute when one is behind."""
    membership = request.membership
    shown = tallies.for_roles(membership.roles if membership is not None else [])
    stored = {t.key: t for t in scoped(request, Tally).filter(key__in=[p.key for p in shown]).order_by()}
    now = timezone.now()
    out: list[Card] = []
    behind = False
    for provider in shown:
        tally = stored.get(provider.key)
        card = Card(provider.key, provider.title, link(provider.link) if provider.link else "")
        if tally is None or tally.refreshed_at is None:
            card.counting = True
            behind = True
        else:
            card.groups = provider.card(tally.value, now)
            if services.needs_recompute(provider, tally, now):
                card.as_of = tally.refreshed_at
                if (now - tally.refreshed_at).total_seconds() > 12 * 3600:
                    card.as_of_format = "j M H:i"
                behind = True
        out.append(card)
    if behind and request.organization is not None:
        services.schedule(request.organization.pk)
    return out
