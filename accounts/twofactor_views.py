"""The second factor's pages: set up an authenticator app, enter a code, make new recovery codes."""

from __future__ import annotations

import logging
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render, resolve_url
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme

from . import twofactor
from .forms import SecondFactorForm

log = logging.getLogger(__name__)


def _posted(request):
    return request.POST if request.method == "POST" else None


def _next_url(request) -> str:
    """Where to go once done: the page the user wanted (on this site only), else the dashboard."""
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return resolve_url(settings.LOGIN_REDIRECT_URL)


def _to(name: str, next_url: str):
    return redirect(reverse(name) + "?" + urlencode({"next": next_url}))


def _refusal(result: twofactor.Verification) -> str:
    if result.locked_until is not None:
        return f"Too many wrong codes: wait {result.wait_seconds} seconds, then try again."
    return "That code is not right. Check that your phone's clock is set automatically, or use a recovery code."


@login_required
def setup(request):
    """Scan the QR code (or type the key), confirm a code from the app, then see the recovery codes."""
    user = request.user
    next_url = _next_url(request)
    if not twofactor.may_set_up(user):
        if twofactor.pending_step(request) == twofactor.VERIFY:
            return _to("twofactor_verify", next_url)
        messages.info(request, "Two-factor authentication is already set up for your account.")
        return redirect(next_url)
    form = SecondFactorForm(
        _posted(request), label="Code from the app", help_text="The six digits the app shows for this portal now."
    )
    if request.method == "POST" and form.is_valid():
        result, codes = twofactor.confirm_setup(request, form.cleaned_data["code"])
        if result.ok:
            log.info("two-factor authentication set up by user %s", user.pk)
            return render(request, "accounts/twofactor_codes.html", {"codes": codes, "next": next_url, "new": True})
        log.warning("two-factor setup: wrong code from user %s", user.pk)
        form.add_error("code", _refusal(result))
    device = twofactor.start_setup(user)
    context = {
        "form": form,
        "next": next_url,
        "qr_code": twofactor.qr_code_data_uri(device),
        "secret": twofactor.typed_secret(device),
        "required": twofactor.required_for(user, request.memberships),
    }
    return render(request, "accounts/twofactor_setup.html", context)


@login_required
def verify(request):
    """The code after the password: from the authenticator app, or a recovery code."""
    next_url = _next_url(request)
    step = twofactor.pending_step(request)
    if step is None:
        return redirect(next_url)
    if step == twofactor.SETUP:
        return _to("twofactor_setup", next_url)
    form = SecondFactorForm(
        _posted(request),
        label="Code",
        help_text="The six digits your authenticator app shows, or one of your recovery codes.",
    )
    if request.method == "POST" and form.is_valid():
        result = twofactor.verify(request, form.cleaned_data["code"])
        if result.ok:
            if not twofactor.is_app(result.device):
                left = twofactor.recovery_codes_left(request.user)
                messages.warning(
                    request,
                    f"That recovery code is now used up; {left} left. "
                    "Make new ones in your preferences if you are running out.",
                )
            return redirect(next_url)
        log.warning("two-factor verification: wrong code from user %s", request.user.pk)
        form.add_error("code", _refusal(result))
    return render(request, "accounts/twofactor_verify.html", {"form": form, "next": next_url})


@login_required
def recovery_codes(request):
    """How many recovery codes are left; a POST replaces them all with new ones, shown once."""
    user = request.user
    if twofactor.app_device(user) is None:
        messages.info(request, "Set up an authenticator app first: recovery codes come with it.")
        return redirect("twofactor_setup")
    if not user.is_verified():
        return _to("twofactor_verify", request.get_full_path())
    done = reverse("preferences") if request.membership else resolve_url(settings.LOGIN_REDIRECT_URL)
    if request.method == "POST":
        codes = twofactor.new_recovery_codes(user)
        log.info("new recovery codes made by user %s", user.pk)
        return render(request, "accounts/twofactor_codes.html", {"codes": codes, "next": done, "new": False})
    return render(
        request, "accounts/twofactor_recovery.html", {"codes_left": twofactor.recovery_codes_left(user), "done": done}
    )
