"""During a database outage: a 503 "back in a moment" answer with Retry-After, never a 500.

`DatabaseOutageMiddleware` turns django.db's OperationalError and InterfaceError (what a stopped
PostgreSQL, a refused connection or a connection lost under a cursor raise) into a 503:
`templates/503.html` for a browser, a JSON body for a client that sent JSON or does not take
HTML (webhooks: the upstream then retries), with `Retry-After: DATABASE_OUTAGE_RETRY_AFTER` and
no caching. It is logged once, then at most once a minute with the count of the 503s between.
The next request that reaches the database again is served as usual: nothing to restart.

Where it sits matters. Django turns an exception into a response at every middleware layer, so
a middleware outside SessionMiddleware would only ever see the 500. This one sits after the
session, authentication and OTP middleware and *loads the session and the user itself*, in its
own frame; the middlewares after it (idle timeout, current organization, security headers) then
find them loaded. Errors from views (and their templates) come through `process_exception`.

A view marked `@database_optional` (/healthz) runs anyway when the user cannot be loaded, as an
anonymous request: it reports the outage itself.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.http.response import HttpResponseBase
from django.template.loader import render_to_string
from django.urls import Resolver404, resolve
from django.utils.cache import add_never_cache_headers

from .middleware import PERMISSIONS_POLICY

log = logging.getLogger("portal.outage")

DATABASE_ERRORS = (OperationalError, InterfaceError)


def database_optional(view):
    """Mark a view that answers without the signed-in user (it runs anonymous during an outage)."""
    view.database_optional = True
    return view


class _OutageLog:
    """One log line for the first 503 of an outage, then at most one a minute with a count."""

    every = 60.0

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.last: float | None = None
        self.quiet = 0

    def note(self, request: HttpRequest, exc: BaseException) -> None:
        now = time.monotonic()
        with self.lock:
            if self.last is not None and now - self.last < self.every:
                self.quiet += 1
                return
            quiet, self.quiet, self.last = self.quiet, 0, now
        text = str(exc).strip().splitlines()
        log.warning(
            "database unavailable (%s%s): %s %s answered 503 (Retry-After %ss)%s",
            exc.__class__.__name__,
            f": {text[0]}" if text else "",
            request.method,
            request.path,
            settings.DATABASE_OUTAGE_RETRY_AFTER,
            f"; {quiet} more answered 503 since the last line" if quiet else "",
        )


outage_log = _OutageLog()


def wants_json(request: HttpRequest) -> bool:
    return request.content_type == "application/json" or not request.accepts("text/html")


def unavailable(request: HttpRequest, exc: BaseException) -> HttpResponse:
    """The 503 answer to a request that met a database outage."""
    outage_log.note(request, exc)
    retry_after = settings.DATABASE_OUTAGE_RETRY_AFTER
    response: HttpResponse
    if wants_json(request):
        response = JsonResponse(
            {"error": "the portal's database is unavailable; try again later", "retry_after": retry_after},
            status=503,
        )
    else:
        # No request context: the context processors would ask the database again.
        response = HttpResponse(render_to_string("503.html", {"retry_after": retry_after}), status=503)
    response["Retry-After"] = str(retry_after)
    add_never_cache_headers(response)
    response.headers.setdefault("Permissions-Policy", PERMISSIONS_POLICY)
    return response


def _is_database_optional(request: HttpRequest) -> bool:
    try:
        match = resolve(request.path_info)
    except Resolver404:
        return False
    return getattr(match.func, "database_optional", False)


class DatabaseOutageMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        user = getattr(request, "user", None)
        if user is not None:
            try:
                user.is_authenticated  # noqa: B018 - loads the session, the user and its OTP device here
            except DATABASE_ERRORS as exc:
                if not _is_database_optional(request):
                    return unavailable(request, exc)
                request.user = AnonymousUser()
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if isinstance(exception, DATABASE_ERRORS):
            return unavailable(request, exception)
        return None
