"""The home page at `/` (URL name `dashboard`) is the home app's dashboard: cards of kept tallies; and
`/favicon.ico`."""

from django.templatetags.static import static
from django.views.generic import RedirectView

from home.views import dashboard

__all__ = ["Favicon", "dashboard"]


class Favicon(RedirectView):
    """/favicon.ico, which browsers ask for on pages that name no icon (the admin's): the portal's SVG icon.
    Its static URL is looked up per request, not at import (a missing manifest must not stop the URLconf)."""

    permanent = True

    def get_redirect_url(self, *args, **kwargs) -> str:
        return static("favicon.svg")
