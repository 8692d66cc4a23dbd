"""GET /healthz reports the database, the broker and beat's heartbeat (503 when one is down)."""

import time
import uuid

import pytest

from portal import beat, health

from .outage import database_down


@pytest.fixture(autouse=True)
def heartbeat_cache(settings):
    """This test's own heartbeat store (Redis in CI, and a file on a laptop, are shared)."""
    settings.CACHES = {
        **settings.CACHES,
        "heartbeat": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": uuid.uuid4().hex},
    }


@pytest.fixture
def beat_ticked():
    beat.record_tick()


def test_healthz_is_ok_when_database_broker_and_beat_answer(client, db, beat_ticked):
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["database"] == "ok" and body["broker"] == "ok" and body["beat"] == "ok" and body["status"] == "ok"
    assert body["beat_silent_s"] < 5 and body["beat_last_tick"].endswith("+00:00")


def test_healthz_is_503_when_the_broker_is_down(client, db, beat_ticked, monkeypatch):
    monkeypatch.setattr(health, "broker_url", lambda: "redis://127.0.0.1:1/0")  # a real, refused connection
    response = client.get("/healthz")
    assert response.status_code == 503
    body = response.json()
    assert body["broker"].startswith("down") and body["database"] == "ok"


def test_healthz_is_503_when_the_database_is_down(client, db, beat_ticked, monkeypatch):
    monkeypatch.setattr(health, "check_database", lambda: "OperationalError")
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["database"] == "down: OperationalError"


@pytest.mark.django_db(transaction=True)
def test_healthz_is_503_in_a_real_outage_with_or_without_a_session_cookie(client_alice, beat_ticked):
    """The session middleware used to load the session first and answer 500."""
    from django.test import Client

    with database_down():
        for c in (client_alice, Client()):
            response = c.get("/healthz")
            assert response.status_code == 503, response.content
            body = response.json()
            assert body["database"] == "down: OperationalError" and body["beat"] == "ok" and body["broker"] == "ok"
    assert client_alice.get("/healthz").status_code == 200  # back, without a restart


def test_healthz_is_503_when_beat_is_silent_for_more_than_two_intervals(client, db, settings):
    settings.BEAT_HEARTBEAT_INTERVAL = 10
    beat.record_tick()
    tick = beat.last_tick()
    assert tick is not None
    tick["at"] = time.time() - 19  # within two intervals
    beat.caches[beat.HEARTBEAT_CACHE].set(beat.HEARTBEAT_KEY, tick)
    assert client.get("/healthz").status_code == 200
    tick["at"] = time.time() - 21
    beat.caches[beat.HEARTBEAT_CACHE].set(beat.HEARTBEAT_KEY, tick)
    response = client.get("/healthz")
    assert response.status_code == 503
    body = response.json()
    assert body["beat"] == "down: silent for 21s (more than 20s)" and body["beat_silent_s"] >= 21
    assert body["database"] == "ok" and body["broker"] == "ok"


def test_healthz_is_503_when_beat_never_ticked(client, db):
    response = client.get("/healthz")
    assert response.status_code == 503 and response.json()["beat"] == "down: no heartbeat recorded yet"


def test_beatstatus_command_says_the_same(db, settings, capsys):
    from django.core.management import CommandError, call_command

    with pytest.raises(CommandError, match="beat is down: no heartbeat recorded yet"):
        call_command("beatstatus")
    beat.record_tick()
    call_command("beatstatus")
    assert capsys.readouterr().out.startswith("beat ok: last tick ")


@pytest.mark.django_db(transaction=True)
def test_livez_stays_200_while_the_database_and_beat_are_down(client_alice):
    """The container's health check: an outage elsewhere must not make web look dead."""
    from django.test import Client

    with database_down():
        for c in (client_alice, Client()):
            assert c.get("/healthz").status_code == 503
            response = c.get("/livez")
            assert response.status_code == 200 and response.json() == {"status": "alive"}
            assert response.headers["Cache-Control"].startswith("max-age=0")
