"""Password rules on every form that sets a password, and the limits on password-reset e-mails.

Rules (issue 11): at least 12 characters, not only blanks, not like or containing the
username, not a common password. Reset e-mails: at most PASSWORD_RESET_PER_ADDRESS per
address and PASSWORD_RESET_PER_IP per client IP in a window; past that the page answers the
same and sends nothing.
"""

from __future__ import annotations

import logging
import re
import time

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core import mail
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.core.management.base import CommandError

from conftest import PASSWORD, make_member, make_org

# The three, and two that only the new rules catch past the 12-character minimum.
WEAK = [
    pytest.param(" " * 12, id="twelve-spaces"),
    pytest.param("vicvicvic", id="vicvicvic"),
    pytest.param("vic12345", id="vic12345"),
    pytest.param("\t" * 6 + " " * 6, id="twelve-blanks"),
    pytest.param("VicVicVicVic", id="username-repeated-to-12"),
]
GOOD = "tulip-radar9"  # exactly 12 characters, nothing like "vic", not a common password


@pytest.fixture
def vic(org_a):
    return make_member("vic", org_a)


@pytest.fixture
def client_vic(client, vic):
    client.force_login(vic)
    return client


def _reset_link(client, email: str) -> str:
    """Ask for a reset of `email` and follow the e-mailed link to the set-password form."""
    client.post("/accounts/password_reset/", {"email": email})
    link = re.search(r"http://testserver(/accounts/reset/\S+/)", str(mail.outbox[-1].body))
    assert link, mail.outbox[-1].body
    page = client.get(link.group(1), follow=True)
    return page.redirect_chain[-1][0]


@pytest.mark.parametrize("weak", WEAK)
def test_password_change_form_refuses_weak_password_next_to_the_field(client_vic, vic, weak):
    response = client_vic.post(
        "/accounts/password_change/", {"old_password": PASSWORD, "new_password1": weak, "new_password2": weak}
    )
    assert response.status_code == 200
    assert response.context["form"].errors.get("new_password2"), response.context["form"].errors
    assert b'class="error"' in response.content
    vic.refresh_from_db()
    assert vic.check_password(PASSWORD)


@pytest.mark.parametrize("weak", WEAK)
def test_set_password_form_from_the_reset_link_refuses_weak_password(client, vic, weak):
    url = _reset_link(client, vic.email)
    response = client.post(url, {"new_password1": weak, "new_password2": weak})
    assert response.status_code == 200
    assert response.context["form"].errors.get("new_password2"), response.context["form"].errors
    vic.refresh_from_db()
    assert vic.check_password(PASSWORD)


@pytest.mark.parametrize("weak", WEAK)
def test_admin_user_creation_refuses_weak_password(client_ops, weak):
    response = client_ops.post(
        "/admin/auth/user/add/",
        {"username": "vic", "password1": weak, "password2": weak, "usable_password": "true"},
    )
    assert response.status_code == 200
    form = response.context["adminform"].form
    assert form.errors.get("password2"), form.errors
    assert not get_user_model().objects.filter(username="vic").exists()


@pytest.mark.parametrize("weak", WEAK)
def test_admin_password_change_refuses_weak_password(client_ops, vic, weak):
    response = client_ops.post(
        f"/admin/auth/user/{vic.pk}/password/", {"password1": weak, "password2": weak, "usable_password": "true"}
    )
    assert response.status_code == 200
    assert response.context["form"].errors.get("password2"), response.context["form"].errors
    vic.refresh_from_db()
    assert vic.check_password(PASSWORD)


@pytest.mark.parametrize("weak", WEAK)
def test_addmember_refuses_weak_password(db, monkeypatch, weak):
    make_org("acme", "Acme")
    monkeypatch.setenv("PORTAL_USER_PASSWORD", weak)
    with pytest.raises(CommandError, match="password refused"):
        call_command("addmember", "acme", "vic", "--role", "buyer")
    assert not get_user_model().objects.filter(username="vic").exists()


def test_a_good_twelve_character_password_is_accepted(client_vic, vic):
    response = client_vic.post(
        "/accounts/password_change/", {"old_password": PASSWORD, "new_password1": GOOD, "new_password2": GOOD}
    )
    assert response.status_code == 302
    vic.refresh_from_db()
    assert vic.check_password(GOOD)


def test_each_rule_says_what_is_wrong(db):
    user = get_user_model()(username="vic", email="vic@example.com")
    cases = {
        " " * 12: "only spaces",
        "vicvicvic": "too short",
        "vic-the-buyer-2024": "contains your username",
        "password1234": "too common",
        "123456789012345": "entirely numeric",
    }
    for password, says in cases.items():
        with pytest.raises(ValidationError) as refused:
            validate_password(password, user)
        assert any(says in message for message in refused.value.messages), (password, refused.value.messages)


def test_the_demo_password_meets_the_rules(db, settings):
    User = get_user_model()
    for username in ("alice", "admin"):
        validate_password(settings.PORTAL_DEMO_PASSWORD, User(username=username, email=f"{username}@example.com"))


# -- password-reset limits ---------------------------------------------------------------------


def _reset(client, email: str, ip: str):
    return client.post("/accounts/password_reset/", {"email": email}, REMOTE_ADDR=ip)


def test_reset_mails_per_address_stop_at_the_limit_and_the_answer_stays_the_same(client, alice, settings, caplog):
    settings.PASSWORD_RESET_PER_ADDRESS = 2
    answers = [_reset(client, "alice@example.com", f"198.51.100.{n}") for n in range(1, 4)]
    assert len(mail.outbox) == 2
    # The refused request answers exactly like an accepted one, and like an unknown address.
    unknown = _reset(client, "nobody@example.com", "198.51.100.9")
    assert {(a.status_code, a["Location"]) for a in [*answers, unknown]} == {(302, "/accounts/password_reset/done/")}
    assert b"If an account uses that address" in client.get(answers[-1]["Location"]).content

    # Letter case and spaces make no new address; the refusal is logged without the address.
    with caplog.at_level(logging.WARNING, logger="accounts.views"):
        _reset(client, " ALICE@Example.com", "198.51.100.4")
    assert len(mail.outbox) == 2
    logged = " ".join(r.getMessage() for r in caplog.records)
    assert "password reset throttled (address limit)" in logged
    assert "alice" not in logged.lower()


def test_reset_mails_per_ip_stop_at_the_limit(client, alice, bob, ops, settings):
    settings.PASSWORD_RESET_PER_IP = 2
    for email in ("alice@example.com", "bob@example.com", "ops@example.com"):
        assert _reset(client, email, "203.0.113.7").status_code == 302
    assert [m.to for m in mail.outbox] == [["alice@example.com"], ["bob@example.com"]]
    # Another IP is not affected.
    _reset(client, "ops@example.com", "203.0.113.8")
    assert mail.outbox[-1].to == ["ops@example.com"] and len(mail.outbox) == 3


def test_reset_limits_end_with_their_window(client, alice, settings):
    settings.PASSWORD_RESET_PER_ADDRESS = 1
    settings.PASSWORD_RESET_WINDOW = 1
    _reset(client, "alice@example.com", "192.0.2.1")
    _reset(client, "alice@example.com", "192.0.2.1")
    assert len(mail.outbox) == 1
    time.sleep(2.1)  # the cache's counter expires with the one-second window
    _reset(client, "alice@example.com", "192.0.2.1")
    assert len(mail.outbox) == 2
