"""Session idle expiry, the current organization of a request, and the second factor's gate."""

from __future__ import annotations

import time
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.views import redirect_to_login
from django.shortcuts import redirect
from django.urls import Resolver404, resolve, reverse

from . import twofactor
from .models import Membership

SESSION_ORG_KEY = "current_org_id"
SESSION_SEEN_KEY = "last_seen"
TOUCH_EVERY = 60  # seconds: refresh the session at most this often


class IdleSessionTimeoutMiddleware:
    """Log out a user idle for longer than SESSION_IDLE_TIMEOUT seconds."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.user.is_authenticated:
            now = int(time.time())
            last = request.session.get(SESSION_SEEN_KEY)
            if last is not None and now - last > settings.SESSION_IDLE_TIMEOUT:
                logout(request)
                messages.info(request, "Your session ended after a period of inactivity. Please sign in again.")
                return redirect_to_login(request.get_full_path())
            if last is None or now - last >= TOUCH_EVERY:
                request.session[SESSION_SEEN_KEY] = now
        return self.get_response(request)


def _resolve(request):
    """(membership, memberships) for the request's user, honouring the session's choice."""
    user = request.user
    if not user.is_authenticated:
        return None, []
    memberships = list(
        Membership.objects.filter(user=user, organization__is_active=True)
        .select_related("organization")
        .order_by("organization__name")
    )
    wanted = request.session.get(SESSION_ORG_KEY)
    current = next((m for m in memberships if m.organization_id == wanted), None)
    if current is None and memberships:
        current = memberships[0]
    return current, memberships


class CurrentOrganizationMiddleware:
    """Sets request.membership, request.organization and request.memberships.

    One query per authenticated request; the organization comes from the session (the
    header's switcher) and falls back to the user's first active membership.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        membership, memberships = _resolve(request)
        request.membership = membership
        request.memberships = memberships
        request.organization = membership.organization if membership else None
        return self.get_response(request)


class TwoFactorMiddleware:
    """Sends a signed-in user who still owes a second factor to the setup or verify page.

    Runs after django_otp's OTPMiddleware (request.user.is_verified()) and after
    CurrentOrganizationMiddleware (the memberships that make a manager). Until the code is
    entered, every page but signing in and out and the setup and verify pages redirects there;
    static files never reach this far (WhiteNoise answers them first). See accounts.twofactor.
    """

    OPEN = {"login", "logout", "twofactor_setup", "twofactor_verify", "admin:logout"}

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        step = twofactor.pending_step(request)
        if step is None or self._is_open(request):
            return self.get_response(request)
        target = reverse(f"twofactor_{step}")
        wanted = request.get_full_path() if request.method in ("GET", "HEAD") else ""
        if wanted and wanted != "/":
            target += "?" + urlencode({"next": wanted})
        return redirect(target)

    def _is_open(self, request) -> bool:
        if request.path_info.startswith("/" + settings.STATIC_URL.lstrip("/")):
            return True
        try:
            match = resolve(request.path_info)
        except Resolver404:
            return False
        return match.view_name in self.OPEN
