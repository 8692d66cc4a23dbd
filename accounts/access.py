"""View decorators: a signed-in member of the current organization, with a role."""

from __future__ import annotations

from functools import wraps

from django.contrib.auth.views import redirect_to_login
from django.shortcuts import render

from .roles import Role


def member_required(role: str | None = None):
    """The view runs only for a signed-in member of an organization (with `role` if given).

    Objects are then looked up through accounts.scoping, so an id of another
    organization answers 404. A member lacking the role gets a 403 page that says so.
    """

    def decorator(view):
        @wraps(view)
        def wrapped(request, *args, **kwargs):
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            if request.organization is None:
                return render(request, "accounts/no_organization.html", status=403)
            if role and not request.membership.has_role(role):
                return render(
                    request,
                    "accounts/role_required.html",
                    {"role": Role(role).label},
                    status=403,
                )
            return view(request, *args, **kwargs)

        wrapped.required_role = role  # type: ignore[attr-defined]  # read by the URL audit test
        return wrapped

    return decorator
