"""Home dashboard test helpers: hand-overs captured (no broker), tallies recounted on demand."""

from __future__ import annotations

import re
import uuid

import pytest

from portal import dispatch


@pytest.fixture
def handed(monkeypatch):
    """What was handed to a worker, as (channel, pk, countdown), instead of the broker."""
    sent: list[tuple[str, int, float | None]] = []
    monkeypatch.setattr(
        dispatch, "hand_over", lambda channel, pk, countdown=None: sent.append((channel, pk, countdown)) or True
    )
    return sent


@pytest.fixture(autouse=True)
def fresh_debounce(monkeypatch):
    """Each test starts with no recount scheduled: a cache key prefix of its own (the cache may be
    shared and kept between runs: Redis in CI)."""
    from home import services

    monkeypatch.setattr(services, "KEY_PREFIX", f"home-test-{uuid.uuid4().hex}")


def scheduled(handed, org) -> int:
    return sum(1 for channel, pk, _ in handed if channel == "home.tallies" and pk == org.pk)


def card(response, key):
    return next(c for c in response.context["cards"] if c.key == key)


def figures(response, key) -> dict[str, tuple[str, str]]:
    """label -> (value, url) of one card's figures."""
    return {f.label: (f.value, f.url) for group in card(response, key).groups for f in group.figures}


def list_total(response) -> int:
    """The number a list page says it shows (the total of "Showing 1-3 of 3"; "No rows match." is 0)."""
    summary = response.context["summary"]
    if summary.startswith("No rows"):
        return 0
    match = re.search(r"of ([\d,]+)$", summary)
    assert match, summary
    return int(match.group(1).replace(",", ""))
