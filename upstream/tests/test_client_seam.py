"""Unit tests of the client seam with fake HTTP (responses): retries, back-off, error mapping."""

from __future__ import annotations

import json
import logging
import random
from decimal import Decimal
from typing import Any, cast
from urllib.parse import urlsplit

import pytest
import requests
import responses
from django.db import transaction
from urllib3.exceptions import MaxRetryError, NewConnectionError, ProtocolError

from accounts.models import Organization
from conftest import make_org
from upstream import signing
from upstream.client import UpstreamClient, path_with_query
from upstream.errors import (
    AuthFailed,
    BadRequest,
    Conflict,
    NotFound,
    TransientError,
    UpstreamError,
    ValidationFailed,
)
from upstream.models import UpstreamCall

BASE = "http://upstream.test"
SECRET = "unit-test-secret-value"


@pytest.fixture
def org(db):
    return make_org("acme", "Acme", base_url=BASE, token="tok-1", secret=SECRET)


@pytest.fixture
def sleeps():
    return []


@pytest.fixture
def client(org, sleeps):
    with UpstreamClient(org, max_attempts=4, sleep=sleeps.append) as c:
        yield c


@responses.activate
def test_get_is_signed_over_the_exact_path_and_query(client):
    responses.get(f"{BASE}/v2/inventories", json={"count": 0, "total_results": 0, "offset": 0, "results": []})
    client.get("/v2/inventories", {"offset": 0, "limit": 100})
    request = responses.calls[0].request
    assert request.url == f"{BASE}/v2/inventories?offset=0&limit=100"
    assert request.headers["X-MBX-Token"] == "tok-1"
    assert signing.verify(
        SECRET,
        "GET",
        "/v2/inventories?offset=0&limit=100",
        b"",
        request.headers["X-MBX-Date"],
        request.headers["X-MBX-Signature"],
    )
    assert request.headers["User-Agent"].startswith("mbx-portal/")


@responses.activate
def test_transient_errors_are_retried_with_capped_jittered_backoff(client, sleeps, settings):
    settings.UPSTREAM_BACKOFF_BASE = 1.0
    settings.UPSTREAM_BACKOFF_CAP = 3.0
    for _ in range(3):
        responses.get(f"{BASE}/v2/countries", status=503, json={"error": "down"})
    responses.get(f"{BASE}/v2/countries", json={"id": 1})
    assert client.get("/v2/countries") == {"id": 1}
    assert len(responses.calls) == 4
    assert len(sleeps) == 3
    for attempt, delay in enumerate(sleeps, start=1):
        assert 0 <= delay <= min(3.0, 1.0 * 2 ** (attempt - 1))
    assert list(UpstreamCall.objects.order_by("id").values_list("attempt", "status")) == [
        (1, 503),
        (2, 503),
        (3, 503),
        (4, 200),
    ]


@responses.activate
def test_retries_are_bounded(client, sleeps):
    responses.get(f"{BASE}/v2/countries", status=500)
    with pytest.raises(TransientError) as info:
        client.get("/v2/countries")
    assert info.value.status == 500
    assert len(responses.calls) == 4 and len(sleeps) == 3


@responses.activate
def test_429_honours_retry_after(client, sleeps):
    responses.get(f"{BASE}/v2/items", status=429, headers={"Retry-After": "7"})
    responses.get(f"{BASE}/v2/items", json={"id": 2})
    assert client.get("/v2/items") == {"id": 2}
    assert sleeps[0] >= 7


@responses.activate
def test_write_with_key_is_retried_with_the_same_key_and_bytes(client):
    responses.post(f"{BASE}/v2/customer_order_submissions", body=requests.exceptions.ReadTimeout("slow"))
    responses.post(f"{BASE}/v2/customer_order_submissions", status=201, json={"id": 9})
    response = client.request("POST", "/v2/customer_order_submissions", body=b'{"a":1}', idempotency_key="k-1")
    assert response.status == 201 and response.data == {"id": 9}
    first, second = (c.request for c in responses.calls)
    assert first.body == second.body == b'{"a":1}'
    assert first.headers["Idempotency-Key"] == second.headers["Idempotency-Key"] == "k-1"
    for request in (first, second):  # each attempt signed afresh over the same bytes
        assert signing.verify(
            SECRET,
            "POST",
            "/v2/customer_order_submissions",
            b'{"a":1}',
            request.headers["X-MBX-Date"],
            request.headers["X-MBX-Signature"],
        )
    assert list(UpstreamCall.objects.order_by("id").values_list("attempt", "status", "idempotency_key")) == [
        (1, None, "k-1"),
        (2, 201, "k-1"),
    ]


@responses.activate
def test_write_without_key_is_not_retried_after_it_may_have_arrived(client):
    responses.post(f"{BASE}/v2/serial_data", body=requests.exceptions.ReadTimeout("slow"))
    with pytest.raises(TransientError):
        client.request("POST", "/v2/serial_data", json={"a": 1})
    assert len(responses.calls) == 1


def refused() -> requests.exceptions.ConnectionError:
    """What requests raises when nothing listens: the request never left the machine."""
    reason = NewConnectionError(cast(Any, None), "Failed to establish a new connection: [Errno 111] Connection refused")
    return requests.exceptions.ConnectionError(MaxRetryError(cast(Any, None), "/v2/serial_data", reason=reason))


@responses.activate
def test_write_without_key_is_retried_when_the_connection_was_refused(client):
    responses.post(f"{BASE}/v2/serial_data", body=refused())
    responses.post(f"{BASE}/v2/serial_data", status=201, json={"id": 1})
    assert client.request("POST", "/v2/serial_data", json={"a": 1}).status == 201
    assert len(responses.calls) == 2


@responses.activate
def test_write_without_key_is_not_retried_after_a_reset(client):
    reset = requests.exceptions.ConnectionError(ProtocolError("Connection aborted.", ConnectionResetError(104)))
    responses.post(f"{BASE}/v2/serial_data", body=reset)
    with pytest.raises(TransientError) as info:
        client.request("POST", "/v2/serial_data", json={"a": 1})
    assert "connection failed" in str(info.value)
    assert len(responses.calls) == 1


@responses.activate
def test_a_read_timeout_on_a_get_is_retried(client, sleeps):
    responses.get(f"{BASE}/v2/items/1", body=requests.exceptions.ReadTimeout("slow"))
    responses.get(f"{BASE}/v2/items/1", json={"id": 1})
    assert client.get("/v2/items/1") == {"id": 1}
    assert len(responses.calls) == 2 and len(sleeps) == 1


def test_backoff_is_full_jitter_under_an_exponential_ceiling_and_the_cap(org, settings):
    settings.UPSTREAM_BACKOFF_BASE = 0.5
    settings.UPSTREAM_BACKOFF_CAP = 30.0
    client = UpstreamClient(org, rng=random.Random(7))
    for attempt, ceiling in [(1, 0.5), (2, 1.0), (3, 2.0), (6, 16.0), (7, 30.0), (20, 30.0)]:
        delays = [client.backoff(attempt) for _ in range(400)]
        assert all(0 <= d <= ceiling for d in delays), attempt
        # jittered over the whole range, not a fixed step
        assert min(delays) < ceiling * 0.1 and max(delays) > ceiling * 0.9, attempt
        assert len(set(delays)) > 350
    assert client.backoff(1, retry_after=4.0) >= 4.0


@responses.activate
def test_a_503_with_retry_after_waits_at_least_that_long(client, sleeps):
    responses.get(f"{BASE}/v2/items", status=503, headers={"Retry-After": "3"})
    responses.get(f"{BASE}/v2/items", json={"id": 2})
    assert client.get("/v2/items") == {"id": 2}
    assert sleeps and sleeps[0] >= 3


@responses.activate
def test_a_retry_after_beyond_the_cap_is_not_slept_but_handed_to_the_caller(client, sleeps, settings):
    settings.UPSTREAM_BACKOFF_CAP = 30.0
    responses.get(f"{BASE}/v2/items", status=429, headers={"Retry-After": "120"})
    with pytest.raises(TransientError) as info:
        client.get("/v2/items")
    assert info.value.retry_after == 120 and info.value.status == 429
    assert sleeps == [] and len(responses.calls) == 1


@responses.activate
def test_the_target_sent_is_exactly_the_target_signed(client):
    responses.get(f"{BASE}/v2/items", json={"count": 0, "total_results": 0, "offset": 0, "results": []})
    client.get("/v2/items", {"q": "a b/ü~'x", "tag": ["x", "y"], "offset": 0, "skip": None})
    request = responses.calls[0].request
    sent = urlsplit(request.url)
    target = sent.path + "?" + sent.query
    assert target == "/v2/items?q=a+b%2F%C3%BC~%27x&tag=x&tag=y&offset=0"
    assert signing.verify(SECRET, "GET", target, b"", request.headers["X-MBX-Date"], request.headers["X-MBX-Signature"])


def test_path_with_query_encodes_only_what_it_must():
    assert path_with_query("/v2/countries") == "/v2/countries"
    assert path_with_query("/v2/items/A B") == "/v2/items/A%20B"
    assert path_with_query("/v2/items/A%20B") == "/v2/items/A%20B"
    assert path_with_query("/v2/rmas?x=1", {"offset": 5}) == "/v2/rmas?x=1&offset=5"


@responses.activate
def test_json_is_serialized_once_compactly_with_decimals_as_numbers(client):
    responses.post(f"{BASE}/v2/customer_order_submissions", status=201, json={"id": 3})
    client.request(
        "POST",
        "/v2/customer_order_submissions",
        idempotency_key="k",
        json={"lines": [{"quantity": Decimal("2"), "customs_declared_value": Decimal("123.40")}]},
    )
    request = responses.calls[0].request
    assert request.body == b'{"lines":[{"quantity":2,"customs_declared_value":123.4}]}'
    assert request.headers["Content-Type"] == "application/json"
    assert signing.verify(
        SECRET,
        "POST",
        "/v2/customer_order_submissions",
        request.body,
        request.headers["X-MBX-Date"],
        request.headers["X-MBX-Signature"],
    )


@pytest.mark.parametrize(
    "status, body, error",
    [
        (422, {"errors": {"recipient.address_1": ["at most 35 characters"]}}, ValidationFailed),
        (409, {"errors": {"customer_order": ["exists"]}, "existing": {"id": 5}}, Conflict),
        (401, {"error": "bad signature"}, AuthFailed),
        (403, {"error": "forbidden"}, AuthFailed),
        (404, {"error": "not found"}, NotFound),
        (400, {"error": "bad limit"}, BadRequest),
    ],
)
@responses.activate
def test_each_status_maps_to_its_error_and_is_not_retried(client, status, body, error):
    responses.post(f"{BASE}/v2/x", status=status, json=body)
    with pytest.raises(error) as info:
        client.request("POST", "/v2/x", json={}, idempotency_key="k")
    assert info.value.status == status
    assert len(responses.calls) == 1
    if error is ValidationFailed:
        assert info.value.field_errors == {"recipient.address_1": ["at most 35 characters"]}
    if error is Conflict:
        assert info.value.existing == {"id": 5}


@responses.activate
def test_pagination_is_lazy_and_stops_at_the_total(client):
    def page(request):
        offset = int(request.params["offset"])
        limit = int(request.params["limit"])
        rows = [{"id": i} for i in range(offset + 1, min(offset + limit, 25) + 1)]
        return 200, {}, json.dumps({"count": len(rows), "total_results": 25, "offset": offset, "results": rows})

    responses.add_callback(responses.GET, f"{BASE}/v2/items", callback=page)
    pages = client.paginate("/v2/items", page_size=10)
    first = next(pages)
    assert len(responses.calls) == 1 and [r["id"] for r in first.results][:2] == [1, 2]
    rest = list(pages)
    assert [p.count for p in [first, *rest]] == [10, 10, 5]
    assert len(responses.calls) == 3


def paged(total_for):
    """A fake collection of rows 1..n where n = total_for(call number) can change between pages."""
    calls = []

    def page(request):
        calls.append(request)
        total = total_for(len(calls))
        offset = int(request.params["offset"])
        limit = int(request.params["limit"])
        rows = [{"id": i} for i in range(offset + 1, min(offset + limit, total) + 1)]
        return 200, {}, json.dumps({"count": len(rows), "total_results": total, "offset": offset, "results": rows})

    return page


@responses.activate
def test_pagination_follows_a_collection_that_grows_while_paged(client):
    responses.add_callback(responses.GET, f"{BASE}/v2/items", callback=paged(lambda n: 25 if n == 1 else 32))
    ids = [row["id"] for page in client.paginate("/v2/items", page_size=10) for row in page.results]
    assert ids == list(range(1, 33))


@responses.activate
def test_pagination_ends_early_when_the_collection_shrinks(client):
    responses.add_callback(responses.GET, f"{BASE}/v2/items", callback=paged(lambda n: 25 if n == 1 else 12))
    ids = [row["id"] for page in client.paginate("/v2/items", page_size=10) for row in page.results]
    assert ids == list(range(1, 13))
    assert len(responses.calls) == 2


@responses.activate
def test_pagination_without_a_total_stops_at_a_short_page(client):
    def page(request):
        offset = int(request.params["offset"])
        rows = [{"id": i} for i in range(offset + 1, min(offset + 10, 23) + 1)]
        return 200, {}, json.dumps({"count": len(rows), "offset": offset, "results": rows})

    responses.add_callback(responses.GET, f"{BASE}/v2/items", callback=page)
    assert len(list(client.iter_rows("/v2/items", page_size=10))) == 23
    assert len(responses.calls) == 3


@responses.activate
def test_an_answer_that_is_not_an_envelope_is_an_error(client):
    responses.get(f"{BASE}/v2/items", json=[{"id": 1}])
    with pytest.raises(UpstreamError):
        next(client.paginate("/v2/items"))


@responses.activate
def test_csv_report_is_streamed_into_rows(client):
    body = 'id,message\n1,"two\nlines"\n2,plain\n'
    responses.get(f"{BASE}/v2/automation_tasks/details.csv", body=body, content_type="text/csv")
    rows = list(client.get_csv("/v2/automation_tasks/details.csv"))
    assert rows == [{"id": "1", "message": "two\nlines"}, {"id": "2", "message": "plain"}]


@responses.activate
def test_secret_and_signature_never_appear_in_logs_errors_or_call_rows(client, caplog):
    caplog.set_level(logging.DEBUG)
    responses.get(f"{BASE}/v2/countries", status=401, json={"error": "bad signature"})
    with pytest.raises(AuthFailed) as info:
        client.get("/v2/countries")
    signature = responses.calls[0].request.headers["X-MBX-Signature"]
    texts = [caplog.text, str(info.value), repr(info.value), repr(client)]
    texts += [f"{c.path} {c.error}" for c in UpstreamCall.objects.all()]
    for text in texts:
        assert SECRET not in text and signature not in text


@responses.activate
def test_a_failing_call_log_never_breaks_the_call_nor_the_callers_transaction(client, monkeypatch, caplog):
    responses.get(f"{BASE}/v2/countries/1", json={"id": 1})
    monkeypatch.setattr(UpstreamCall._meta, "db_table", "upstream_call_missing")
    with transaction.atomic():
        assert client.get("/v2/countries/1") == {"id": 1}
        # the caller's transaction is still usable (on PostgreSQL a failed INSERT would abort it)
        assert Organization.objects.filter(slug="acme").exists()
    assert "could not record 1 upstream call" in caplog.text


@responses.activate
def test_call_rows_inside_an_atomic_block_share_its_fate_unless_deferred(client):
    responses.get(f"{BASE}/v2/countries/1", json={"id": 1})

    class Rollback(Exception):
        pass

    with pytest.raises(Rollback), transaction.atomic():
        client.get("/v2/countries/1")
        assert UpstreamCall.objects.count() == 1
        raise Rollback
    assert UpstreamCall.objects.count() == 0

    client.defer_call_log()
    with pytest.raises(Rollback), transaction.atomic():
        client.get("/v2/countries/1")
        raise Rollback
    client.flush_call_log()
    assert list(UpstreamCall.objects.values_list("path", "status")) == [("/v2/countries/1", 200)]


@responses.activate
def test_every_attempt_is_one_call_row_with_the_sent_path(client, org):
    responses.get(f"{BASE}/v2/inventories", status=502)
    responses.get(f"{BASE}/v2/inventories", json={"count": 0, "total_results": 0, "offset": 0, "results": []})
    list(client.paginate("/v2/inventories", page_size=100))
    rows = list(UpstreamCall.objects.order_by("id").values("organization", "method", "path", "status", "attempt"))
    path = "/v2/inventories?offset=0&limit=100"
    assert rows == [
        {"organization": org.pk, "method": "GET", "path": path, "status": 502, "attempt": 1},
        {"organization": org.pk, "method": "GET", "path": path, "status": 200, "attempt": 2},
    ]


@responses.activate
def test_a_server_that_echoes_the_secret_or_signature_has_it_blanked(client, caplog):
    def echo(request):
        return 401, {}, json.dumps({"error": f"expected {request.headers['X-MBX-Signature']} for {SECRET}"})

    responses.add_callback(responses.GET, f"{BASE}/v2/countries", callback=echo)
    with pytest.raises(AuthFailed) as info:
        client.get("/v2/countries")
    signature = responses.calls[0].request.headers["X-MBX-Signature"]
    assert str(info.value).startswith("expected [redacted] for [redacted]")
    for text in (str(info.value), repr(info.value), caplog.text, UpstreamCall.objects.get().error):
        assert SECRET not in text and signature not in text


@responses.activate
def test_a_write_without_key_is_retried_after_a_429_but_not_after_a_500(client):
    responses.post(f"{BASE}/v2/serial_data", status=429, headers={"Retry-After": "0"})
    responses.post(f"{BASE}/v2/serial_data", status=201, json={"id": 4})
    assert client.request("POST", "/v2/serial_data", json={"a": 1}).data == {"id": 4}
    assert len(responses.calls) == 2
    responses.reset()
    responses.post(f"{BASE}/v2/serial_data", status=500)
    with pytest.raises(TransientError):
        client.request("POST", "/v2/serial_data", json={"a": 1})
    assert len(responses.calls) == 1


def test_an_overlong_idempotency_key_is_refused_before_sending(client):
    with pytest.raises(ValueError):
        client.request("POST", "/v2/serial_data", json={}, idempotency_key="k" * 256)
    assert not UpstreamCall.objects.exists()


@responses.activate
def test_integers_beyond_64_bits_and_decimals_parse_exactly(client):
    big = 123456789012345678901234567890
    responses.get(
        f"{BASE}/v2/items/1",
        body=f'{{"id":1,"serial":{big},"price":19.99,"name":"Ünïcode"}}',
        content_type="application/json",
    )
    responses.get(
        f"{BASE}/v2/items/2",
        body='{"id":2,"serial":1234,"price":19.99,"name":"Ünïcode"}',
        content_type="application/json",
    )
    exact = client.request("GET", "/v2/items/1").data
    assert exact["serial"] == big and isinstance(exact["serial"], int)
    fast = client.request("GET", "/v2/items/2").data
    assert fast == {"id": 2, "serial": 1234, "price": 19.99, "name": "Ünïcode"}
    assert Decimal(str(fast["price"])) == Decimal("19.99")


def test_canonical_payloads_keep_integers_beyond_64_bits():
    from sync.engine import canonical_json

    assert canonical_json({"id": 1, "serial": 2**70, "name": "Ü"}) == f'{{"id":1,"serial":{2**70},"name":"Ü"}}'
    assert canonical_json({"id": 1, "price": 19.99}) == '{"id":1,"price":19.99}'


@pytest.mark.parametrize("offset, side", [(320, "ahead of"), (-320, "behind"), (5, None)])
@responses.activate
def test_a_401_names_a_skewed_clock_from_the_upstreams_date_header(client, offset, side):
    import re
    from datetime import UTC, datetime, timedelta
    from email.utils import format_datetime

    told = format_datetime(datetime.now(UTC) + timedelta(seconds=offset), usegmt=True)
    responses.get(f"{BASE}/v2/countries", status=401, json={"error": "unauthorized"}, headers={"Date": told})
    with pytest.raises(AuthFailed) as info:
        client.get("/v2/countries")
    text = str(info.value)
    assert text.startswith("unauthorized") and info.value.status == 401
    if side:
        found = re.search(rf"clock \(its Date header\) is (\d+) s {side} ours", text)
        assert found and abs(int(found.group(1)) - 320) <= 2, text  # the header has whole seconds
        assert "within 300 s" in text and "NTP" in text
    else:
        assert "clock" not in text
    assert SECRET not in text


@responses.activate
def test_a_401_with_a_missing_or_malformed_date_header_says_only_what_the_upstream_said(client):
    responses.get(f"{BASE}/v2/countries", status=401, json={"error": "signature does not match"})
    responses.get(f"{BASE}/v2/countries", status=401, json={"error": "bad"}, headers={"Date": "yesterday"})
    for expected in ("signature does not match", "bad"):
        with pytest.raises(AuthFailed) as info:
            client.get("/v2/countries")
        assert str(info.value) == f"{expected} (HTTP 401)"
