"""The sandbox protects itself: hostile input gets 422 (or 413), never a crash or a blow-up.

Every test talks to a real sandbox process with real signing, and after each refusal checks
that the sandbox still answers a valid request (it keeps running). The bounds are the
upstream's own (sandbox/bounds.py).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import socket
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest
import requests

from sandbox import bounds
from sandbox.domain import serial_shares
from sandbox.pytest_plugin import start_sandbox_process, stop_sandbox_process
from sandbox.store import Store

ID_PAST_MAX = 2**63  # one more than the largest 64-bit signed id
RAW = "__raw_json_literal__"  # json.dumps cannot write NaN-free 1e999 or 4000-digit literals as we want


def signed_headers(token: str, secret: str, method: str, path: str, body: bytes) -> dict:
    date = datetime.now(UTC).isoformat()
    msg = "\n".join([method, hashlib.sha256(body).hexdigest(), path, date])
    return {
        "X-MBX-Token": token,
        "X-MBX-Date": date,
        "X-MBX-Signature": hmac.new(secret.encode(), msg.encode(), hashlib.sha256).hexdigest(),
    }


class Api:
    def __init__(self, url: str, token: str, secret: str):
        self.url, self.token, self.secret = url, token, secret

    def raw(self, method: str, path: str, body: bytes, headers: dict | None = None) -> requests.Response:
        headers = {**signed_headers(self.token, self.secret, method, path, body), **(headers or {})}
        return requests.request(method, self.url + path, data=body, headers=headers, timeout=30)

    def call(self, method: str, path: str, payload=None, raw: str | None = None) -> requests.Response:
        """`raw` replaces the string RAW in the JSON text, for literals json.dumps cannot write."""
        text = json.dumps(payload) if payload is not None else ""
        if raw is not None:
            text = text.replace(json.dumps(RAW), raw)
        return self.raw(method, path, text.encode())


@pytest.fixture
def api(sandbox):
    token, secret = f"h-{uuid.uuid4().hex[:8]}", "hostile-secret"
    sandbox.add_org(token, secret, 78, "Hostile Co")
    sandbox.seed(token, scale=0.1)
    return Api(sandbox.url, token, secret)


def party(**changes):
    p = {
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
    p.update(changes)
    return p


def line(**changes):
    ln = {"product_code": "SKU-00001", "quantity": 1, "customs_declared_value": 10.5}
    ln.update(changes)
    return ln


def order(**changes):
    o = {
        "organization_id": 78,
        "purchase_order": "PO-9",
        "customer_order": f"C-{uuid.uuid4().hex[:8]}",
        "ship_method_id": 12,
        "recipient": party(),
        "importer_of_record": party(),
        "lines": [line()],
    }
    o.update(changes)
    return o


def assert_still_serving(api: Api) -> None:
    """A valid order after the refusal is created: the sandbox kept running."""
    response = api.call("POST", "/v2/customer_order_submissions", order())
    assert response.status_code == 201, response.text


ORDERS = "/v2/customer_order_submissions"

ORDER_CASES = [
    # quantity: 1..100,000, a real whole number (or ASCII digits), never a bool
    ("quantity 2^63-1", {"lines": [line(quantity=2**63 - 1)]}, None, "lines.0.quantity"),
    ("quantity 10^20", {"lines": [line(quantity=10**20)]}, None, "lines.0.quantity"),
    ("quantity 100,001", {"lines": [line(quantity=100_001)]}, None, "lines.0.quantity"),
    ("quantity '100001'", {"lines": [line(quantity="100001")]}, None, "lines.0.quantity"),
    ("quantity 0", {"lines": [line(quantity=0)]}, None, "lines.0.quantity"),
    ("quantity -1", {"lines": [line(quantity=-1)]}, None, "lines.0.quantity"),
    ("quantity true", {"lines": [line(quantity=True)]}, None, "lines.0.quantity"),
    ("quantity 1.5", {"lines": [line(quantity=1.5)]}, None, "lines.0.quantity"),
    ("quantity '12abc'", {"lines": [line(quantity="12abc")]}, None, "lines.0.quantity"),
    ("quantity superscript two", {"lines": [line(quantity="\u00b2")]}, None, "lines.0.quantity"),
    ("quantity arabic-indic 12", {"lines": [line(quantity="\u0661\u0662")]}, None, "lines.0.quantity"),
    ("quantity of 4,000 digits", {"lines": [line(quantity=RAW)]}, "9" * 4000, "lines.0.quantity"),
    # customs_declared_value: finite, 0..9,999,999,999.99, at most 2 decimals
    ("value 1e999", {"lines": [line(customs_declared_value=RAW)]}, "1e999", "lines.0.customs_declared_value"),
    ("value '1e30'", {"lines": [line(customs_declared_value="1e30")]}, None, "lines.0.customs_declared_value"),
    ("value NaN", {"lines": [line(customs_declared_value=RAW)]}, "NaN", "lines.0.customs_declared_value"),
    ("value 'NaN'", {"lines": [line(customs_declared_value="NaN")]}, None, "lines.0.customs_declared_value"),
    ("value -Infinity", {"lines": [line(customs_declared_value=RAW)]}, "-Infinity", "lines.0.customs_declared_value"),
    ("value -1", {"lines": [line(customs_declared_value=-1)]}, None, "lines.0.customs_declared_value"),
    ("value 10^10", {"lines": [line(customs_declared_value=10**10)]}, None, "lines.0.customs_declared_value"),
    ("value 1.005", {"lines": [line(customs_declared_value=1.005)]}, None, "lines.0.customs_declared_value"),
    ("value true", {"lines": [line(customs_declared_value=True)]}, None, "lines.0.customs_declared_value"),
    # ids: 1..2^63-1
    ("ship method id 2^63", {"ship_method_id": ID_PAST_MAX}, None, "ship_method_id"),
    ("organization id 2^63", {"organization_id": ID_PAST_MAX}, None, "organization_id"),
    ("organization id true", {"organization_id": True}, None, "organization_id"),
    # lines: at most 500, each an object
    ("600 lines", {"lines": [line() for _ in range(600)]}, None, "lines"),
    ("lines an object", {"lines": {"0": line()}}, None, "lines"),
    # texts and nested objects
    ("over-long address", {"recipient": party(address_1="x" * 36)}, None, "recipient.address_1"),
    ("over-long address_3", {"importer_of_record": party(address_3="x" * 36)}, None, "importer_of_record.address_3"),
    ("over-long name", {"recipient": party(name="n" * 256)}, None, "recipient.name"),
    ("address a list", {"recipient": party(address_1=["1 Road"])}, None, "recipient.address_1"),
    ("recipient a string", {"recipient": "Ann, 1 Road"}, None, "recipient"),
    ("over-long notes", {"notes": "n" * 2001}, None, "notes"),
    ("over-long purchase order", {"purchase_order": "p" * 101}, None, "purchase_order"),
    ("over-long product code", {"lines": [line(product_code="c" * 101)]}, None, "lines.0.product_code"),
    ("notes an object", {"notes": {"a": 1}}, None, "notes"),
    ("over-long ship account", {"ship_account": "a" * 101}, None, "ship_account"),
    # dates: ISO 8601 within the years 1900-2200
    ("order date in 10000", {"end_user_order_dt": "10000-01-01T00:00:00"}, None, "end_user_order_dt"),
    ("order date in 1899", {"end_user_order_dt": "1899-12-31T23:59:59"}, None, "end_user_order_dt"),
    ("order date not a date", {"end_user_order_dt": "yesterday"}, None, "end_user_order_dt"),
]


@pytest.mark.parametrize("changes, raw, field", [c[1:] for c in ORDER_CASES], ids=[c[0] for c in ORDER_CASES])
def test_an_order_out_of_bounds_is_422_and_the_sandbox_keeps_serving(api, changes, raw, field):
    started = time.monotonic()
    response = api.call("POST", ORDERS, order(**changes), raw=raw)
    assert response.status_code == 422, response.text
    assert field in response.json()["errors"], response.text
    assert time.monotonic() - started < 2
    assert_still_serving(api)


def test_an_order_at_the_bounds_is_accepted(api):
    at_bounds = order(
        lines=[line(quantity=100_000, customs_declared_value=9_999_999_999.99)]
        + [line(quantity="1", customs_declared_value="0.10") for _ in range(499)],
        end_user_order_dt="2200-12-31T23:59:59Z",
        duties_and_taxes_account=10000000,
        recipient=party(address_1="x" * 35),
    )
    response = api.call("POST", ORDERS, at_bounds)
    assert response.status_code == 201, response.text
    created = response.json()
    assert len(created["lines"]) == 500 and created["lines"][0]["quantity"] == 100_000


RMA_CASES = [
    ("request type 2^63", {"request_type_id": ID_PAST_MAX}, "request_type_id"),
    ("request type true", {"request_type_id": True}, "request_type_id"),
    ("over-long serial", {"manufacturer_serial": "S" * 51}, "manufacturer_serial"),
    ("over-long problem", {"problem": "p" * 2001}, "problem"),
    ("over-long replacement address", {"replacement_addr": "a" * 2001}, "replacement_addr"),
    ("replacement address an object", {"replacement_addr": {"line": "1 Road"}}, "replacement_addr"),
]


@pytest.mark.parametrize("changes, field", [c[1:] for c in RMA_CASES], ids=[c[0] for c in RMA_CASES])
def test_an_rma_out_of_bounds_is_422(api, changes, field):
    rma = {"problem": "dead", "request_type_id": 3, "manufacturer_serial": "R1", "replacement_name": "Dock"}
    response = api.call("POST", "/v2/rmas", {**rma, **changes})
    assert response.status_code == 422 and field in response.json()["errors"], response.text
    assert api.call("POST", "/v2/rmas", rma).status_code == 201


def queue(**changes):
    q = {
        "manufacturer_serial": f"Q-{uuid.uuid4().hex[:6]}",
        "ip_address": "10.0.0.1",
        "automation_tasks": [{"task_type_id": 1, "sequence": 1}],
    }
    q.update(changes)
    return q


QUEUE_CASES = [
    (
        "sequence 2^63",
        {"automation_tasks": [{"task_type_id": 1, "sequence": ID_PAST_MAX}]},
        "automation_tasks.0.sequence",
    ),
    ("sequence 10^20", {"automation_tasks": [{"task_type_id": 1, "sequence": 10**20}]}, "automation_tasks.0.sequence"),
    (
        "assignee 2^63",
        {"automation_tasks": [{"task_type_id": 1, "sequence": 1, "assignee_id": ID_PAST_MAX}]},
        "automation_tasks.0.assignee_id",
    ),
    (
        "task type true",
        {"automation_tasks": [{"task_type_id": True, "sequence": 1}]},
        "automation_tasks.0.task_type_id",
    ),
    (
        "1,000 tasks",
        {"automation_tasks": [{"task_type_id": 1, "sequence": n} for n in range(1000)]},
        "automation_tasks",
    ),
    ("over-long ip address", {"ip_address": "1" * 256}, "ip_address"),
]


@pytest.mark.parametrize("changes, field", [c[1:] for c in QUEUE_CASES], ids=[c[0] for c in QUEUE_CASES])
def test_an_automation_queue_out_of_bounds_is_422(api, changes, field):
    response = api.call("POST", "/v2/automation_queues", queue(**changes))
    assert response.status_code == 422 and field in response.json()["errors"], response.text
    assert api.call("POST", "/v2/automation_queues", queue()).status_code == 201


TASK_CASES = [
    ("sequence 2^63", {"sequence": ID_PAST_MAX}, "sequence"),
    ("sequence true", {"sequence": True}, "sequence"),
    ("over-long message", {"message": "m" * 257}, "message"),
    ("message type a list", {"message_type": ["start"]}, "message_type"),
]


@pytest.mark.parametrize("changes, field", [c[1:] for c in TASK_CASES], ids=[c[0] for c in TASK_CASES])
def test_a_task_update_out_of_bounds_is_422(api, changes, field):
    q = queue()
    assert api.call("POST", "/v2/automation_queues", q).status_code == 201
    update = {"manufacturer_serial": q["manufacturer_serial"], "ip_address": "10.0.0.1", "sequence": 1}
    response = api.call("PUT", "/v2/automation_tasks", {**update, "message_type": "notify", **changes})
    assert response.status_code == 422 and field in response.json()["errors"], response.text
    assert api.call("PUT", "/v2/automation_tasks", {**update, "message_type": "start"}).status_code == 200


SERIAL_DATA_CASES = [
    ("type id 2^63", {"serial_data_type_id": ID_PAST_MAX}, "serial_data_type_id"),
    ("type id 10^20", {"serial_data_type_id": 10**20}, "serial_data_type_id"),
    ("type id 0", {"serial_data_type_id": 0}, "serial_data_type_id"),
    ("over-long value", {"value": "v" * 257}, "value"),
    ("value an object", {"value": {"v": 1}}, "value"),
]


@pytest.mark.parametrize("changes, field", [c[1:] for c in SERIAL_DATA_CASES], ids=[c[0] for c in SERIAL_DATA_CASES])
def test_serial_data_out_of_bounds_is_422(api, changes, field):
    datum = {"manufacturer_serial": "S-1", "serial_data_type_id": 3, "value": "ok"}
    response = api.call("POST", "/v2/serial_data", {**datum, **changes})
    assert response.status_code == 422 and field in response.json()["errors"], response.text
    assert api.call("POST", "/v2/serial_data", datum).status_code == 201


WRITE_ROUTES = [
    ("POST", ORDERS),
    ("POST", "/v2/rmas"),
    ("POST", "/v2/automation_queues"),
    ("PUT", "/v2/automation_tasks"),
    ("POST", "/v2/serial_data"),
]


@pytest.mark.parametrize("method, path", WRITE_ROUTES)
def test_json_nested_5000_deep_is_422_without_a_recursion_error(api, method, path):
    deep = ("[" * 5000 + "]" * 5000).encode()
    response = api.raw(method, path, b'{"notes": ' + deep + b"}")
    assert response.status_code == 422, response.text
    assert "body" in response.json()["errors"]
    assert "deep" in response.json()["errors"]["body"][0]
    assert_still_serving(api)


def test_json_nested_33_deep_is_refused_and_32_is_not(api):
    def nested(depth):  # the body object itself is the first level
        return b'{"notes": ' + b"[" * (depth - 1) + b"]" * (depth - 1) + b"}"

    too_deep = api.raw("POST", ORDERS, nested(33))
    assert too_deep.status_code == 422 and "deep" in too_deep.json()["errors"]["body"][0]
    deep_enough = api.raw("POST", ORDERS, nested(32))
    assert deep_enough.status_code == 422 and "notes" in deep_enough.json()["errors"]  # a list is no text


def test_brackets_inside_strings_do_not_count_as_depth(api):
    response = api.call("POST", ORDERS, order(notes="[{" * 400 + '\\"' + "]}" * 400))
    assert response.status_code == 201, response.text


def test_a_2_mib_body_is_413_and_the_sandbox_keeps_serving(api):
    response = api.call("POST", ORDERS, order(notes="n" * (2 * 1024 * 1024)))
    assert response.status_code == 413, response.text
    assert "1048576" in response.json()["error"]
    assert_still_serving(api)


def test_a_huge_declared_body_is_refused_before_it_is_sent(api, sandbox):
    """Content-Length of 10 GB: the answer comes from the headers alone (no waiting, no reading)."""
    host, port = sandbox.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as conn:
        conn.sendall(
            f"POST {ORDERS} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            f"Content-Length: {10 * 1024**3}\r\n\r\n{{".encode()
        )
        answer = conn.recv(65536).decode(errors="replace")
    assert answer.startswith("HTTP/1.1 413"), answer
    assert_still_serving(api)


@pytest.mark.parametrize("length", ["abc", "-5", "1e3"])
def test_a_bad_content_length_is_400_and_the_sandbox_keeps_serving(api, sandbox, length):
    host, port = sandbox.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as conn:
        conn.sendall(f"POST {ORDERS} HTTP/1.1\r\nHost: x\r\nContent-Length: {length}\r\n\r\n{{}}".encode())
        answer = conn.recv(65536).decode(errors="replace")
    assert answer.startswith("HTTP/1.1 400"), answer
    assert_still_serving(api)


def test_an_integer_literal_past_pythons_digit_limit_is_422_quickly(api):
    started = time.monotonic()
    response = api.call("POST", ORDERS, order(lines=[line(quantity=RAW)]), raw="7" * 100_000)
    assert response.status_code == 422, response.text
    assert "lines.0.quantity" in response.json()["errors"], response.text  # refused at its field
    assert time.monotonic() - started < 2
    assert_still_serving(api)


def test_a_chunked_body_is_411(api, sandbox):
    """Without a Content-Length the size cannot be checked before reading: refused."""
    host, port = sandbox.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as conn:
        conn.sendall(f"POST {ORDERS} HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{{}}\r\n".encode())
        answer = conn.recv(65536).decode(errors="replace")
    assert answer.startswith("HTTP/1.1 411"), answer
    assert_still_serving(api)


def test_an_order_within_the_bounds_ships_with_at_most_10000_serial_numbers(api, sandbox):
    """500 lines of 100,000 units each is a valid order of 50 million units: shipping it makes
    10,000 serial numbers, shared out so that the small line keeps all of its own."""
    big = order(lines=[line(quantity=100_000) for _ in range(499)] + [line(quantity=7)])
    created = api.call("POST", ORDERS, big)
    assert created.status_code == 201, created.text
    started = time.monotonic()
    shipped = sandbox.set_order_status(api.token, created.json()["id"], "Shipped")
    assert time.monotonic() - started < 5
    counts = [len(ln["serial_numbers"]) for ln in shipped["lines"]]
    assert sum(counts) == 10_000 and counts[-1] == 7
    assert max(counts) - min(counts[:-1]) <= 1  # the rest is shared evenly between the large lines
    fetched = api.call("GET", f"{ORDERS}/{created.json()['id']}").json()
    assert fetched["status"] == "Shipped" and fetched["lines"] == shipped["lines"]


def test_reads_with_numbers_out_of_range_are_404_or_400(api):
    assert api.call("GET", f"{ORDERS}/{2**63}").status_code == 404
    assert api.call("GET", f"{ORDERS}/{'9' * 5000}").status_code == 404
    assert api.call("GET", f"{ORDERS}?offset={10**30}").status_code == 400
    assert api.call("GET", f"{ORDERS}?limit=abc").status_code == 400
    assert_still_serving(api)


def test_the_control_api_refuses_deep_json_too(sandbox):
    response = requests.post(sandbox.url + "/_sandbox/advance", data=b"[" * 5000 + b"]" * 5000, timeout=10)
    assert response.status_code == 400 and "deep" in response.json()["error"]
    response = requests.post(sandbox.url + "/_sandbox/advance", data=b"[1]", timeout=10)
    assert response.status_code == 400 and "object" in response.json()["error"]
    assert sandbox.control("GET", "health") == {"status": "ok"}


@pytest.mark.parametrize(
    "path, payload, word",
    [
        ("advance", {"steps": 10**12}, "steps"),  # would step for days
        ("advance", {"steps": "many"}, "steps"),
        ("order-status", {"token": "t", "id": "abc", "status": "Shipped"}, "id"),
        ("order-status", {"token": "t", "id": 2**64, "status": "Shipped"}, "id"),
        ("order-status", {"token": "t", "id": 1, "status": ["Shipped"]}, "status"),
        ("seed", {"token": "t", "scale": 1e300}, "scale"),
        ("rows", {"token": "t", "collection": "rmas", "upsert": [["not", "a", "row"]]}, "upsert"),
        ("orgs", {"token": "t", "secret": "s", "organization_id": 2**63}, "organization_id"),
    ],
)
def test_the_control_api_answers_400_to_bad_values(sandbox, path, payload, word):
    response = requests.post(f"{sandbox.url}/_sandbox/{path}", json=payload, timeout=10)
    assert response.status_code == 400 and word in response.json()["error"], response.text
    assert sandbox.control("GET", "health") == {"status": "ok"}


@pytest.mark.parametrize(
    "faults, word",
    [({"latency_ms": 10**12}, "latency_ms"), ({"error_rate": "all"}, "error_rate"), ({"token": ["t"]}, "token")],
)
def test_fault_options_out_of_range_are_400(sandbox, faults, word):
    response = requests.put(f"{sandbox.url}/_sandbox/faults", json=faults, timeout=10)
    assert response.status_code == 400 and word in response.json()["error"], response.text
    assert sandbox.control("GET", "health") == {"status": "ok"}


# -- data stored before the bounds -------------------------------------------------------------
def stored_order(id_: int, quantities: list, status: str = "Released", **extra) -> dict:
    return {
        "id": id_,
        "organization_id": 79,
        "purchase_order": "PO-OLD",
        "ship_method_id": 12,
        "ship_method": "FedEx Ground",
        "customer_order": f"OLD-{id_}",
        "notes": "",
        "recipient": party(),
        "importer_of_record": party(),
        "status": status,
        "lines": [
            {"product_code": "SKU-00001", "quantity": q, "customs_declared_value": 10.5, "serial_numbers": []}
            for q in quantities
        ],
        "created_at": "2026-01-01T00:00:00Z",
        "updated_at": "2026-01-01T00:00:00Z",
        **extra,
    }


def peak_rss_mib(pid: int) -> float:
    for row in Path(f"/proc/{pid}/status").read_text().splitlines():
        if row.startswith("VmHWM:"):
            return int(row.split()[1]) / 1024
    raise AssertionError("no VmHWM")


def test_a_stored_order_with_an_absurd_quantity_ships_with_capped_serials(tmp_path):
    """The sandbox database already holds the order that once took the stack down (quantity
    2^63-1, accepted before the bounds), next to broken rows. A restarted sandbox ships it with
    a capped number of serial numbers, moves the other orders, and neither dies nor grows."""
    db = str(tmp_path / "sandbox.sqlite3")
    store = Store(db)
    token, secret = "old-token", "old-secret"
    store.put_org(token, secret, 79, "Old Co")
    with store.write() as conn:
        rows = [
            stored_order(250001, [2**63 - 1, 3]),
            stored_order(250002, ["junk", 1e308, None, -5]),
            stored_order(250003, [1], lines="not a list"),
            stored_order(250004, [2]),
        ]
        unmovable = stored_order(250005, [1])
        del unmovable["customer_order"]  # moving it fails: it is logged and left as it was
        rows.append(unmovable)
        for row in rows:
            store.save(conn, token, "customer_order_submissions", row, ref=row.get("customer_order"), created_via="api")
    store.connection().close()
    proc, handle = start_sandbox_process(db, memory_limit=1536 * 1024 * 1024)
    try:
        moved = handle.advance(1)["moved"][0]
        assert moved["orders"] == 4
        api = Api(handle.url, token, secret)
        absurd = api.call("GET", f"{ORDERS}/250001").json()
        assert absurd["status"] == "Shipped"
        serials = absurd["lines"][0]["serial_numbers"]
        assert 0 < len(serials) <= 10_000 and len(set(serials)) == len(serials)
        assert len(absurd["lines"][1]["serial_numbers"]) == 3
        for id_ in (250002, 250003, 250004):
            assert api.call("GET", f"{ORDERS}/{id_}").json()["status"] == "Shipped"
        assert api.call("GET", f"{ORDERS}/250005").json()["status"] == "Released"
        assert handle.control("GET", "health") == {"status": "ok"}
        assert proc.poll() is None
        assert peak_rss_mib(proc.pid) < 400
    finally:
        stop_sandbox_process(proc)
    log = "".join(handle.log)
    assert "order 250001 has 9,223,372,036,854,775,810 units" in log and "at most 10,000 per order" in log, log
    assert "could not move order 250005 along" in log, log


# -- the checks themselves, without a server ----------------------------------------------------
def nesting(value) -> int:
    if isinstance(value, dict):
        return 1 + max(map(nesting, value.values()), default=0)
    if isinstance(value, list):
        return 1 + max(map(nesting, value), default=0)
    return 0


@pytest.mark.parametrize(
    "value",
    [
        {},
        [[[]]],
        {"a": "[[[[", "b": ["]]]]", {"c": '\\"[{'}]},
        ["\\", ['\\"]']],
        {"k[": {"k{": [1, 2.5, None, True, "x\\u005b"]}},
        [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]],
    ],
)
def test_the_depth_scan_counts_brackets_outside_strings_only(value):
    body = json.dumps(value).encode()
    assert bounds.json_depth(body) == nesting(value)
    for levels in (0, 1, 2, 3, 32, 33):
        assert bounds.nested_deeper_than(body, levels) == (nesting(value) > levels)


def test_an_over_long_number_literal_is_kept_apart_unconverted():
    parsed = bounds.parse_body(b'{"a": ' + b"1" * 41 + b', "b": ' + b"1" * 40 + b', "c": "' + b"1" * 41 + b'"}')
    assert isinstance(parsed["a"], bounds.Oversized)
    assert parsed["b"] == int("1" * 40) and parsed["c"] == "1" * 41
    assert bounds.whole_number(parsed["a"]) is None and bounds.decimal_text(parsed["a"]) is None


@pytest.mark.parametrize(
    "units, shares",
    [
        ([3, 4], [3, 4]),
        ([2**63 - 1, 3], [9_997, 3]),
        ([20_000, 20_000, 1], [5_000, 4_999, 1]),
        ([0, 50_000], [0, 10_000]),
        ([100_000] * 500, [20] * 500),
    ],
)
def test_serial_numbers_are_shared_out_up_to_the_cap(units, shares):
    assert serial_shares(units, 10_000) == shares
