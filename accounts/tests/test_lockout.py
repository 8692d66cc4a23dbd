"""Sign-in lock-out (django-axes, accounts.lockout): per username from any address, per address for
any usernames, each with its own limit; what a success resets; the lock-out page."""

from __future__ import annotations

from datetime import timedelta

import pytest
from axes.models import AccessAttempt
from django.test import Client
from django.utils import timezone

from conftest import PASSWORD
from portal.tests.test_security_headers import assert_strict_headers, inline_bits

# Documentation address ranges (RFC 5737): request metadata only, no traffic goes anywhere.
ATTACKER = "203.0.113.7"
OFFICE = "198.51.100.20"


@pytest.fixture(autouse=True)
def limits(settings):
    """Small limits, the address's larger than the username's, as in the defaults (5 and 20)."""
    settings.AXES_FAILURE_LIMIT = 3
    settings.AXES_IP_FAILURE_LIMIT = 7
    return settings


def attempt(username: str, password: str, ip: str):
    return Client(REMOTE_ADDR=ip).post("/accounts/login/", {"username": username, "password": password})


def signed_in(response) -> bool:
    return response.status_code == 302 and response["Location"] == "/"


def locked(response) -> bool:
    return response.status_code == 429 and b"Too many failed sign-ins" in response.content


def test_settings_lock_usernames_and_addresses_separately(settings):
    assert settings.AXES_LOCKOUT_PARAMETERS == [["username"], ["ip_address"]]
    assert settings.AXES_HANDLER == "accounts.lockout.PortalAxesHandler"


def test_failures_on_one_username_from_many_addresses_lock_that_username(alice, bob, limits):
    for i in range(limits.AXES_FAILURE_LIMIT - 1):
        assert not locked(attempt("alice", "wrong", f"192.0.2.{i + 1}"))
    assert signed_in(attempt("bob", PASSWORD, "192.0.2.200"))  # not yet
    assert attempt("alice", "wrong", "192.0.2.99").status_code == 429  # the failure that reaches the limit
    assert locked(attempt("alice", PASSWORD, OFFICE))  # the right password, from an address never seen
    assert signed_in(attempt("bob", PASSWORD, OFFICE))  # the address is not locked, nor is bob


def test_failures_on_many_usernames_from_one_address_lock_that_address(alice, bob, limits):
    for i in range(limits.AXES_IP_FAILURE_LIMIT - 1):
        assert not locked(attempt(f"guess{i}", "wrong", ATTACKER))  # each username fails once only
    assert signed_in(attempt("bob", PASSWORD, ATTACKER))  # one short of the address's limit
    assert locked(attempt("guess-last", "wrong", ATTACKER))
    assert locked(attempt("alice", PASSWORD, ATTACKER))  # every username, the right password too
    assert signed_in(attempt("alice", PASSWORD, OFFICE))  # alice is not locked elsewhere


def test_the_address_limit_is_larger_than_the_username_limit(alice, limits):
    for i in range(limits.AXES_FAILURE_LIMIT + 1):
        attempt(f"typo{i}", "wrong", OFFICE)  # colleagues mistyping from one office
    assert signed_in(attempt("alice", PASSWORD, OFFICE))


def test_a_success_clears_that_usernames_failures(alice, limits):
    for _ in range(2):
        for i in range(limits.AXES_FAILURE_LIMIT - 1):
            assert not locked(attempt("alice", "wrong", f"192.0.2.{i + 1}"))
        assert signed_in(attempt("alice", PASSWORD, OFFICE))
    assert not AccessAttempt.objects.filter(username="alice").exists()


def test_a_success_does_not_clear_other_usernames_failures_from_the_same_address(alice, bob, limits):
    for i in range(limits.AXES_IP_FAILURE_LIMIT - 1):
        attempt(f"guess{i}", "wrong", ATTACKER)
    assert signed_in(attempt("bob", PASSWORD, ATTACKER))  # the attacker's own account
    assert locked(attempt("guess-last", "wrong", ATTACKER))
    assert locked(attempt("bob", PASSWORD, ATTACKER))


def test_the_lock_out_ends_after_the_cool_off(alice, limits):
    for _ in range(limits.AXES_FAILURE_LIMIT):
        attempt("alice", "wrong", ATTACKER)
    assert locked(attempt("alice", PASSWORD, OFFICE))
    AccessAttempt.objects.update(attempt_time=timezone.now() - timedelta(hours=limits.AXES_COOLOFF_TIME, minutes=1))
    assert signed_in(attempt("alice", PASSWORD, OFFICE))


def test_the_lock_out_page_says_how_long_and_what_to_do(alice, limits):
    for _ in range(limits.AXES_FAILURE_LIMIT):
        attempt("alice", "wrong", ATTACKER)
    response = attempt("alice", PASSWORD, ATTACKER)
    assert response.status_code == 429
    html = response.content.decode()
    assert "Try again in 15 minutes." in html
    assert 'href="/accounts/password_reset/"' in html
    assert PASSWORD not in html
    assert inline_bits(html) == []
    assert_strict_headers(response, signed_in=False)


def test_the_admin_sign_in_is_locked_the_same_way(ops, limits):
    client = Client(REMOTE_ADDR=ATTACKER)
    for _ in range(limits.AXES_FAILURE_LIMIT):
        client.post("/admin/login/", {"username": "ops", "password": "wrong"})
    response = Client(REMOTE_ADDR=OFFICE).post("/admin/login/", {"username": "ops", "password": PASSWORD})
    assert locked(response)
