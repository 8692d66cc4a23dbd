"""Two-factor authentication (django-otp): who must use it, setting it up, codes after the password,
recovery codes, the admin, and ops removing a lost device."""

from __future__ import annotations

import re
import time
from urllib.parse import parse_qs, urlsplit

import pytest
from django.contrib import admin
from django.test import Client
from django_otp.oath import TOTP  # type: ignore[import-untyped]
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken  # type: ignore[import-untyped]
from django_otp.plugins.otp_totp.models import TOTPDevice  # type: ignore[import-untyped]

from accounts import twofactor
from accounts.admin_site import PortalAdminSite
from conftest import PASSWORD, make_member
from portal.tests.test_configuration import production_env, run_manage
from portal.tests.test_security_headers import assert_strict_headers, inline_bits

SETUP = "/accounts/2fa/setup/"
VERIFY = "/accounts/2fa/verify/"
RECOVERY = "/accounts/2fa/recovery-codes/"


@pytest.fixture
def required(settings):
    settings.PORTAL_REQUIRE_2FA = True
    return settings


@pytest.fixture
def no_throttle(settings):
    """No back-off between code attempts, for tests that type a wrong code and then a right one."""
    settings.OTP_TOTP_THROTTLE_FACTOR = 0
    settings.OTP_STATIC_THROTTLE_FACTOR = 0


def code_for(device: TOTPDevice, steps_ahead: int = 0) -> str:
    """The code the user's app shows (steps_ahead=1: the next one, which the portal also accepts)."""
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    totp.time = time.time() + steps_ahead * device.step
    return f"{totp.token():0{device.digits}d}"


def wrong_code(device: TOTPDevice) -> str:
    good = {code_for(device, step) for step in (-1, 0, 1, 2)}
    return next(c for c in ("000000", "111111", "222222", "333333", "444444") if c not in good)


def give_app(user) -> tuple[TOTPDevice, list[str]]:
    """A confirmed authenticator app and ten recovery codes, as after the setup page."""
    device = TOTPDevice.objects.create(user=user, name=twofactor.APP_DEVICE_NAME, confirmed=True)
    return device, twofactor.new_recovery_codes(user)


def sign_in(client: Client, username: str, next_url: str = ""):
    data = {"username": username, "password": PASSWORD}
    if next_url:
        data["next"] = next_url
    return client.post("/accounts/login/", data)


def path_of(response) -> str:
    return urlsplit(response["Location"]).path


def next_of(response) -> str:
    return parse_qs(urlsplit(response["Location"]).query).get("next", [""])[0]


# --- who must use it --------------------------------------------------------------------------


def test_off_by_default_so_a_manager_signs_in_with_a_password_alone(client, alice, settings):
    assert settings.PORTAL_REQUIRE_2FA is False
    response = sign_in(client, "alice")
    assert response.status_code == 302 and response["Location"] == "/"
    assert client.get("/").status_code == 200
    assert not TOTPDevice.objects.filter(user=alice).exists()


PRINT_2FA = "from django.conf import settings; print('2FA', settings.PORTAL_REQUIRE_2FA)"


def test_production_settings_require_it():
    result = run_manage("shell", "-c", PRINT_2FA, **production_env())
    assert result.returncode == 0, result.stderr
    assert "2FA True" in result.stdout


def test_a_setting_turns_it_on_anywhere():
    result = run_manage(
        "shell",
        "-c",
        "from django.conf import settings; print('2FA', settings.PORTAL_REQUIRE_2FA)",
        PORTAL_REQUIRE_2FA="1",
    )
    assert result.returncode == 0, result.stderr
    assert "2FA True" in result.stdout


def test_required_for_managers_and_staff_only(required, alice, ops, org_a):
    carol = make_member("carol", org_a, roles=["viewer", "buyer", "service", "operator"])
    memberships = {user: list(user.memberships.all()) for user in (alice, carol, ops)}
    assert twofactor.required_for(alice, memberships[alice]) is True
    assert twofactor.required_for(ops, memberships[ops]) is True
    assert twofactor.required_for(carol, memberships[carol]) is False
    required.PORTAL_REQUIRE_2FA = False
    assert twofactor.required_for(alice, memberships[alice]) is False


def test_a_member_without_the_manager_role_signs_in_with_a_password(client, required, org_a):
    make_member("carol", org_a, roles=["viewer", "buyer"])
    assert sign_in(client, "carol")["Location"] == "/"
    assert client.get("/").status_code == 200


def test_the_check_costs_no_query_for_a_user_who_owes_nothing(alice, django_assert_num_queries, rf):
    request = rf.get("/")
    request.user = alice
    request.session = {}
    request.memberships = list(alice.memberships.all())
    with django_assert_num_queries(0):
        assert twofactor.pending_step(request) is None


# --- setting it up ----------------------------------------------------------------------------


def test_a_manager_without_a_device_is_sent_to_setup_from_every_page(client, required, alice):
    response = sign_in(client, "alice", next_url="/orders/")
    assert response["Location"] == "/orders/"
    for url in ("/", "/orders/", "/accounts/preferences/", "/accounts/password_change/", "/admin/", RECOVERY):
        response = client.get(url)
        assert response.status_code == 302, url
        assert path_of(response) == SETUP, url
    assert next_of(client.get("/orders/?tab=pending")) == "/orders/?tab=pending"
    assert client.get(SETUP).status_code == 200
    assert client.get("/static/css/portal.css").status_code == 200
    assert client.post("/accounts/logout/")["Location"] == "/accounts/login/"
    assert path_of(client.get("/")) == "/accounts/login/"


def test_force_logged_in_managers_are_gated_too(client_alice, required):
    assert path_of(client_alice.get("/")) == SETUP


def test_setup_page_shows_a_qr_code_and_the_key_with_nothing_inline(client_alice, required, alice):
    response = client_alice.get(SETUP)
    assert response.status_code == 200
    html = response.content.decode()
    device = TOTPDevice.objects.get(user=alice)
    assert device.confirmed is False
    assert re.search(r'<img class="qr-code" src="data:image/svg\+xml;[^"]+" alt="[^"]+"', html)
    secret = twofactor.typed_secret(device)
    assert secret in html
    assert "secret=" + secret.replace(" ", "") in device.config_url
    assert "issuer=MBX%20AHEAD%20portal" in device.config_url
    assert inline_bits(html) == []
    assert_strict_headers(response)
    # A second visit shows the same key, so an app that already scanned it stays good.
    client_alice.get(SETUP)
    assert list(TOTPDevice.objects.filter(user=alice).values_list("key", flat=True)) == [device.key]


def test_setup_refuses_a_wrong_code_and_a_right_one_turns_it_on_with_ten_recovery_codes(
    client, required, alice, no_throttle
):
    sign_in(client, "alice", next_url="/orders/")
    client.get(SETUP)
    device = TOTPDevice.objects.get(user=alice)
    refused = client.post(SETUP, {"code": wrong_code(device), "next": "/orders/"})
    assert refused.status_code == 200
    assert b"That code is not right" in refused.content
    device.refresh_from_db()
    assert device.confirmed is False
    assert path_of(client.get("/")) == SETUP

    done = client.post(SETUP, {"code": code_for(device), "next": "/orders/"})
    assert done.status_code == 200
    html = done.content.decode()
    shown = re.findall(r"<li><code>([a-z2-7]{4}-[a-z2-7]{4})</code></li>", html)
    assert len(shown) == 10
    stored = set(StaticToken.objects.filter(device__user=alice).values_list("token", flat=True))
    assert stored == {code.replace("-", "") for code in shown}
    assert "not shown again" in html
    assert 'href="/orders/"' in html
    assert inline_bits(html) == []
    device.refresh_from_db()
    assert device.confirmed is True
    assert client.get("/").status_code == 200
    assert client.get("/orders/").status_code == 200


def test_a_user_with_a_device_cannot_add_another_before_entering_a_code(client, required, alice):
    give_app(alice)
    sign_in(client, "alice")
    response = client.get(SETUP)
    assert path_of(response) == VERIFY
    response = client.post(SETUP, {"code": "123456"})
    assert path_of(response) == VERIFY
    assert TOTPDevice.objects.filter(user=alice).count() == 1


# --- the code after the password --------------------------------------------------------------


def test_a_manager_with_a_device_is_asked_for_a_code_after_the_password(client, required, alice, no_throttle):
    device, _ = give_app(alice)
    response = sign_in(client, "alice", next_url="/orders/")
    assert response["Location"] == "/orders/"
    response = client.get("/orders/")
    assert path_of(response) == VERIFY and next_of(response) == "/orders/"
    page = client.get(response["Location"])
    assert page.status_code == 200
    assert inline_bits(page.content.decode()) == []
    assert_strict_headers(page)
    assert path_of(client.get("/")) == VERIFY

    refused = client.post(VERIFY, {"code": wrong_code(device), "next": "/orders/"})
    assert refused.status_code == 200 and b"That code is not right" in refused.content
    assert path_of(client.get("/")) == VERIFY

    accepted = client.post(VERIFY, {"code": code_for(device, 1), "next": "/orders/"})
    assert accepted.status_code == 302 and accepted["Location"] == "/orders/"
    assert client.get("/orders/").status_code == 200
    assert client.get("/").status_code == 200


def test_a_code_cannot_be_used_twice(client, required, alice, no_throttle):
    device, _ = give_app(alice)
    code = code_for(device, 1)
    sign_in(client, "alice")
    assert client.post(VERIFY, {"code": code})["Location"] == "/"
    other = Client()
    sign_in(other, "alice")
    again = other.post(VERIFY, {"code": code})
    assert again.status_code == 200 and b"That code is not right" in again.content


def test_verify_never_redirects_off_the_site(client, required, alice):
    device, _ = give_app(alice)
    sign_in(client, "alice")
    response = client.post(VERIFY, {"code": code_for(device, 1), "next": "https://evil.example/"})
    assert response["Location"] == "/"


def test_wrong_codes_are_throttled(client, required, alice):
    device, _ = give_app(alice)
    sign_in(client, "alice")
    client.post(VERIFY, {"code": wrong_code(device)})
    response = client.post(VERIFY, {"code": code_for(device, 1)})
    assert response.status_code == 200
    assert b"Too many wrong codes: wait" in response.content
    assert path_of(client.get("/")) == VERIFY


def test_a_recovery_code_works_once(client, required, alice, no_throttle):
    _, codes = give_app(alice)
    sign_in(client, "alice")
    response = client.post(VERIFY, {"code": codes[0].upper().replace("-", " ")}, follow=True)
    assert response.redirect_chain[-1][0] == "/"
    assert b"That recovery code is now used up; 9 left." in response.content
    client.post("/accounts/logout/")

    sign_in(client, "alice")
    again = client.post(VERIFY, {"code": codes[0]})
    assert again.status_code == 200 and b"That code is not right" in again.content
    assert client.post(VERIFY, {"code": codes[1]})["Location"] == "/"


def test_a_member_who_set_up_an_app_is_asked_for_it_even_when_not_required(client, alice, settings):
    assert settings.PORTAL_REQUIRE_2FA is False
    device, _ = give_app(alice)
    sign_in(client, "alice")
    assert path_of(client.get("/")) == VERIFY
    assert client.post(VERIFY, {"code": code_for(device, 1)})["Location"] == "/"
    assert client.get("/").status_code == 200


def test_a_verified_session_survives_its_new_session_id(client, required, alice):
    device, _ = give_app(alice)
    sign_in(client, "alice")
    before = client.session.session_key
    client.post(VERIFY, {"code": code_for(device, 1)})
    assert client.session.session_key != before
    assert client.get("/").status_code == 200


# --- the admin --------------------------------------------------------------------------------


def test_staff_sign_into_the_admin_only_after_the_code(client, required, ops):
    response = client.post("/admin/login/?next=/admin/", {"username": "ops", "password": PASSWORD, "next": "/admin/"})
    assert response["Location"] == "/admin/"
    response = client.get("/admin/")
    assert path_of(response) == SETUP and next_of(response) == "/admin/"
    client.get(SETUP)
    device = TOTPDevice.objects.get(user=ops)
    done = client.post(SETUP, {"code": code_for(device), "next": "/admin/"})
    assert done.status_code == 200 and 'href="/admin/"' in done.content.decode()
    page = client.get("/admin/")
    assert page.status_code == 200 and b"Site administration" in page.content


def test_the_admin_site_itself_refuses_an_unverified_staff_user(required, ops, settings):
    assert isinstance(admin.site, PortalAdminSite)
    settings.MIDDLEWARE = [m for m in settings.MIDDLEWARE if m != "accounts.middleware.TwoFactorMiddleware"]
    client = Client()  # its handler loads the middleware without the gate
    client.force_login(ops)
    response = client.get("/admin/")
    assert response.status_code == 302
    assert path_of(response) == "/admin/login/"


def test_ops_remove_a_lost_device_in_the_admin(client_ops, client, alice, settings):
    device, codes = give_app(alice)
    listing = client_ops.get("/admin/otp_totp/totpdevice/")
    assert listing.status_code == 200 and b"alice" in listing.content
    change = client_ops.get(f"/admin/otp_totp/totpdevice/{device.pk}/change/")
    assert change.status_code == 200
    assert device.key not in change.content.decode()
    static = StaticDevice.objects.get(user=alice)
    static_page = client_ops.get(f"/admin/otp_static/staticdevice/{static.pk}/change/").content.decode()
    assert not any(code.replace("-", "") in static_page for code in codes)

    # alice is signed in and verified when her phone is lost
    sign_in(client, "alice")
    client.post(VERIFY, {"code": code_for(device, 1)})
    assert client.get("/").status_code == 200

    for url in (
        f"/admin/otp_totp/totpdevice/{device.pk}/delete/",
        f"/admin/otp_static/staticdevice/{static.pk}/delete/",
    ):
        assert client_ops.post(url, {"post": "yes"}).status_code == 302
    assert not twofactor.has_device(alice)

    settings.PORTAL_REQUIRE_2FA = True
    assert path_of(client.get("/")) == SETUP  # her session is no longer verified: a new app is due
    fresh = Client()
    sign_in(fresh, "alice")
    assert path_of(fresh.get("/")) == SETUP


def test_after_ops_remove_only_the_app_a_recovery_code_leads_to_setting_up_a_new_one(client, required, alice):
    device, codes = give_app(alice)
    device.delete()
    sign_in(client, "alice")
    assert path_of(client.get("/")) == VERIFY
    assert client.post(VERIFY, {"code": codes[0]})["Location"] == "/"
    assert path_of(client.get("/")) == SETUP
    client.get(SETUP)
    new = TOTPDevice.objects.get(user=alice)
    assert client.post(SETUP, {"code": code_for(new)}).status_code == 200
    assert client.get("/").status_code == 200


# --- recovery codes from the preferences ------------------------------------------------------


@pytest.fixture
def verified_alice(client, alice):
    device, codes = give_app(alice)
    sign_in(client, "alice")
    assert client.post(VERIFY, {"code": code_for(device, 1)})["Location"] == "/"
    return client, codes


def test_preferences_show_the_second_factor_and_make_new_recovery_codes(verified_alice, alice, no_throttle):
    client, old_codes = verified_alice
    page = client.get("/accounts/preferences/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "You have 10 unused recovery codes." in html
    assert f'action="{RECOVERY}"' in html
    assert inline_bits(html) == []

    response = client.post(RECOVERY)
    assert response.status_code == 200
    shown = re.findall(r"<li><code>([a-z2-7]{4}-[a-z2-7]{4})</code></li>", response.content.decode())
    assert len(shown) == 10 and not set(shown) & set(old_codes)
    assert b"Your earlier recovery codes no longer work." in response.content
    assert set(StaticToken.objects.filter(device__user=alice).values_list("token", flat=True)) == {
        code.replace("-", "") for code in shown
    }
    assert StaticDevice.objects.filter(user=alice).count() == 1

    client.post("/accounts/logout/")
    sign_in(client, "alice")
    assert client.post(VERIFY, {"code": old_codes[2]}).status_code == 200  # refused
    client.post("/accounts/logout/")
    other = Client()
    sign_in(other, "alice")
    assert other.post(VERIFY, {"code": shown[0]})["Location"] == "/"


def test_preferences_offer_setup_when_it_is_off(client_alice):
    html = client_alice.get("/accounts/preferences/").content.decode()
    assert "Set up two-factor authentication" in html
    assert f'href="{SETUP}?next=/accounts/preferences/"' in html


def test_recovery_codes_need_a_verified_session(client, alice):
    give_app(alice)
    client.force_login(alice)
    assert path_of(client.get(RECOVERY)) == VERIFY
    assert path_of(client.post(RECOVERY)) == VERIFY
    assert StaticToken.objects.filter(device__user=alice).count() == 10


def test_recovery_code_page_for_staff_without_an_organization(client, ops):
    device, _ = give_app(ops)
    sign_in(client, "ops")
    client.post(VERIFY, {"code": code_for(device, 1)})
    page = client.get(RECOVERY)
    assert page.status_code == 200
    assert b"You have 10 unused recovery codes." in page.content
    assert inline_bits(page.content.decode()) == []
