"""During a database outage signed-in pages, form posts and webhooks answer 503 "back in a moment"
with Retry-After, never a 500; the outage is logged once; the portal answers again as soon as the
database does, without a restart (issue 15). The outage is real: portal.tests.outage points the
connection where no database answers."""

from __future__ import annotations

import logging
import re

import pytest
from django.test import Client

from conftest import PASSWORD
from portal import outage as outage_module
from upstream import signing

from .outage import database_down

pytestmark = pytest.mark.django_db(transaction=True)

INLINE = re.compile(r"<style|style=|<script(?![^>]*\bsrc=)|\son[a-z]+=", re.I)


@pytest.fixture(autouse=True)
def fresh_outage_log():
    outage_module.outage_log.last = None
    outage_module.outage_log.quiet = 0


def assert_back_in_a_moment(response, settings):
    assert response.status_code == 503, response.content[:300]
    assert response["Retry-After"] == str(settings.DATABASE_OUTAGE_RETRY_AFTER)
    assert "no-store" in response["Cache-Control"]
    page = response.content.decode()
    assert "Back in a moment" in page and "Traceback" not in page
    assert not INLINE.search(page), "the 503 page has inline script or style"


def test_signed_in_pages_and_form_posts_answer_503_and_recover_without_a_restart(client_alice, settings, caplog):
    assert client_alice.get("/").status_code == 200
    with caplog.at_level(logging.WARNING, logger="portal.outage"), database_down():
        assert_back_in_a_moment(client_alice.get("/"), settings)
        assert_back_in_a_moment(client_alice.get("/orders/"), settings)
        assert_back_in_a_moment(client_alice.post("/rmas/new/", {"manufacturer_serial": "X"}), settings)
        # A page's fetch (JSON) gets JSON.
        response = client_alice.get("/suggest/items/?q=ab", HTTP_ACCEPT="application/json")
        assert response.status_code == 503 and response.json()["retry_after"] == settings.DATABASE_OUTAGE_RETRY_AFTER
    lines = [r.getMessage() for r in caplog.records if r.name == "portal.outage"]
    assert len(lines) == 1 and "database unavailable (OperationalError" in lines[0] and "GET / answered 503" in lines[0]
    # The database is back: the same session goes on, nothing restarted.
    response = client_alice.get("/")
    assert response.status_code == 200 and response.wsgi_request.user.username == "alice"


def test_signing_in_during_an_outage_answers_503(db, settings):
    with database_down():
        response = Client().post("/accounts/login/", {"username": "alice", "password": PASSWORD})
    assert_back_in_a_moment(response, settings)


def test_a_webhook_during_an_outage_answers_503_so_the_upstream_retries(org_a, settings):
    body = b'{"id": 1}'
    path = "/webhooks/order-update/"
    headers = signing.signed_headers(org_a.upstream_token, "s3cret-value", "POST", path, body)
    extra = {f"HTTP_{name.upper().replace('-', '_')}": value for name, value in headers.items()}
    with database_down():
        response = Client().post(path, body, content_type="application/json", **extra)
    assert response.status_code == 503 and response["Retry-After"] == str(settings.DATABASE_OUTAGE_RETRY_AFTER)
    assert "unavailable" in response.json()["error"]
    # Once the database answers, the same push is taken.
    response = Client().post(path, body, content_type="application/json", **extra)
    assert response.status_code in (202, 400), response.content


def test_only_an_outage_is_a_503_a_bug_stays_a_500(rf, settings):
    """OperationalError and InterfaceError are an outage; any other database error is a bug."""
    from django.db import IntegrityError, InterfaceError, OperationalError

    middleware = outage_module.DatabaseOutageMiddleware(lambda request: None)
    request = rf.get("/orders/")
    assert middleware.process_exception(request, IntegrityError("a bug")) is None
    for error in (OperationalError("server closed the connection"), InterfaceError("connection already closed")):
        assert_back_in_a_moment(middleware.process_exception(request, error), settings)
