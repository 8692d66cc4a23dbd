"""Sign-in lock-out (django-axes) per username and per client IP, each with its own limit.

AXES_LOCKOUT_PARAMETERS = [["username"], ["ip_address"]] makes axes count a username's
failures from every address and an address's failures for every username. Axes compares both
counts with one AXES_FAILURE_LIMIT; this handler gives the address its own, larger limit
(AXES_IP_FAILURE_LIMIT: many people may sign in from one office's address, an attacker trying
many usernames from one address is stopped all the same):

- a username is locked after AXES_FAILURE_LIMIT failures within the cool-off, from anywhere;
- an address is locked after AXES_IP_FAILURE_LIMIT failures within the cool-off, for any usernames;
- a successful sign-in clears that username's failures (from every address, so they no longer
  count against those addresses either); failures on other usernames still count against the
  address, so signing in to one's own account does not reset an attack from the same address.

Ops lift a lock-out in the admin (Axes: access attempts) or with `manage.py axes_reset_username`
/ `axes_reset_ip`.
"""

from __future__ import annotations

import math

from axes.conf import settings  # Django's settings, with axes' defaults filled in
from axes.handlers.database import AxesDatabaseHandler
from axes.helpers import get_client_username, get_cool_off, get_failure_limit, get_lockout_parameters
from axes.models import AccessAttempt
from django.db.models import Sum
from django.shortcuts import render


def _is_address_only(parameter) -> bool:
    return parameter in ("ip_address", ["ip_address"])


class PortalAxesHandler(AxesDatabaseHandler):
    def get_failures(self, request, credentials: dict | None = None) -> int:
        """The failures counted against AXES_FAILURE_LIMIT: the username's, or more when its address
        is nearer its own limit (failures left before the address locks, taken off the username limit).

        So `get_failures() >= AXES_FAILURE_LIMIT` (axes' test) holds exactly when the username has
        reached AXES_FAILURE_LIMIT or the address AXES_IP_FAILURE_LIMIT.
        """
        limit = get_failure_limit(request, credentials)
        parameters = get_lockout_parameters(request, credentials)
        left = None
        for parameter, attempts in zip(parameters, self.get_user_attempts(request, credentials), strict=True):
            failures = attempts.aggregate(total=Sum("failures_since_start"))["total"] or 0
            own_limit = settings.AXES_IP_FAILURE_LIMIT if _is_address_only(parameter) else limit
            left = own_limit - failures if left is None else min(left, own_limit - failures)
        return 0 if left is None else max(0, limit - left)

    def reset_user_attempts(self, request, credentials: dict | None = None) -> int:
        """After a successful sign-in: forget that username's failures, and only those."""
        username = get_client_username(request, credentials)
        if not username:
            return 0
        count, _ = AccessAttempt.objects.filter(username=username).delete()
        return count


def lockout_response(request, original_response=None, credentials=None):
    """The lock-out page (429: AXES_HTTP_RESPONSE_CODE) with the cool-off in minutes (AXES_LOCKOUT_CALLABLE)."""
    cool_off = get_cool_off(request)
    minutes = math.ceil(cool_off.total_seconds() / 60) if cool_off else None
    status = settings.AXES_HTTP_RESPONSE_CODE
    return render(request, "registration/locked_out.html", {"cooloff_minutes": minutes}, status=status)
