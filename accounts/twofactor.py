"""Two-factor authentication (django-otp): who must use it, setting it up, and checking a code.

A user must confirm a second factor after the password when PORTAL_REQUIRE_2FA is on and the
user is staff (the admin) or a manager of an organization, and always once the user has set up
a device, whatever the setting says. The factors are an authenticator app (a TOTP device: the
QR code or the secret typed in) and ten single-use recovery codes (a static device), made when
the app is confirmed and made anew from the member's preferences.

The decision costs no query on an ordinary request: the requirement reads the user and the
memberships the request already holds, and whether a user has a device is noted in the session
at sign-in (and when one is set up). Only a user still to be verified pays for a look at the
devices. `accounts.middleware.TwoFactorMiddleware` sends that user to the setup or verify page.
"""

from __future__ import annotations

import base64
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

import django_otp  # type: ignore[import-untyped]
import segno
from django.conf import settings
from django.contrib.auth.signals import user_logged_in
from django.db import transaction
from django.dispatch import receiver
from django.utils import timezone
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken  # type: ignore[import-untyped]
from django_otp.plugins.otp_totp.models import TOTPDevice  # type: ignore[import-untyped]

from .roles import Role

RECOVERY_CODES = 10
APP_DEVICE_NAME = "Authenticator app"
RECOVERY_DEVICE_NAME = "Recovery codes"
# Set at sign-in and when a device is confirmed: the user has a device, so a code is due.
SESSION_ENROLLED = "otp_enrolled"

SETUP = "setup"
VERIFY = "verify"


def required_for(user, memberships: Iterable) -> bool:
    """Whether PORTAL_REQUIRE_2FA applies to this user: staff, or a manager in any organization."""
    if not settings.PORTAL_REQUIRE_2FA or not user.is_authenticated:
        return False
    return bool(user.is_staff or user.is_superuser or any(m.has_role(Role.MANAGER) for m in memberships))


def has_device(user) -> bool:
    """A confirmed authenticator app or recovery codes."""
    return django_otp.user_has_device(user, confirmed=True)


def app_device(user) -> TOTPDevice | None:
    return TOTPDevice.objects.devices_for_user(user, confirmed=True).order_by("pk").first()


def is_app(device) -> bool:
    return isinstance(device, TOTPDevice)


@receiver(user_logged_in)
def _note_enrolment(sender, request, user, **kwargs) -> None:
    if request is not None and hasattr(request, "session"):
        request.session[SESSION_ENROLLED] = has_device(user)


def pending_step(request) -> str | None:
    """SETUP or VERIFY while the signed-in user still owes a second factor, else None."""
    user = request.user
    if not user.is_authenticated:
        return None
    required = required_for(user, getattr(request, "memberships", []))
    enrolled = bool(request.session.get(SESSION_ENROLLED))
    if not (required or enrolled):
        return None
    if user.is_verified():
        # Signed in with a recovery code after ops removed a lost app: a required user sets up a new one.
        if required and not is_app(user.otp_device) and app_device(user) is None:
            return SETUP
        return None
    if has_device(user):
        return VERIFY
    if enrolled:  # ops removed the user's devices since sign-in
        request.session[SESSION_ENROLLED] = False
    return SETUP if required else None


def may_set_up(user) -> bool:
    """Setting up an app: for a user without one, and, if the user has recovery codes, once verified.

    A user with a device who has not entered a code cannot add another one (that would skip the code).
    """
    if app_device(user) is not None:
        return False
    return not has_device(user) or user.is_verified()


def start_setup(user) -> TOTPDevice:
    """The user's unconfirmed app device (the same one on every visit, so a scanned code stays good)."""
    device = TOTPDevice.objects.devices_for_user(user, confirmed=False).order_by("pk").first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name=APP_DEVICE_NAME, confirmed=False)
    return device


def qr_code_data_uri(device: TOTPDevice) -> str:
    """The device's otpauth:// URL as a QR code, an SVG data URI (the CSP allows data: images)."""
    return segno.make(device.config_url, error="m").svg_data_uri(scale=5, border=4, dark="#000", light="#fff")


def typed_secret(device: TOTPDevice) -> str:
    """The key as an app asks for it when typed in: base32, in groups of four."""
    secret = base64.b32encode(device.bin_key).decode().rstrip("=")
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))


def _normalise(code: str) -> str:
    return "".join(code.split()).replace("-", "").lower()


@dataclass(frozen=True)
class Verification:
    device: object | None = None
    locked_until: datetime | None = None

    @property
    def ok(self) -> bool:
        return self.device is not None

    @property
    def wait_seconds(self) -> int:
        if self.locked_until is None:
            return 0
        return max(1, int((self.locked_until - timezone.now()).total_seconds() + 0.999))


def _check(user, devices: Iterable, code: str) -> Verification:
    """Try `code` on each device (django-otp throttles each one: 1, 2, 4 … seconds after failures)."""
    locked_until = None
    for device in devices:
        allowed, data = device.verify_is_allowed()
        if not allowed:
            locked_until = max(filter(None, [locked_until, (data or {}).get("locked_until")]), default=None)
            continue
        verified = django_otp.verify_token(user, device.persistent_id, code)
        if verified is not None:
            return Verification(device=verified)
    return Verification(locked_until=locked_until)


def verify(request, code: str) -> Verification:
    """Check a code from the app (digits) or a recovery code; on success the session is verified."""
    user = request.user
    code = _normalise(code)
    if code.isdigit():
        result = _check(user, TOTPDevice.objects.devices_for_user(user, confirmed=True), code)
    else:
        result = _check(user, StaticDevice.objects.devices_for_user(user, confirmed=True), code)
    if result.ok:
        _sign_in_device(request, result.device)
    return result


def confirm_setup(request, code: str) -> tuple[Verification, list[str]]:
    """Confirm the user's new app with a code from it; then make the recovery codes and verify the session."""
    user = request.user
    device = start_setup(user)
    result = _check(user, [device], _normalise(code))
    if not result.ok:
        return result, []
    with transaction.atomic():
        TOTPDevice.objects.filter(pk=device.pk).update(confirmed=True)
        TOTPDevice.objects.devices_for_user(user, confirmed=False).delete()
        device.refresh_from_db()
        codes = new_recovery_codes(user)
    _sign_in_device(request, device)
    request.session[SESSION_ENROLLED] = True
    return Verification(device=device), codes


def new_recovery_codes(user) -> list[str]:
    """Replace the user's recovery codes with RECOVERY_CODES new ones; returned once, to be shown once."""
    with transaction.atomic():
        devices = list(StaticDevice.objects.devices_for_user(user).select_for_update().order_by("pk"))
        device = devices[0] if devices else StaticDevice(user=user)
        for extra in devices[1:]:
            extra.delete()
        device.name = RECOVERY_DEVICE_NAME
        device.confirmed = True
        device.save()
        device.token_set.all().delete()
        codes = [StaticToken.random_token() for _ in range(RECOVERY_CODES)]
        StaticToken.objects.bulk_create(StaticToken(device=device, token=code) for code in codes)
    return [f"{code[:4]}-{code[4:]}" for code in codes]


def recovery_codes_left(user) -> int:
    return StaticToken.objects.filter(device__user=user, device__confirmed=True).count()


def _sign_in_device(request, device) -> None:
    django_otp.login(request, device)
    request.session.cycle_key()  # a verified session gets a new id (no fixation across the step)


@dataclass(frozen=True)
class Status:
    """What the preferences page says about a user's second factor."""

    app: bool
    required: bool
    codes_left: int


def status(request) -> Status:
    user = request.user
    return Status(
        app=app_device(user) is not None,
        required=required_for(user, getattr(request, "memberships", [])),
        codes_left=recovery_codes_left(user),
    )
