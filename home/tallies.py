"""The registry of tallies: counts kept per organization for the home dashboard.

A provider names what it counts and where it is shown, once (in `home.providers`):

    register(
        "orders",
        orders.tallies.by_status,          # (organization id) -> JSON; runs in a worker
        roles=(Role.BUYER, ...),           # the dashboard shows its card to members with one of these roles
        reads=("orders",),                 # what it counts: sync resource names (or RUNS)
        card=cards.orders,                 # (value, now) -> the card's groups of figures, each a link to its list
        title="Orders", link="orders:list",
    )

- `compute` runs in a worker, never while a page renders: an exact count is fine there (through
  an index), and the page reads the stored value (`home.models.Tally`).
- `reads` is how a change finds the tallies it makes stale: a sync page, a vanish pass or an
  applied payload of one of these resources, a list row table of one of them refreshed (local
  submissions too), or, for `RUNS`, a sync run that ended (`home.hooks`).
- `max_age` (seconds): for counts over a moving window ("failed in the last 24 hours"), the age
  after which the value is recomputed even when nothing changed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

RUNS = "sync runs"  # what a tally reads when it reports on the sync runs themselves (freshness)


@dataclass(frozen=True)
class Provider:
    key: str
    compute: Callable[[int], Any]
    roles: frozenset[str]
    reads: tuple[str, ...]
    card: Callable[..., Any]
    title: str = ""
    link: str = ""  # the URL name of the card's section
    max_age: int | None = None

    def shown_to(self, roles: Iterable[str]) -> bool:
        return not self.roles.isdisjoint(roles)


_PROVIDERS: dict[str, Provider] = {}


def register(
    key: str,
    compute: Callable[[int], Any],
    *,
    roles: Iterable[str],
    reads: Iterable[str],
    card: Callable[..., Any],
    title: str = "",
    link: str = "",
    max_age: int | None = None,
) -> Provider:
    """Add (or replace, e.g. on a module reload) the provider of `key`; the dashboard shows cards in this order."""
    provider = Provider(
        key=key,
        compute=compute,
        roles=frozenset(str(r) for r in roles),
        reads=tuple(reads),
        card=card,
        title=title or key.replace("_", " ").capitalize(),
        link=link,
        max_age=max_age,
    )
    if len(key) > 50:
        raise ValueError(f"tally key {key!r} is longer than Tally.key (50)")
    _PROVIDERS[key] = provider
    return provider


def providers() -> list[Provider]:
    return list(_PROVIDERS.values())


def get(key: str) -> Provider:
    try:
        return _PROVIDERS[key]
    except KeyError:
        raise KeyError(f"no tally {key!r}; registered: {', '.join(_PROVIDERS)}") from None


def for_roles(roles: Iterable[str]) -> list[Provider]:
    """The providers whose cards a member with these roles sees, in the dashboard's order."""
    roles = set(roles)
    return [p for p in _PROVIDERS.values() if p.shown_to(roles)]


def reading(sources: Iterable[str]) -> list[str]:
    """The keys of the tallies that read any of these sources (resource names, or RUNS)."""
    sources = set(sources)
    return [p.key for p in _PROVIDERS.values() if not sources.isdisjoint(p.reads)]


def sources() -> set[str]:
    """Every source some tally reads."""
    return {name for p in _PROVIDERS.values() for name in p.reads}
