"""Limits on password-reset e-mails, per address and per client IP, counted in Django's cache.

Each request to reset a password counts once against its address and once against the IP it
came from, in fixed windows of PASSWORD_RESET_WINDOW seconds (the cache keys expire with the
window). Past PASSWORD_RESET_PER_ADDRESS requests for one address, or PASSWORD_RESET_PER_IP
requests from one IP, no e-mail is sent until the window ends; the page answers as always, so
it still says nothing about which addresses have an account.

Addresses are never stored or logged in clear: keys and log lines carry a keyed hash of the
address (HMAC with SECRET_KEY), which cannot be reversed by hashing a list of addresses.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from django.utils.crypto import salted_hmac

# Tests replace this per test, so counts never carry over between tests sharing a cache.
KEY_PREFIX = "password-reset"


@dataclass(frozen=True)
class Verdict:
    """Whether a reset e-mail may go out, and which limit refused it if not."""

    allowed: bool
    address_hash: str
    refused_by: str = ""  # "address" or "ip" when refused


def address_hash(email: str) -> str:
    """A short keyed hash of a normalised address: the same for "A@x.com " and "a@x.com"."""
    normalised = email.strip().casefold()
    return salted_hmac("accounts.throttle.address", normalised).hexdigest()[:16]


def _count(key: str, window: int) -> int:
    """Add one to the counter at `key`, which lives for `window` seconds from its first use."""
    cache.add(key, 0, timeout=window)
    try:
        return cache.incr(key)
    except ValueError:  # the key expired between add and incr: this is the window's first request
        cache.set(key, 1, timeout=window)
        return 1


def check_password_reset(email: str, ip: str | None) -> Verdict:
    """Count one reset request for `email` from `ip`; allowed while both are within their limits."""
    window = settings.PASSWORD_RESET_WINDOW
    digest = address_hash(email)
    per_address = _count(f"{KEY_PREFIX}:address:{digest}", window)
    per_ip = _count(f"{KEY_PREFIX}:ip:{ip or 'unknown'}", window)
    if per_address > settings.PASSWORD_RESET_PER_ADDRESS:
        return Verdict(False, digest, "address")
    if per_ip > settings.PASSWORD_RESET_PER_IP:
        return Verdict(False, digest, "ip")
    return Verdict(True, digest)
