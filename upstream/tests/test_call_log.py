"""The call log: pruning, the read-only admin, and no secret anywhere ops can look."""

from __future__ import annotations

from datetime import timedelta

import pytest
import responses
from django.utils import timezone

from conftest import make_org
from upstream.client import UpstreamClient
from upstream.errors import AuthFailed, Conflict, TransientError, UpstreamError, ValidationFailed
from upstream.models import UpstreamCall
from upstream.tasks import prune_call_log

BASE = "http://upstream.test"
SECRET = "call-log-secret-0123456789"


@pytest.fixture
def org(db):
    return make_org("callco", "Call Co", base_url=BASE, token="tok-log", secret=SECRET)


def call(org, days_old: float, **fields):
    row = UpstreamCall.objects.create(organization=org, method="GET", path="/v2/countries", **fields)
    UpstreamCall.objects.filter(pk=row.pk).update(created_at=timezone.now() - timedelta(days=days_old))
    return row


def test_prune_deletes_only_rows_older_than_the_setting_in_batches(org, settings):
    settings.UPSTREAM_CALL_LOG_DAYS = 14
    old = [call(org, 15) for _ in range(7)]
    fresh = [call(org, 13), call(org, 0)]
    assert prune_call_log(batch=3) == 7
    assert set(UpstreamCall.objects.values_list("pk", flat=True)) == {r.pk for r in fresh}
    assert not UpstreamCall.objects.filter(pk__in=[r.pk for r in old]).exists()
    assert prune_call_log.name == "upstream.prune_call_log"


@responses.activate
def test_the_admin_lists_calls_read_only_without_the_secret_or_signature(org, client_ops):
    responses.get(f"{BASE}/v2/countries", status=401, json={"error": "signature does not match"})
    with UpstreamClient(org, sleep=lambda s: None) as c, pytest.raises(AuthFailed):
        c.get("/v2/countries", {"offset": 0})
    signature = responses.calls[0].request.headers["X-MBX-Signature"]
    row = UpstreamCall.objects.get()
    pages = [
        client_ops.get("/admin/upstream/upstreamcall/"),
        client_ops.get("/admin/upstream/upstreamcall/?q=countries&method__exact=GET&status__exact=401"),
        client_ops.get(f"/admin/upstream/upstreamcall/{row.pk}/change/"),
    ]
    for page in pages:
        assert page.status_code == 200
        text = page.content.decode()
        assert SECRET not in text and signature not in text
    assert "/v2/countries?offset=0" in pages[1].content.decode()
    assert "signature does not match" in pages[2].content.decode()
    assert client_ops.get("/admin/upstream/upstreamcall/add/").status_code == 403
    change = client_ops.post(f"/admin/upstream/upstreamcall/{row.pk}/change/", {"path": "/tampered"})
    assert change.status_code == 403
    assert UpstreamCall.objects.get().path == "/v2/countries?offset=0"


def test_the_admin_is_for_staff_only(org, client_alice):
    response = client_alice.get("/admin/upstream/upstreamcall/")
    assert response.status_code == 302 and "/admin/login/" in response["Location"]


@pytest.mark.parametrize(
    "error",
    [
        UpstreamError("boom", status=400),
        TransientError("down", status=503, retry_after=3),
        ValidationFailed("bad", field_errors={"a": ["x"]}),
        Conflict("dup", existing={"id": 1}),
    ],
)
def test_errors_have_a_safe_short_text(error):
    assert str(error).startswith(error.message) and str(error.status) in str(error)
    assert error.retryable is isinstance(error, TransientError)


def test_the_client_never_shows_its_secret(org):
    client = UpstreamClient(org)
    assert SECRET not in repr(client) and SECRET not in str(client)
    assert not any(v == SECRET for v in (client.token, client.base_url))
