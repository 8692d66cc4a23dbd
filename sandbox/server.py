"""The sandbox upstream's HTTP server: the v2 API of CONTRACT.md plus a control API.

It stands for a remote system: its own storage (sandbox.store), its own signature check
(written here from the contract, not imported from the portal's client), a ticker that
moves orders, RMAs and tasks along, a webhook deliverer, and fault injection.

    /v2/...          signed API (401 on a bad signature, token, date or header)
    /_sandbox/...    unsigned control API for tests, demos and drills (loopback use only)

It protects itself like a service would (sandbox/bounds.py): a body over the size cap is
refused with 413 from its Content-Length before it is read, a Content-Length that is not one
whole number with 400, JSON nested too deep or out of bounds with 422, and a sandbox bug
answers 500; no input stops the process.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import logging
import random
import socket
import threading
import time
from collections import deque
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import requests

from . import seed as seeding
from .bounds import BODY_MAX, CONTROL_BODY_MAX, ID_MAX, BodyError, parse_body, whole_number
from .domain import ORDER_STATUSES, TASK_FIELDS, Duplicate, Invalid, Missing, Sandbox
from .store import Store

log = logging.getLogger("sandbox")

CLOCK_WINDOW = 300
# After refusing a body, what the client still sends is read and dropped (at most this much,
# for at most this long) before closing: closing with unread data would reset the connection
# and the client could lose the answer.
LINGER_BYTES = 4 * BODY_MAX
LINGER_SECONDS = 5.0
ADVANCE_STEPS_MAX = 1000
COLLECTIONS = {
    "countries",
    "ship_methods",
    "items",
    "customer_catalog_items",
    "inventories",
    "invoices",
    "customer_order_submissions",
    "rmas",
    "automation_queues",
    "automation_task_types",
    "serial_data",
}
PACES = {"fast": 5.0, "normal": 60.0, "off": None}
RMA_SUMMARY = [
    "id",
    "subject",
    "organization_id",
    "order_id",
    "repair_order_id",
    "replacement_order_id",
    "manufacturer_serial",
    "start_date",
    "closed_date",
    "item",
    "status",
]


class Drop(Exception):
    """Close the connection without an answer (after committing, for drop_after_commit)."""


class Faults:
    """Run-time fault injection; every option optional. `count` limits how many fire and
    `after` lets that many matching requests through before any fires."""

    OPTIONS: dict[str, Any] = {
        "error_rate": 0.0,
        "error_status": 500,
        "rate_limit_rate": 0.0,
        "retry_after": 1,
        "latency_ms": 0,
        "timeout_rate": 0.0,
        "timeout_seconds": 5.0,
        "drop_after_commit_rate": 0.0,
        "path_prefix": "",
        "method": "",
        "token": "",  # nosec B105  # an empty filter
        "count": None,
        "after": 0,
    }

    def __init__(self):
        self.lock = threading.Lock()
        self.config: dict[str, Any] = dict(self.OPTIONS)
        self.fired = 0

    # The range of each numeric option (a fault must not hold a request thread for days).
    RANGES: dict[str, tuple[float, float]] = {
        "error_rate": (0, 1),
        "rate_limit_rate": (0, 1),
        "timeout_rate": (0, 1),
        "drop_after_commit_rate": (0, 1),
        "error_status": (100, 599),
        "retry_after": (0, 86400),
        "latency_ms": (0, 600_000),
        "timeout_seconds": (0, 600),
        "count": (0, 2**31),
        "after": (0, 2**31),
    }

    def set(self, options: dict) -> dict:
        unknown = set(options) - set(self.OPTIONS)
        if unknown:
            raise ValueError(f"unknown fault options: {', '.join(sorted(unknown))}")
        for key, value in options.items():
            if key in self.RANGES:
                low, high = self.RANGES[key]
                number = isinstance(value, int | float) and not isinstance(value, bool)
                if not (number and low <= value <= high) and not (key == "count" and value is None):
                    raise ValueError(f"{key} must be a number from {low:g} to {high:g}")
            elif not isinstance(value, str) or len(value) > 1000:
                raise ValueError(f"{key} must be a string of at most 1000 characters")
        with self.lock:
            self.config = {**self.OPTIONS, **options}
            self.fired = 0
            return dict(self.config)

    def clear(self) -> None:
        self.set({})

    def pick(self, method: str, path: str, token: str) -> tuple[str | None, dict]:
        """The fault (if any) for this request: error, rate_limit, timeout or drop."""
        with self.lock:
            c = self.config
            if c["path_prefix"] and not path.startswith(c["path_prefix"]):
                return None, c
            if c["method"] and c["method"].upper() != method:
                return None, c
            if c["token"] and c["token"] != token:
                return None, c
            if c["count"] is not None and c["count"] <= 0:
                return None, c
            if c["after"] > 0:  # let this many matching requests through first
                c["after"] -= 1
                return None, c
            chosen = None
            for kind, rate in (
                ("error", c["error_rate"]),
                ("rate_limit", c["rate_limit_rate"]),
                ("timeout", c["timeout_rate"]),
            ):
                if rate and random.random() < rate:  # nosec B311  # simulated faults
                    chosen = kind
                    break
            if (
                chosen is None
                and method in ("POST", "PUT")
                and c["drop_after_commit_rate"]
                and random.random() < c["drop_after_commit_rate"]  # nosec B311  # simulated faults
            ):
                chosen = "drop"
            if chosen and c["count"] is not None:
                c["count"] -= 1
            if chosen:
                self.fired += 1
            return chosen, dict(c)


class Stats:
    CALLS_KEPT = 200_000  # the newest API calls kept for `GET /_sandbox/requests` (drills)

    def __init__(self):
        self.lock = threading.Lock()
        self.requests = 0
        self.by_status: dict[int, int] = {}
        self.faults = 0
        # (epoch seconds, method, path, status or 0 for a dropped answer, Idempotency-Key)
        self.calls: deque[tuple[float, str, str, int, str]] = deque(maxlen=self.CALLS_KEPT)

    def record(self, status: int, call: tuple[float, str, str, str] | None = None) -> None:
        with self.lock:
            self.requests += 1
            self.by_status[status] = self.by_status.get(status, 0) + 1
            if call is not None:
                at, method, path, key = call
                self.calls.append((at, method, path, status, key))

    def calls_since(self, since: float, method: str = "") -> list[tuple[float, str, str, int, str]]:
        with self.lock:
            return [c for c in self.calls if c[0] >= since and (not method or c[1] == method)]


def expected_signature(secret: str, method: str, path_with_query: str, body: bytes, date: str) -> str:
    message = "\n".join([method, hashlib.sha256(body).hexdigest(), path_with_query, date])
    return hmac.new(secret.encode(), message.encode(), hashlib.sha256).hexdigest()


class App:
    def __init__(self, db_path: str, pace: str | float | None = "off", webhook_backoff: float = 1.0):
        self.store = Store(db_path)
        self.sandbox = Sandbox(self.store)
        self.faults = Faults()
        self.stats = Stats()
        self.paused = threading.Event()
        self.stopping = threading.Event()
        self.pace = PACES.get(pace, pace) if isinstance(pace, str) else pace
        self.webhook_backoff = webhook_backoff
        self.clock_offset = 0.0  # seconds the sandbox's clock is ahead of the real one (drills)

    def now(self) -> datetime:
        """The sandbox's clock: the real one shifted by `clock_offset` (PUT /_sandbox/clock)."""
        return datetime.now(UTC) + timedelta(seconds=self.clock_offset)

    # -- background threads --------------------------------------------------------------------
    def start_background(self) -> None:
        threading.Thread(target=self._ticker, name="sandbox-ticker", daemon=True).start()
        threading.Thread(target=self._deliverer, name="sandbox-webhooks", daemon=True).start()

    def _ticker(self) -> None:
        while not self.stopping.is_set():
            pace = self.pace
            if pace is None:
                self.stopping.wait(0.5)
                continue
            self.stopping.wait(float(pace))
            if not self.paused.is_set():
                try:
                    self.sandbox.step()
                except Exception:
                    log.exception("simulation step failed")

    def _deliverer(self) -> None:
        while not self.stopping.is_set():
            due = self.store.due_webhooks()
            if not due:
                self.stopping.wait(0.1)
                continue
            for id_, token, url, body, attempts, secret in due:
                self.deliver_webhook(id_, token, url, body, attempts, secret)

    def deliver_webhook(self, id_, token, url, body, attempts, secret) -> None:
        parts = urlsplit(url)
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        date = self.now().isoformat()
        data = body.encode()
        headers = {
            "Content-Type": "application/json",
            "X-MBX-Token": token,
            "X-MBX-Date": date,
            "X-MBX-Signature": expected_signature(secret, "POST", path, data, date),
            # One connection per delivery, like most webhook senders: the receiver holds
            # no idle connection (nor a worker thread and its database session) for us.
            "Connection": "close",
        }
        status, error = None, ""
        try:
            # A new connection each time: a pooled one the receiver has closed would fail the delivery.
            response = requests.post(url, data=data, headers=headers, timeout=(3, 10))
            status = response.status_code
            if 200 <= status < 300:
                self.store.webhook_result(id_, status, "", None)
                return
            error = f"HTTP {status}"
        except requests.RequestException as exc:
            error = exc.__class__.__name__
        delay = min(300.0, self.webhook_backoff * (2**attempts))
        self.store.webhook_result(id_, status, error, time.time() + delay)

    # -- the API ---------------------------------------------------------------------------------
    def authenticate(self, method: str, path_with_query: str, headers, body: bytes) -> tuple[str | None, str]:
        token = headers.get("X-MBX-Token")
        date = headers.get("X-MBX-Date")
        signature = headers.get("X-MBX-Signature")
        missing = [
            h for h, v in (("X-MBX-Token", token), ("X-MBX-Date", date), ("X-MBX-Signature", signature)) if not v
        ]
        if missing:
            return None, f"missing header {', '.join(missing)}"
        org = self.store.org(token)
        if org is None:
            return None, "unknown token"
        try:
            when = datetime.fromisoformat(date.replace("Z", "+00:00"))
            if when.tzinfo is None:
                raise ValueError
        except ValueError:
            return None, "X-MBX-Date is not an ISO 8601 date with a UTC offset"
        if abs((self.now() - when).total_seconds()) > CLOCK_WINDOW:
            return None, f"X-MBX-Date is more than {CLOCK_WINDOW} seconds from the server clock"
        expected = expected_signature(org["secret"], method, path_with_query, body, date)
        if not hmac.compare_digest(expected, signature.strip().lower()):
            return None, "signature does not match"
        return token, ""

    def handle_api(
        self, method: str, path: str, query: dict, token: str, body: bytes, idempotency_key: str | None
    ) -> tuple[int, str, str]:
        """(status, content type, body text) for a verified /v2 request."""
        parts = [p for p in path.split("/") if p][1:]  # drop "v2"
        if method == "GET":
            return self._get(parts, query, token)
        if method in ("POST", "PUT"):
            if idempotency_key is not None and len(idempotency_key) > 255:
                return _json(422, {"errors": {"Idempotency-Key": ["at most 255 characters"]}})
            try:
                data = parse_body(body)
            except BodyError as exc:
                return _json(422, {"errors": {"body": [str(exc)]}})
            route = (method, "/".join(parts))
            if route not in WRITES:
                return _json(
                    405 if "/".join(parts) in {"/".join(r[1:]) for r in WRITES} else 404,
                    {"error": f"no {method} on {path}"},
                )
            request_hash = hashlib.sha256(method.encode() + path.encode() + body).hexdigest()
            if idempotency_key:
                seen = self.store.idempotent(self.store.connection(), token, idempotency_key)
                if seen:
                    if seen[0] != request_hash:
                        return _json(
                            422, {"errors": {"Idempotency-Key": ["was used before with a different request body"]}}
                        )
                    return seen[1], "application/json", seen[2]
            status, ctype, text = self._write(route, token, data)
            if idempotency_key and status < 500:
                with self.store.write() as conn:
                    self.store.remember(conn, token, idempotency_key, request_hash, status, text)
            return status, ctype, text
        return _json(405, {"error": f"method {method} not allowed"})

    def _write(self, route, token, data) -> tuple[int, str, str]:
        handler, created = WRITES[route]
        try:
            result = handler(self.sandbox, token, data)
        except Invalid as exc:
            return _json(422, {"errors": exc.errors})
        except Duplicate as exc:
            return _json(409, {"errors": exc.errors, "existing": exc.existing})
        return _json(201 if created else 200, result)

    def _get(self, parts: list[str], query: dict, token: str) -> tuple[int, str, str]:
        if parts == ["automation_tasks", "details.csv"]:
            return 200, "text/csv; charset=utf-8", ""  # streamed by the handler
        if not parts or parts[0] not in COLLECTIONS:
            return _json(404, {"error": "unknown collection"})
        collection = parts[0]
        tag = None
        if collection == "rmas" and len(parts) == 2 and parts[1] in ("open", "closed"):
            tag = parts[1]
            parts = parts[:1]
        if len(parts) == 2:
            id_ = whole_number(parts[1])
            if id_ is None or id_ > ID_MAX:
                return _json(404, {"error": "not found"})
            obj = self.store.get(token, collection, id_)
            if obj is None:
                return _json(404, {"error": f"no {collection} {parts[1]}"})
            return _json(200, _public(collection, obj))
        if len(parts) > 2:
            return _json(404, {"error": "not found"})
        offset = whole_number(query.get("offset", ["0"])[0])
        limit = whole_number(query.get("limit", ["100"])[0])
        if offset is None or limit is None or offset > ID_MAX or limit < 1:
            return _json(400, {"errors": {"offset": ["offset must be >= 0 and limit >= 1 (whole numbers)"]}})
        limit = min(limit, 1000)
        bodies = self.store.page(token, collection, offset, limit, tag)
        if collection in ("rmas", "automation_queues"):
            bodies = [
                json.dumps(_public(collection, json.loads(b), summary=True), separators=(",", ":")) for b in bodies
            ]
        total = self.store.count(token, collection, tag)
        text = (
            f'{{"count":{len(bodies)},"total_results":{total},"offset":{offset},"results":['
            + ",".join(bodies)
            + '],"errors":null}'
        )
        return 200, "application/json", text

    def csv_rows(self, token: str):
        import csv
        import io

        buf = io.StringIO()
        writer = csv.writer(buf)
        writer.writerow(TASK_FIELDS)
        yield buf.getvalue()
        for body in self.store.iter_bodies(token, "automation_tasks"):
            buf.seek(0)
            buf.truncate()
            row = json.loads(body)
            writer.writerow(
                [
                    "true" if v is True else "false" if v is False else "" if v is None else v
                    for v in (row.get(k) for k in TASK_FIELDS)
                ]
            )
            yield buf.getvalue()


def _public(collection: str, obj: dict, summary: bool = False) -> dict:
    if collection == "rmas" and summary:
        return {k: obj.get(k) for k in RMA_SUMMARY}
    if collection == "rmas":
        return {
            k: v
            for k, v in obj.items()
            if k not in ("request_type_id", "replacement_name", "replacement_phone", "replacement_addr")
        }
    if collection == "automation_queues":
        return {k: obj.get(k) for k in ("id", "serial_id", "work_order_id", "finished", "ip_address")}
    return obj


def _json(status: int, payload) -> tuple[int, str, str]:
    return status, "application/json", json.dumps(payload, separators=(",", ":"))


WRITES = {
    ("POST", "customer_order_submissions"): (Sandbox.create_order, True),
    ("POST", "rmas"): (Sandbox.create_rma, True),
    ("POST", "automation_queues"): (Sandbox.create_queue, True),
    ("PUT", "automation_tasks"): (Sandbox.update_task, False),
    ("POST", "serial_data"): (Sandbox.create_serial_datum, True),
}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # small keep-alive answers must not wait for delayed ACKs
    server_version = "MBXSandbox/1.0"
    app: App  # set on the subclass made by make_server

    call: tuple[float, str, str, str] | None = None  # the API call being answered (Stats.calls)

    def log_message(self, fmt, *args):  # quiet: tests and benchmarks make many requests
        log.debug("%s " + fmt, self.address_string(), *args)

    def date_time_string(self, timestamp=None):
        """The Date header, by the sandbox's clock (shifted in a clock-skew drill)."""
        if timestamp is None:
            timestamp = self.app.now().timestamp()
        return super().date_time_string(timestamp)

    def do_GET(self):
        self._dispatch("GET")

    def do_POST(self):
        self._dispatch("POST")

    def do_PUT(self):
        self._dispatch("PUT")

    def do_DELETE(self):
        self._dispatch("DELETE")

    def _read_body(self, limit: int) -> bytes | None:
        """The request body, or None when it was refused (the answer is sent): 400 for a
        Content-Length that is not one whole number, 411 for a body without one (chunked), 413
        for one over `limit` bytes, decided from the header before anything is read."""
        lengths = {v.strip() for v in self.headers.get_all("Content-Length") or []}
        if not lengths:
            if self.headers.get("Transfer-Encoding"):
                self._refuse(411, "a body needs a Content-Length (chunked bodies are not accepted)", 0)
                return None
            return b""
        length = whole_number(lengths.pop()) if len(lengths) == 1 else None
        if length is None:
            self._refuse(400, "Content-Length must be one whole number of bytes", 0)
            return None
        if length > limit:
            self._refuse(413, f"body is larger than {limit} bytes", length)
            return None
        return self.rfile.read(length) if length else b""

    def _refuse(self, status: int, message: str, length: int) -> None:
        """Answer `status` and close the connection, first dropping what the client still sends
        of its body (up to LINGER_BYTES, for up to LINGER_SECONDS)."""
        self.close_connection = True
        deadline = time.monotonic() + LINGER_SECONDS
        left = min(length, LINGER_BYTES) if length else LINGER_BYTES
        with contextlib.suppress(OSError):  # the client may have gone: nothing more to do
            self._send(*_json(status, {"error": message}), {"Connection": "close"})
            self.connection.shutdown(socket.SHUT_WR)
            while left > 0 and (wait := deadline - time.monotonic()) > 0:
                self.connection.settimeout(wait)
                chunk = self.connection.recv(min(left, 64 * 1024))
                if not chunk:
                    break
                left -= len(chunk)

    def _send(self, status: int, ctype: str, text: str, extra: dict | None = None) -> None:
        data = text.encode()
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        for k, v in (extra or {}).items():
            self.send_header(k, str(v))
        self.end_headers()
        self.wfile.write(data)
        self.app.stats.record(status, self.call)

    def _drop(self) -> None:
        self.app.stats.record(0, self.call)
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)

    def _dispatch(self, method: str) -> None:
        app = self.app
        raw_path = self.path
        split = urlsplit(raw_path)
        self.call = None
        try:
            body = self._read_body(CONTROL_BODY_MAX if split.path.startswith("/_sandbox/") else BODY_MAX)
            if body is None:
                return
            if split.path.startswith("/_sandbox/"):
                return self._send(*control(app, method, split.path, parse_qs(split.query), body))
            if not split.path.startswith("/v2/"):
                return self._send(*_json(404, {"error": "not found"}))
            self.call = (time.time(), method, split.path, self.headers.get("Idempotency-Key") or "")
            token, problem = app.authenticate(method, raw_path, self.headers, body)
            if token is None:
                return self._send(*_json(401, {"error": f"authentication failed: {problem}"}))
            fault, cfg = app.faults.pick(method, split.path, token)
            if cfg["latency_ms"]:
                time.sleep(cfg["latency_ms"] / 1000)
            if fault == "error":
                return self._send(*_json(int(cfg["error_status"]), {"error": "injected server error"}))
            if fault == "rate_limit":
                return self._send(*_json(429, {"error": "rate limited"}), {"Retry-After": cfg["retry_after"]})
            if fault == "timeout":
                time.sleep(float(cfg["timeout_seconds"]))
                return self._drop()
            if method == "GET" and split.path == "/v2/automation_tasks/details.csv":
                return self._stream_csv(token)
            status, ctype, text = app.handle_api(
                method, split.path, parse_qs(split.query), token, body, self.headers.get("Idempotency-Key")
            )
            if fault == "drop" and status < 300:
                return self._drop()
            return self._send(status, ctype, text)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True
        except Exception as exc:  # a sandbox bug answers 500, like a real server would
            log.exception("sandbox error on %s %s", method, raw_path)
            return self._send(*_json(500, {"error": f"sandbox error: {exc.__class__.__name__}"}))

    def _stream_csv(self, token: str) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/csv; charset=utf-8")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        pending = []
        size = 0
        for piece in self.app.csv_rows(token):
            pending.append(piece)
            size += len(piece)
            if size > 64 * 1024:
                self._chunk("".join(pending).encode())
                pending, size = [], 0
        if pending:
            self._chunk("".join(pending).encode())
        self.wfile.write(b"0\r\n\r\n")
        self.app.stats.record(200)

    def _chunk(self, data: bytes) -> None:
        self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")


def control(app: App, method: str, path: str, query: dict, body: bytes) -> tuple[int, str, str]:
    """The unsigned control API used by tests, demos and drills. It takes bulk test data, so
    its size cap is larger than the API's, but the same depth cap holds; a malformed request
    is a 400 naming what is wrong."""
    try:
        data = parse_body(body, limit=CONTROL_BODY_MAX)
    except BodyError as exc:
        return _json(400, {"error": f"body {exc}"})
    if data is None:
        data = {}
    if not isinstance(data, dict):
        return _json(400, {"error": "body must be a JSON object"})
    route = (method, path.rstrip("/"))
    token = data.get("token") or (query.get("token") or [""])[0]
    if not isinstance(token, str):
        return _json(400, {"error": "token must be a string"})
    if route == ("GET", "/_sandbox/health"):
        return _json(200, {"status": "ok"})
    if route == ("POST", "/_sandbox/orgs"):
        if not data.get("token") or not isinstance(data.get("secret"), str) or not data["secret"]:
            return _json(400, {"error": "token and secret are required"})
        org_id = whole_number(data.get("organization_id"))
        if data.get("organization_id") is not None and (org_id is None or org_id > ID_MAX):
            return _json(400, {"error": "organization_id must be a whole number up to 2^63-1"})
        app.store.put_org(data["token"], data["secret"], org_id, data.get("name", ""), data.get("webhook_url"))
        return _json(201, {"token": data["token"]})
    if route == ("PUT", "/_sandbox/webhook"):
        app.store.set_webhook_url(token, data.get("url"))
        return _json(200, {"token": token, "url": data.get("url")})
    if route == ("POST", "/_sandbox/seed"):
        scale, counts = data.get("scale", 1), data.get("counts")
        if isinstance(scale, bool) or not isinstance(scale, int | float) or not 0 <= scale < 1e6:
            return _json(400, {"error": "scale must be a number from 0 to 1,000,000"})
        if counts is not None and not (
            isinstance(counts, dict) and all(whole_number(v) is not None for v in counts.values())
        ):
            return _json(400, {"error": "counts must map collections to whole numbers"})
        try:
            counts = seeding.seed(app.store, token, float(scale), counts)
        except KeyError:
            return _json(404, {"error": "unknown token"})
        return _json(200, counts)
    if route == ("POST", "/_sandbox/rows"):
        collection = data.get("collection")
        if collection not in COLLECTIONS | {"automation_tasks"}:
            return _json(400, {"error": "unknown collection"})
        upsert, delete = data.get("upsert", []), data.get("delete", [])
        if not isinstance(upsert, list) or not all(
            isinstance(row, dict) and whole_number(row.get("id")) is not None for row in upsert
        ):
            return _json(400, {"error": "upsert must be a list of objects with whole-number ids"})
        if not isinstance(delete, list) or not all(whole_number(i) is not None for i in delete):
            return _json(400, {"error": "delete must be a list of whole-number ids"})
        with app.store.write() as conn:
            for row in upsert:
                ref = row.get("customer_order") if collection == "customer_order_submissions" else None
                tag = ("closed" if row.get("closed_date") else "open") if collection == "rmas" else None
                app.store.save(conn, token, collection, row, ref=ref, tag=tag)
            deleted = app.store.delete(conn, token, collection, delete)
        return _json(200, {"upserted": len(upsert), "deleted": deleted})
    if route == ("POST", "/_sandbox/advance"):
        steps = whole_number(data.get("steps", 1))
        if steps is None or not 1 <= steps <= ADVANCE_STEPS_MAX:
            return _json(400, {"error": f"steps must be a whole number from 1 to {ADVANCE_STEPS_MAX}"})
        moved = [app.sandbox.step() for _ in range(steps)]
        return _json(200, {"steps": len(moved), "moved": moved})
    if route == ("POST", "/_sandbox/order-status"):
        order_id, status = whole_number(data.get("id")), data.get("status")
        if order_id is None or order_id > ID_MAX:
            return _json(400, {"error": "id must be an order id"})
        if not isinstance(status, str) or status.capitalize() not in ORDER_STATUSES:
            return _json(400, {"error": f"status must be one of {', '.join(ORDER_STATUSES)}"})
        try:
            order = app.sandbox.set_order_status(token, order_id, status)
        except Missing:
            return _json(404, {"error": "no such order"})
        return _json(200, order)
    if route == ("PUT", "/_sandbox/faults"):
        try:
            return _json(200, app.faults.set(data))
        except ValueError as exc:
            return _json(400, {"error": str(exc)})
    if route == ("DELETE", "/_sandbox/faults"):
        app.faults.clear()
        return _json(200, {"cleared": True})
    if route == ("PUT", "/_sandbox/clock"):
        offset = data.get("offset")
        if isinstance(offset, bool) or not isinstance(offset, int | float) or not -86400 <= offset <= 86400:
            return _json(400, {"error": "offset must be a number of seconds from -86400 to 86400"})
        app.clock_offset = float(offset)
        return _json(200, {"offset": app.clock_offset, "now": app.now().isoformat()})
    if route == ("GET", "/_sandbox/requests"):
        try:
            since = float((query.get("since") or ["0"])[0])
        except ValueError:
            return _json(400, {"error": "since must be a number of seconds since the epoch"})
        method_filter = (query.get("method") or [""])[0].upper()
        return _json(200, {"calls": app.stats.calls_since(since, method_filter)})
    if route == ("POST", "/_sandbox/pause"):
        app.paused.set()
        return _json(200, {"paused": True})
    if route == ("POST", "/_sandbox/resume"):
        app.paused.clear()
        return _json(200, {"paused": False})
    if route == ("GET", "/_sandbox/stats"):
        s = app.stats
        result = {
            "requests": s.requests,
            "by_status": {str(k): v for k, v in sorted(s.by_status.items())},
            "faults_fired": app.faults.fired,
            "steps": app.sandbox.step_count,
        }
        if token:
            result["orders_created"] = app.store.created_count(token, "customer_order_submissions")
            result["rmas_created"] = app.store.created_count(token, "rmas")
            result["queues_created"] = app.store.created_count(token, "automation_queues")
            result["serial_data_created"] = app.store.created_count(token, "serial_data")
            result["webhooks"] = app.store.webhook_log(token)
        return _json(200, result)
    return _json(404, {"error": f"no control route {method} {path}"})


def make_server(host: str, port: int, app: App) -> ThreadingHTTPServer:
    handler = type("BoundHandler", (Handler,), {"app": app})
    server = ThreadingHTTPServer((host, port), handler)
    server.daemon_threads = True
    return server
