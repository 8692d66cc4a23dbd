"""GET /healthz: the state of the database, the broker and beat (503 when one is down).
GET /livez: 200 while this web process serves requests, whatever the rest says.

/healthz is for monitoring and a load balancer's readiness; /livez is for a container's health
check, which must not call web unhealthy (nor restart it) because the database or beat is down:
a restart would mend nothing, and web answers 503 "back in a moment" meanwhile.

Beat counts as down when its last heartbeat (portal.beat, in the "heartbeat" cache) is older than
twice BEAT_HEARTBEAT_INTERVAL, or when it never recorded one. During a database outage the answer
is this view's 503, with or without a session cookie (portal.outage: `database_optional`).
"""

from __future__ import annotations

import time
from datetime import UTC, datetime

from django.conf import settings
from django.db import connection
from django.http import JsonResponse
from django.views.decorators.cache import never_cache

from .outage import database_optional


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


def check_beat() -> tuple[str | None, dict]:
    """(None or what is wrong, details): beat's last tick and how long ago it was."""
    from .beat import last_tick

    try:
        tick = last_tick()
    except Exception as exc:  # the heartbeat's cache (Redis) is down
        return exc.__class__.__name__, {}
    if not tick or "at" not in tick:
        return "no heartbeat recorded yet", {}
    age = max(0.0, time.time() - float(tick["at"]))
    details = {
        "beat_last_tick": datetime.fromtimestamp(float(tick["at"]), UTC).isoformat(timespec="seconds"),
        "beat_silent_s": round(age, 1),
    }
    limit = 2 * settings.BEAT_HEARTBEAT_INTERVAL
    if age > limit:
        return f"silent for {age:.0f}s (more than {limit:g}s)", details
    return None, details


@database_optional
@never_cache
def healthz(request):
    started = time.monotonic()
    beat_error, beat_details = check_beat()
    checks = {"database": check_database(), "broker": check_broker(), "beat": beat_error}
    body: dict[str, object] = {name: ("ok" if err is None else f"down: {err}") for name, err in checks.items()}
    body.update(beat_details)
    ok = all(err is None for err in checks.values())
    body["status"] = "ok" if ok else "down"
    body["duration_ms"] = round((time.monotonic() - started) * 1000, 1)
    return JsonResponse(body, status=200 if ok else 503)


@database_optional
@never_cache
def livez(request):
    """This process is up and serving; it reads nothing (no database, broker or cache)."""
    return JsonResponse({"status": "alive"})
