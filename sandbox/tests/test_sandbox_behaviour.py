"""The sandbox behaves like the real upstream: validation, time, webhooks, seeding."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
import uuid
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests

from conftest import wait_for


class Api:
    def __init__(self, sandbox, token, secret):
        self.sandbox, self.token, self.secret = sandbox, token, secret

    def call(self, method, path, payload=None, key=None):
        body = json.dumps(payload).encode() if payload is not None else b""
        date = datetime.now(UTC).isoformat()
        msg = "\n".join([method, hashlib.sha256(body).hexdigest(), path, date])
        headers = {
            "X-MBX-Token": self.token,
            "X-MBX-Date": date,
            "X-MBX-Signature": hmac.new(self.secret.encode(), msg.encode(), hashlib.sha256).hexdigest(),
        }
        if key:
            headers["Idempotency-Key"] = key
        return requests.request(method, self.sandbox.url + path, data=body, headers=headers, timeout=10)


@pytest.fixture
def api(sandbox):
    token, secret = f"t-{uuid.uuid4().hex[:8]}", "behaviour-secret"
    sandbox.add_org(token, secret, 77, "Behaviour Co")
    sandbox.seed(token, scale=0.2)
    return Api(sandbox, token, secret)


def good_order(**changes):
    party = {
        "name": "Ann",
        "company": "",
        "email": None,
        "phone": "1-555",
        "address_1": "1 Road",
        "address_2": None,
        "address_3": None,
        "city": "Toronto",
        "state": "ON",
        "zip": "M5A",
        "country": "CA",
    }
    order = {
        "purchase_order": "PO-9",
        "customer_order": f"C-{uuid.uuid4().hex[:8]}",
        "ship_method_id": 12,
        "recipient": party,
        "importer_of_record": dict(party),
        "lines": [{"product_code": "SKU-00001", "quantity": 1, "customs_declared_value": 10.5}],
    }
    order.update(changes)
    return order


@pytest.mark.parametrize(
    "change, field",
    [
        ({"purchase_order": ""}, "purchase_order"),
        ({"customer_order": None}, "customer_order"),
        ({"ship_method_id": 999}, "ship_method_id"),
        ({"ship_method_id": "fast"}, "ship_method_id"),
        ({"lines": []}, "lines"),
        ({"lines": [{"product_code": "", "quantity": 1, "customs_declared_value": 1}]}, "lines.0.product_code"),
        ({"lines": [{"product_code": "A", "quantity": 0, "customs_declared_value": 1}]}, "lines.0.quantity"),
        ({"lines": [{"product_code": "A", "quantity": 1.5, "customs_declared_value": 1}]}, "lines.0.quantity"),
        (
            {"lines": [{"product_code": "A", "quantity": 1, "customs_declared_value": -1}]},
            "lines.0.customs_declared_value",
        ),
    ],
)
def test_order_rules_answer_422_with_the_field_path(api, change, field):
    response = api.call("POST", "/v2/customer_order_submissions", good_order(**change))
    assert response.status_code == 422
    assert field in response.json()["errors"]


@pytest.mark.parametrize(
    "part, key, value",
    [
        ("recipient", "address_1", "x" * 36),
        ("recipient", "address_2", "y" * 36),
        ("importer_of_record", "country", "ZZ"),
        ("recipient", "city", ""),
    ],
)
def test_party_rules(api, part, key, value):
    order = good_order()
    order[part][key] = value
    response = api.call("POST", "/v2/customer_order_submissions", order)
    assert response.status_code == 422 and f"{part}.{key}" in response.json()["errors"]


@pytest.mark.parametrize(
    "payload, field",
    [
        ({"problem": "", "request_type_id": 1, "manufacturer_serial": "S", "replacement_name": "N"}, "problem"),
        (
            {"problem": "p", "request_type_id": 6, "manufacturer_serial": "S", "replacement_name": "N"},
            "request_type_id",
        ),
        (
            {"problem": "p", "request_type_id": 1, "manufacturer_serial": "S" * 51, "replacement_name": "N"},
            "manufacturer_serial",
        ),
        ({"problem": "p", "request_type_id": 1, "manufacturer_serial": "S"}, "replacement_name"),
    ],
)
def test_rma_rules(api, payload, field):
    response = api.call("POST", "/v2/rmas", payload)
    assert response.status_code == 422 and field in response.json()["errors"]


def test_queue_sequences_must_be_unique_and_task_types_known(api):
    response = api.call(
        "POST",
        "/v2/automation_queues",
        {
            "manufacturer_serial": "S1",
            "ip_address": "10.0.0.1",
            "automation_tasks": [{"task_type_id": 1, "sequence": 1}, {"task_type_id": 99, "sequence": 1}],
        },
    )
    errors = response.json()["errors"]
    assert response.status_code == 422
    assert "automation_tasks.1.sequence" in errors and "automation_tasks.1.task_type_id" in errors


def test_task_update_needs_a_known_message_type_and_sequence(api):
    response = api.call(
        "PUT",
        "/v2/automation_tasks",
        {"manufacturer_serial": "nope", "ip_address": "1.1.1.1", "sequence": 3, "message_type": "explode"},
    )
    assert response.status_code == 422 and "message_type" in response.json()["errors"]


def test_paging_limits(api):
    big = api.call("GET", "/v2/inventories?offset=0&limit=5000").json()
    assert big["count"] == min(1000, big["total_results"])
    assert api.call("GET", "/v2/inventories?offset=-1&limit=10").status_code == 400


def test_an_order_moves_pending_released_shipped_and_gains_an_invoice(api, sandbox):
    order = api.call("POST", "/v2/customer_order_submissions", good_order()).json()
    assert order["status"] == "Pending" and "tracking_numbers" not in order
    sandbox.advance(1)
    assert api.call("GET", f"/v2/customer_order_submissions/{order['id']}").json()["status"] == "Released"
    sandbox.advance(1)
    shipped = api.call("GET", f"/v2/customer_order_submissions/{order['id']}").json()
    assert shipped["status"] == "Shipped" and shipped["tracking_numbers"] and shipped["lines"][0]["serial_numbers"]
    assert shipped["updated_at"] > order["updated_at"]
    invoice = api.call("GET", f"/v2/invoices/{shipped['invoices'][0]['invoice_number']}").json()
    assert invoice["order_id"] == order["id"] and invoice["total"] == 10.5


def test_an_rma_moves_to_closed_with_notes(api, sandbox):
    rma = api.call(
        "POST",
        "/v2/rmas",
        {"problem": "dead", "request_type_id": 3, "manufacturer_serial": "R1", "replacement_name": "Dock"},
    ).json()
    sandbox.advance(4)
    detail = api.call("GET", f"/v2/rmas/{rma['id']}").json()
    assert detail["status"]["name"] == "Closed" and detail["closed_date"]
    assert detail["troubleshootings"] and detail["results"]
    closed_ids = [r["id"] for r in api.call("GET", "/v2/rmas/closed?limit=1000").json()["results"]]
    assert rma["id"] in closed_ids


def test_seeding_is_deterministic(api, sandbox):
    first = api.call("GET", "/v2/inventories?offset=0&limit=50").text
    sandbox.seed(api.token, scale=0.2)
    assert api.call("GET", "/v2/inventories?offset=0&limit=50").text == first


class Receiver(BaseHTTPRequestHandler):
    received: list = []
    fail_first = 1

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        Receiver.received.append((self.path, dict(self.headers), body))
        status = 500 if len(Receiver.received) <= Receiver.fail_first else 200
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


def test_webhook_is_signed_and_retried_until_acknowledged(api, sandbox):
    Receiver.received = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/webhooks/order-update/"
        sandbox.set_webhook_url(api.token, url)
        order = api.call("POST", "/v2/customer_order_submissions", good_order()).json()
        sandbox.set_order_status(api.token, order["id"], "Released")
        wait_for(lambda: len(Receiver.received) >= 2, timeout=15, message="a retried webhook delivery")
        path, headers, body = Receiver.received[-1]
        assert json.loads(body)["id"] == order["id"] and json.loads(body)["status"] == "Released"
        msg = "\n".join(["POST", hashlib.sha256(body).hexdigest(), path, headers["X-MBX-Date"]])
        assert headers["X-MBX-Signature"] == hmac.new(api.secret.encode(), msg.encode(), hashlib.sha256).hexdigest()
        time.sleep(0.5)
        hooks = sandbox.stats(api.token)["webhooks"]
        assert hooks[-1]["delivered_at"] and hooks[-1]["attempts"] == 2
    finally:
        server.shutdown()


def test_faults_can_be_limited_by_count(api, sandbox):
    sandbox.set_faults(error_rate=1.0, count=1, token=api.token)
    assert api.call("GET", "/v2/countries/1").status_code == 500
    assert api.call("GET", "/v2/countries/1").status_code == 200
    sandbox.set_faults(latency_ms=300, token=api.token)
    started = time.monotonic()
    api.call("GET", "/v2/countries/1")
    assert time.monotonic() - started >= 0.3


def test_a_shifted_clock_moves_the_signature_window_and_the_date_header(api, sandbox):
    sandbox.set_clock(250)  # inside the window: a request dated by the real clock still passes
    answer = api.call("GET", "/v2/countries/1")
    assert answer.status_code == 200
    told = parsedate_to_datetime(answer.headers["Date"])
    assert 240 <= (told - datetime.now(UTC)).total_seconds() <= 260
    sandbox.set_clock(-310)  # outside it, behind
    refused = api.call("GET", "/v2/countries/1")
    assert refused.status_code == 401 and "300 seconds" in refused.json()["error"]
    sandbox.set_clock(0)
    assert api.call("GET", "/v2/countries/1").status_code == 200
    with pytest.raises(requests.HTTPError):
        sandbox.set_clock(90000)


def test_the_call_log_keeps_each_api_call_with_its_status_and_key(api, sandbox):
    since = time.time()
    sandbox.set_faults(drop_after_commit_rate=1.0, count=1, token=api.token)
    key, order = f"k-{uuid.uuid4().hex}", good_order()
    with pytest.raises(requests.ConnectionError):
        api.call("POST", "/v2/customer_order_submissions", order, key=key)
    assert api.call("POST", "/v2/customer_order_submissions", order, key=key).status_code == 201
    api.call("GET", "/v2/countries/1")
    posts = [c for c in sandbox.calls(since, method="POST") if c[4] == key]
    assert [(c[1], c[2], c[3]) for c in posts] == [
        ("POST", "/v2/customer_order_submissions", 0),
        ("POST", "/v2/customer_order_submissions", 201),
    ]
    assert posts[0][0] <= posts[1][0]
    assert any(c[1] == "GET" and c[3] == 200 for c in sandbox.calls(since))
