"""Fixtures for the accounts tests."""

from __future__ import annotations

import uuid

import pytest

from accounts import throttle


@pytest.fixture(autouse=True)
def fresh_reset_counters(monkeypatch):
    """Password-reset counts of this test only: a key prefix of its own in the shared cache.

    The cache is Redis in CI, shared by the test processes and kept between runs, so clearing
    it is not an option; a prefix per test keeps every test's counts apart.
    """
    monkeypatch.setattr(throttle, "KEY_PREFIX", f"password-reset-test-{uuid.uuid4().hex}")
