"""Unit tests of the client seam with fake HTTP (responses): retries, back-off, error mapping."""

from __future__ import annotations

import json
import logging

import pytest
import requests
import responses

from conftest import make_org
from upstream import signing
from upstream.client import UpstreamClient
from upstream.errors import AuthFailed, BadRequest, Conflict, NotFound, TransientError, ValidationFailed
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
    assert signing.verify(SECRET, "GET", "/v2/inventories?offset=0&limit=100", b"",
                          request.headers["X-MBX-Date"], request.headers["X-MBX-Signature"])
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
        (1, 503), (2, 503), (3, 503), (4, 200)]


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


@responses.activate
def test_write_without_key_is_not_retried_after_it_may_have_arrived(client):
    responses.post(f"{BASE}/v2/serial_data", body=requests.exceptions.ReadTimeout("slow"))
    with pytest.raises(TransientError):
        client.request("POST", "/v2/serial_data", json_body={"a": 1})
    assert len(responses.calls) == 1


@responses.activate
def test_write_without_key_is_retried_when_the_connection_was_refused(client):
    responses.post(f"{BASE}/v2/serial_data", body=requests.exceptions.ConnectionError("Connection refused"))
    responses.post(f"{BASE}/v2/serial_data", status=201, json={"id": 1})
    assert client.request("POST", "/v2/serial_data", json_body={"a": 1}).status == 201
    assert len(responses.calls) == 2


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
        client.request("POST", "/v2/x", json_body={}, idempotency_key="k")
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
