"""Keeping the tallies: mark what a change made stale, schedule a recompute (debounced), recompute.

- `changed(organization_id, sources)`: called where data changes (`home.hooks`), inside or outside
  the changing transaction. Once it commits, the tallies reading those sources get `changed_at`,
  and a recompute of the organization is scheduled.
- `schedule(organization_id)`: at most one recompute per organization every
  `HOME_TALLY_DEBOUNCE` seconds: the first change of a window sets a cache key and hands the
  organization to a worker with that countdown (`portal.dispatch`, channel "home.tallies"); the
  changes after it, until the worker starts, ride on it. The worker deletes the key before it
  reads anything, so a change after that schedules the next one.
- `recompute(organization_id)`: computes the tallies that are missing, stale (changed after
  they were computed) or older than their `max_age`, and stores each with the time its
  computation started. A lost hand-over is found again by the dispatch redrive (`due`).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from datetime import datetime, timedelta

from django.conf import settings
from django.core.cache import cache
from django.db import IntegrityError, connection, transaction
from django.db.models import F, Q
from django.utils import timezone

from accounts.models import Organization
from portal import dispatch

from . import tallies
from .models import Tally

log = logging.getLogger("home")

CHANNEL = "home.tallies"
REDRIVE_GRACE = 30.0  # seconds a stale tally may wait for its scheduled recompute before the redrive steps in


def debounce_seconds() -> float:
    return float(settings.HOME_TALLY_DEBOUNCE)


KEY_PREFIX = "home:tallies"


def _key(organization_id: int) -> str:
    # The database's name too: one cache (Redis) may serve several portals, or test databases.
    return f"{KEY_PREFIX}:{connection.settings_dict['NAME']}:{organization_id}"


# -- changes -----------------------------------------------------------------------------------
def changed(organization_id: int, sources: Iterable[str]) -> None:
    """Data that tallies read changed (in the current transaction, if any): once it commits, they are
    marked stale and a recompute is scheduled. A rolled-back change marks nothing."""
    keys = tallies.reading(sources)
    if keys:
        transaction.on_commit(lambda: _after_commit(organization_id, keys))


def _after_commit(organization_id: int, keys: list[str]) -> None:
    try:
        mark(organization_id, keys)
        schedule(organization_id)
    except Exception:  # the change itself is committed; the redrive and the dashboard catch up
        log.exception("tallies of organization %s: could not mark %s stale", organization_id, ", ".join(keys))


def mark(organization_id: int, keys: Iterable[str], at: datetime | None = None) -> int:
    """Record that what these tallies count changed now (one UPDATE of the rows there are)."""
    return Tally.objects.filter(organization_id=organization_id, key__in=list(keys)).update(
        changed_at=at or timezone.now()
    )


def schedule(organization_id: int) -> bool:
    """Recompute this organization's tallies in a while, unless that is already scheduled. True when
    this call scheduled it."""
    seconds = debounce_seconds()
    if not cache.add(_key(organization_id), 1, timeout=max(1, round(seconds))):
        return False
    dispatch.hand_over(CHANNEL, organization_id, countdown=seconds or None)
    return True


# -- recomputing -------------------------------------------------------------------------------
def needs_recompute(provider: tallies.Provider, tally: Tally | None, now: datetime) -> bool:
    if tally is None or not tally.current:
        return True
    assert tally.refreshed_at is not None  # current  # nosec B101  # narrows the type for mypy; guards nothing
    return provider.max_age is not None and (now - tally.refreshed_at).total_seconds() > provider.max_age


def recompute(organization_id: int, keys: Iterable[str] | None = None) -> list[str]:
    """Compute this organization's tallies that need it (or exactly `keys`); returns the keys computed.

    Runs in a worker (channel "home.tallies"); safe to run twice at once: a value is stored only
    over an older one."""
    cache.delete(_key(organization_id))  # from now on, a change schedules the next recompute
    if not Organization.objects.filter(pk=organization_id).exists():
        return []  # gone (or a test's), nothing to keep
    # Every tally has its row before anything is read: a change from now on marks it.
    Tally.objects.bulk_create(
        [Tally(organization_id=organization_id, key=p.key) for p in tallies.providers()],
        ignore_conflicts=True,
    )
    stored = {t.key: t for t in Tally.objects.filter(organization_id=organization_id)}
    now = timezone.now()
    if keys is None:
        todo = [p for p in tallies.providers() if needs_recompute(p, stored.get(p.key), now)]
    else:
        todo = [tallies.get(key) for key in keys]
    done = []
    for provider in todo:
        started = timezone.now()
        clock = time.perf_counter()
        try:
            value = provider.compute(organization_id)
        except Exception:
            log.exception("tally %s of organization %s failed", provider.key, organization_id)
            continue
        store(organization_id, provider.key, value, started, round((time.perf_counter() - clock) * 1000))
        done.append(provider.key)
    return done


def store(organization_id: int, key: str, value, refreshed_at: datetime, compute_ms: int = 0) -> bool:
    """Keep a value computed from the data as of `refreshed_at`, unless a newer one is there already."""
    newer_or_none = Q(refreshed_at__isnull=True) | Q(refreshed_at__lte=refreshed_at)
    rows = Tally.objects.filter(organization_id=organization_id, key=key)
    if rows.filter(newer_or_none).update(value=value, refreshed_at=refreshed_at, compute_ms=compute_ms):
        return True
    if rows.exists():
        return False
    try:
        with transaction.atomic():
            Tally.objects.create(
                organization_id=organization_id,
                key=key,
                value=value,
                refreshed_at=refreshed_at,
                compute_ms=compute_ms,
            )
        return True
    except IntegrityError:  # created meanwhile by a concurrent recompute
        return False


def due(limit: int) -> list[int]:
    """Organizations whose tallies are stale (or past their max age) for longer than a scheduled
    recompute takes: their hand-over was lost (broker down, a worker killed). For the redrive."""
    now = timezone.now()
    grace = timedelta(seconds=debounce_seconds() + REDRIVE_GRACE)
    late = Q(changed_at__gt=F("refreshed_at"), changed_at__lt=now - grace)
    for provider in tallies.providers():
        if provider.max_age is not None:
            late |= Q(key=provider.key, refreshed_at__lt=now - timedelta(seconds=provider.max_age) - grace)
    ids = (
        Tally.objects.filter(late, organization__is_active=True)
        .values_list("organization_id", flat=True)
        .distinct()
        .order_by()[:limit]
    )
    return list(ids)
