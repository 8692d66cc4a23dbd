from __future__ import annotations

import logging

from axes.helpers import get_client_ip_address
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import PasswordResetForm
from django.contrib.auth.tokens import default_token_generator
from django.contrib.auth.views import PasswordResetView
from django.contrib.sites.shortcuts import get_current_site
from django.db import transaction
from django.http import HttpResponseRedirect
from django.shortcuts import redirect, render
from django.utils.encoding import force_bytes
from django.utils.http import url_has_allowed_host_and_scheme, urlsafe_base64_encode
from django.views.decorators.http import require_POST

from . import throttle, twofactor
from .access import member_required
from .forms import AddMemberForm, MemberRolesForm, PreferencesForm
from .middleware import SESSION_ORG_KEY
from .models import Membership
from .roles import Role
from .scoping import get_scoped_or_404, scoped

log = logging.getLogger(__name__)


def _posted(request):
    """The POST data when the request is a POST (even an empty one), else None."""
    return request.POST if request.method == "POST" else None


def send_set_password_email(request, user) -> None:
    """Email a new member the one-time link to choose a password (the reset flow's link)."""
    context = {
        "user": user,
        "uid": urlsafe_base64_encode(force_bytes(user.pk)),
        "token": default_token_generator.make_token(user),
        "protocol": "https" if request.is_secure() else "http",
        "domain": get_current_site(request).domain,
    }
    # The reset form's own mailer; its save() skips users without a usable password, as new members are.
    PasswordResetForm().send_mail(
        "registration/password_reset_subject.txt", "registration/password_reset_email.html", context, None, user.email
    )


class ThrottledPasswordResetView(PasswordResetView):
    """Django's password reset, with a limit on e-mails per address and per client IP.

    Over a limit the answer is the usual "check your email" page, whether or not the address
    has an account, but no e-mail goes out (accounts.throttle).
    """

    def form_valid(self, form):
        ip = get_client_ip_address(self.request)
        verdict = throttle.check_password_reset(form.cleaned_data["email"], ip)
        if verdict.allowed:
            return super().form_valid(form)
        log.warning(
            "password reset throttled (%s limit): no e-mail sent to address %s, request from %s",
            verdict.refused_by,
            verdict.address_hash,
            ip,
        )
        return HttpResponseRedirect(self.get_success_url())


@login_required
@require_POST
def switch_organization(request):
    """Make another of the user's organizations the current one."""
    try:
        wanted = int(request.POST.get("organization", ""))
    except ValueError:
        wanted = None
    membership = next((m for m in request.memberships if m.organization_id == wanted), None)
    if membership is None:
        messages.error(request, "You are not a member of that organization.")
    else:
        request.session[SESSION_ORG_KEY] = membership.organization_id
        messages.success(request, f"Now working in {membership.organization.name}.")
    target = request.POST.get("next") or "/"
    if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        target = "/"
    # Object pages of the old organization would be 404 in the new one: go to the section.
    parts = [p for p in target.split("?")[0].split("/") if p]
    return redirect("/" + parts[0] + "/" if parts else "/")


@member_required()
def preferences(request):
    form = PreferencesForm(_posted(request), instance=request.membership)
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, "Your preferences are saved.")
        return redirect("preferences")
    return render(request, "accounts/preferences.html", {"form": form, "twofactor": twofactor.status(request)})


@member_required(Role.MANAGER)
def members(request):
    memberships = scoped(request, Membership).select_related("user").order_by("user__username")
    add_form = AddMemberForm(_posted(request), organization=request.organization)
    if request.method == "POST" and add_form.is_valid():
        data = add_form.cleaned_data
        User = get_user_model()
        with transaction.atomic():
            user, created = User.objects.get_or_create(username=data["username"], defaults={"email": data["email"]})
            if created:
                user.set_unusable_password()
                user.save()
            Membership.objects.create(user=user, organization=request.organization, roles=data["roles"])
        if created:
            send_set_password_email(request, user)
        messages.success(request, f"{user.username} is now a member.")
        return redirect("members")
    return render(request, "accounts/members.html", {"memberships": memberships, "add_form": add_form})


@member_required(Role.MANAGER)
def member_edit(request, pk: int):
    membership = get_scoped_or_404(request, Membership.objects.select_related("user"), pk=pk)
    form = MemberRolesForm(_posted(request), instance=membership, initial={"roles": membership.roles})
    if request.method == "POST":
        if "remove" in request.POST:
            if membership.pk == request.membership.pk:
                messages.error(request, "You cannot remove yourself.")
            else:
                membership.delete()
                messages.success(request, f"{membership.user.username} was removed.")
                return redirect("members")
        elif form.is_valid():
            if membership.pk == request.membership.pk and Role.MANAGER not in form.cleaned_data["roles"]:
                form.add_error("roles", "You cannot take the manager role from yourself.")
            else:
                form.save()
                messages.success(request, f"Roles of {membership.user.username} are saved.")
                return redirect("members")
    return render(request, "accounts/member_edit.html", {"form": form, "membership": membership})
