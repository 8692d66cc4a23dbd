"""The Django admin's site: staff get in only once they owe no second factor.

`accounts.middleware.TwoFactorMiddleware` already sends an unverified user to the setup or
verify page; the site checks again for itself, so the admin stays shut if the middleware
were ever left out. INSTALLED_APPS names `accounts.admin_site.PortalAdminConfig` in place of
`django.contrib.admin`: `admin.site` is then this site, and every `admin.site.register` and
`@admin.register` lands on it.
"""

from __future__ import annotations

from django.contrib.admin import AdminSite
from django.contrib.admin.apps import AdminConfig


class PortalAdminSite(AdminSite):
    def has_permission(self, request) -> bool:
        from . import twofactor  # this module is imported with the settings, before the models

        return super().has_permission(request) and twofactor.pending_step(request) is None


class PortalAdminConfig(AdminConfig):
    default_site = "accounts.admin_site.PortalAdminSite"
