"""GET /healthz: the state of the database and the broker (503 when one is down)."""

from __future__ import annotations

import time

from django.db import connection
from django.http import JsonResponse
from django.views.decorators.cache import never_cache


def check_database() -> str | None:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:  # any failure means "down"
        return exc.__class__.__name__
    return None


def broker_url() -> str:
    from portal.celery import app

    return app.conf.broker_url


def check_broker() -> str | None:
    from portal.celery import app

    try:
        with app.connection_for_write(url=broker_url()) as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
            # A real round trip: declare nothing, just open a channel.
            conn.default_channel  # noqa: B018
    except Exception as exc:
        return exc.__class__.__name__
    return None


@never_cache
def healthz(request):
    started = time.monotonic()
    checks = {"database": check_database(), "broker": check_broker()}
    body: dict[str, object] = {name: ("ok" if err is None else f"down: {err}") for name, err in checks.items()}
    ok = all(err is None for err in checks.values())
    body["status"] = "ok" if ok else "down"
    body["duration_ms"] = round((time.monotonic() - started) * 1000, 1)
    return JsonResponse(body, status=200 if ok else 503)
