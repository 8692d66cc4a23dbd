"""Response headers every page gets: a Permissions-Policy, and no caching of signed-in pages.

The Content-Security-Policy comes from django-csp (csp.middleware.CSPMiddleware, configured
by CONTENT_SECURITY_POLICY in the settings); the other security headers from Django's
SecurityMiddleware and XFrameOptionsMiddleware.
"""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest
from django.http.response import HttpResponseBase
from django.utils.cache import patch_cache_control

# Browser features the portal never uses, denied to it and to anything it could embed.
DENIED_FEATURES = (
    "accelerometer",
    "autoplay",
    "camera",
    "display-capture",
    "encrypted-media",
    "geolocation",
    "gyroscope",
    "hid",
    "idle-detection",
    "magnetometer",
    "microphone",
    "midi",
    "payment",
    "picture-in-picture",
    "publickey-credentials-get",
    "screen-wake-lock",
    "serial",
    "usb",
    "xr-spatial-tracking",
)
PERMISSIONS_POLICY = ", ".join(f"{feature}=()" for feature in DENIED_FEATURES)


class SecurityHeadersMiddleware:
    """Adds Permissions-Policy to every response and `Cache-Control: private, no-store` for signed-in users.

    Signed-in pages and exports hold one organization's data: no browser or proxy cache may
    keep them (the back button after signing out, a shared machine, a caching proxy). Other
    Cache-Control directives a view set stay (Django's never_cache already has both), and a
    streamed response is only given headers, never read.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        response = self.get_response(request)
        response.headers.setdefault("Permissions-Policy", PERMISSIONS_POLICY)
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            patch_cache_control(response, private=True, no_store=True)
        return response
