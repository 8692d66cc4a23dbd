"""What the sandbox upstream does: validate and apply writes, and move things along over time.

Validation answers like the vendor docs say, as {"errors": {"dotted.path": ["message"]}}, and
holds every value to the bounds in sandbox/bounds.py: a write outside them changes nothing.
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import random
import sqlite3
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from . import bounds as b
from .seed import CATEGORIES, RMA_STATUSES, dumps

log = logging.getLogger("sandbox")

ORDER_FLOW = {"pending": "Released", "released": "Shipped"}
ORDER_STATUSES = ("Pending", "Released", "Shipped")
REQUEST_TYPES = {
    1: "Replacement Parts",
    2: "Advance System Replacement",
    3: "Depot Repair and Return",
    4: "Trial and Stock",
    5: "Repair and Stock",
}
MESSAGE_TYPES = {"start", "complete", "fail", "notify"}
TASK_FIELDS = [
    "id",
    "automation_queue_id",
    "automation_task_type_id",
    "sequence",
    "started_at",
    "completed_at",
    "failed",
    "message",
    "assignee_id",
    "assignee_name",
    "work_order_id",
    "serial_id",
    "item_id",
    "manufacturer_serial",
]
PARTY_REQUIRED = ("name", "phone", "address_1", "city", "zip", "country")
PARTY_OPTIONAL = ("company", "email", "state", "address_2", "address_3")
# An order's optional texts and their lengths.
ORDER_TEXTS = {
    "ship_account": b.CODE,
    "end_user_po": b.ORDER_NUMBER,
    "end_user_name": b.NAME,
    "notes": b.TEXT,
    "customer_rma_case": b.CODE,
    "duties_and_taxes_account": b.CODE,
}
MONEY_MAX = Decimal(10**b.MONEY_MAX_DIGITS - 1).scaleb(-b.MONEY_PLACES)  # 9,999,999,999.99
CENT = Decimal(1).scaleb(-b.MONEY_PLACES)
MONEY_MAX_FLOAT = float(MONEY_MAX)


class Invalid(Exception):
    def __init__(self, errors: dict[str, list[str]]):
        super().__init__("invalid")
        self.errors = errors


class Duplicate(Exception):
    def __init__(self, errors: dict, existing: dict):
        super().__init__("duplicate")
        self.errors = errors
        self.existing = existing


class Missing(Exception):
    pass


def now_iso() -> str:
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


def _as_object(data: Any) -> dict:
    if not isinstance(data, dict):
        raise Invalid({"body": ["must be a JSON object"]})
    return data


class Errors:
    """Collects field errors; each check returns the value it accepted, or None."""

    def __init__(self):
        self.errors: dict[str, list[str]] = {}

    def add(self, path: str, message: str) -> None:
        self.errors.setdefault(path, []).append(message)

    def _given(self, data: dict, key: str, path: str, required: bool) -> Any:
        value = data.get(key)
        if value is None or (isinstance(value, str) and not value.strip()):
            if required:
                self.add(path, "This field is required.")
            return None
        return value

    def text(self, data: dict, key: str, path: str | None = None, *, max_len: int, required: bool = True) -> str | None:
        """A string (or a whole JSON number, as the vendor's examples send account numbers) of
        at most `max_len` characters."""
        path = path or key
        value = self._given(data, key, path, required)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, str | int):
            self.add(path, "must be a string")
            return None
        value = str(value)
        if len(value) > max_len:
            self.add(path, f"at most {max_len} characters")
            return None
        return value

    def whole(
        self, data: dict, key: str, path: str | None = None, *, low: int, high: int, required: bool = True
    ) -> int | None:
        """A whole number from `low` to `high`: a JSON integer or a string of ASCII digits."""
        path = path or key
        value = self._given(data, key, path, required)
        if value is None:
            return None
        number = b.whole_number(value)
        if number is None:
            if isinstance(value, b.Oversized):
                self.add(path, f"is a number of more than {b.NUMBER_TEXT_MAX} characters")
            else:
                self.add(path, "must be a whole number")
            return None
        if number < low:
            self.add(path, f"must be at least {low:,}")
            return None
        if number > high:
            self.add(path, f"must be at most {high:,}")
            return None
        return number

    def money(self, data: dict, key: str, path: str) -> float | None:
        """An amount from 0 to 9,999,999,999.99 with at most 2 decimal places (a JSON number or
        a decimal string), as the float the API answers with."""
        value = self._given(data, key, path, True)
        if value is None:
            return None
        if type(value) is float and 0 <= value <= MONEY_MAX_FLOAT and round(value, b.MONEY_PLACES) == value:
            return value  # the usual case, without a Decimal (NaN fails the comparisons)
        text = b.decimal_text(value)
        if text is None:
            self.add(path, "must be a number")
            return None
        amount = Decimal(text)
        if amount < 0:
            self.add(path, "must be zero or more")
        elif amount > MONEY_MAX:
            self.add(path, f"must be at most {MONEY_MAX:,}")
        elif amount != amount.quantize(CENT):
            self.add(path, f"at most {b.MONEY_PLACES} decimal places")
        else:
            return float(amount)
        return None

    def moment(self, data: dict, key: str, path: str | None = None, *, required: bool = False) -> str | None:
        """An ISO 8601 date and time in the years 1900-2200 (in UTC too, where it has an offset)."""
        path = path or key
        value = self._given(data, key, path, required)
        if value is None:
            return None
        when = None
        if isinstance(value, str) and len(value) <= b.DATETIME_TEXT:
            with contextlib.suppress(ValueError):
                when = datetime.fromisoformat(value)
        if when is None:
            self.add(path, "must be an ISO 8601 date and time")
            return None
        years = [when.year]
        if when.tzinfo is not None and b.YEAR_MIN <= when.year <= b.YEAR_MAX:
            years.append(when.astimezone(UTC).year)
        if not all(b.YEAR_MIN <= year <= b.YEAR_MAX for year in years):
            self.add(path, f"must be in the years {b.YEAR_MIN} to {b.YEAR_MAX}")
            return None
        return value

    def objects(self, data: dict, key: str, *, most: int, what: str) -> list[tuple[int, dict]]:
        """The objects of a non-empty list of at most `most` objects, with their positions. A
        longer list is refused as a whole, before any of its items is looked at."""
        items = data.get(key)
        if not isinstance(items, list) or not items:
            self.add(key, f"at least one {what} is required")
            return []
        if len(items) > most:
            self.add(key, f"at most {most} {what}s")
            return []
        good = []
        for i, item in enumerate(items):
            if isinstance(item, dict):
                good.append((i, item))
            else:
                self.add(f"{key}.{i}", "must be an object")
        return good

    def raise_if_any(self) -> None:
        if self.errors:
            raise Invalid(self.errors)


class Sandbox:
    """The upstream's behaviour over a Store."""

    def __init__(self, store):
        self.store = store
        self.step_count = 0

    # -- writes ------------------------------------------------------------------------------
    def create_order(self, token: str, data: Any) -> dict:
        data = _as_object(data)
        org = self.store.org(token)
        e = Errors()
        e.whole(data, "organization_id", low=b.ID_MIN, high=b.ID_MAX, required=False)
        e.text(data, "purchase_order", max_len=b.ORDER_NUMBER)
        customer_order = e.text(data, "customer_order", max_len=b.ORDER_NUMBER)
        for key, size in ORDER_TEXTS.items():
            e.text(data, key, max_len=size, required=False)
        e.moment(data, "end_user_order_dt")
        method_id = e.whole(data, "ship_method_id", low=b.ID_MIN, high=b.ID_MAX)
        method = self.store.get(token, "ship_methods", method_id) if method_id is not None else None
        if method_id is not None and method is None:
            e.add("ship_method_id", f"unknown ship method {method_id}")
        countries = {c["iso_code"] for c in map(json.loads, self.store.iter_bodies(token, "countries"))}
        parties = {}
        for part in ("recipient", "importer_of_record"):
            p = data.get(part)
            if not isinstance(p, dict):
                e.add(part, "This field is required." if p is None else "must be an object")
                continue
            for key in PARTY_REQUIRED + PARTY_OPTIONAL:
                size = b.ADDRESS_LINE if key.startswith("address") else b.COUNTRY_CODE if key == "country" else b.NAME
                value = e.text(p, key, f"{part}.{key}", max_len=size, required=key in PARTY_REQUIRED)
                if key == "country" and value is not None and value.upper() not in countries:
                    e.add(f"{part}.country", f"unknown country ISO code {value}")
            parties[part] = {k: p[k] for k in PARTY_REQUIRED + PARTY_OPTIONAL if k in p}
        lines = []
        for i, ln in e.objects(data, "lines", most=b.LINES_MAX, what="line"):
            e.text(ln, "product_code", f"lines.{i}.product_code", max_len=b.CODE)
            quantity = e.whole(ln, "quantity", f"lines.{i}.quantity", low=b.QUANTITY_MIN, high=b.QUANTITY_MAX)
            amount = e.money(ln, "customs_declared_value", f"lines.{i}.customs_declared_value")
            lines.append(
                {"product_code": ln.get("product_code"), "quantity": quantity, "customs_declared_value": amount}
            )
        e.raise_if_any()
        assert method is not None  # required: raise_if_any() refused its absence  # nosec B101  # narrows the type for mypy; guards nothing
        with self.store.write() as conn:
            existing = self.store.find(token, "customer_order_submissions", customer_order)
            if existing:
                raise Duplicate({"customer_order": [f"an order {customer_order} exists already"]}, existing[0])
            id_ = self.store.next_id(conn, token, "customer_order_submissions", floor=250000)
            stamp = now_iso()
            order = {
                "id": id_,
                "organization_id": org["organization_id"],
                "purchase_order": data["purchase_order"],
                "ship_method_id": method_id,
                "ship_method": method["name"],
                "ship_account": data.get("ship_account"),
                "end_user_po": data.get("end_user_po"),
                "end_user_name": data.get("end_user_name"),
                "end_user_order_dt": data.get("end_user_order_dt"),
                "customer_order": customer_order,
                "notes": data.get("notes") or "",
                "customer_rma_case": data.get("customer_rma_case") or "",
                "recipient": parties["recipient"],
                "importer_of_record": parties["importer_of_record"],
                "duties_and_taxes_account": data.get("duties_and_taxes_account"),
                "status": "Pending",
                "lines": [dict(ln, serial_numbers=[]) for ln in lines],
                "created_at": stamp,
                "updated_at": stamp,
            }
            self.store.save(conn, token, "customer_order_submissions", order, ref=customer_order, created_via="api")
        return order

    def create_rma(self, token: str, data: Any) -> dict:
        data = _as_object(data)
        org = self.store.org(token)
        e = Errors()
        problem = e.text(data, "problem", max_len=b.TEXT)
        request_type = e.whole(data, "request_type_id", low=b.ID_MIN, high=b.ID_MAX)
        if request_type is not None and request_type not in REQUEST_TYPES:
            e.add("request_type_id", "must be one of 1, 2, 3, 4, 5")
        serial = e.text(data, "manufacturer_serial", max_len=b.RMA_SERIAL)
        e.text(data, "replacement_name", max_len=b.SHORT_TEXT)
        e.text(data, "replacement_phone", max_len=b.SHORT_TEXT, required=False)
        e.text(data, "replacement_addr", max_len=b.TEXT, required=False)
        e.raise_if_any()
        assert request_type is not None  # required: raise_if_any() refused its absence  # nosec B101  # narrows the type for mypy; guards nothing
        with self.store.write() as conn:
            id_ = self.store.next_id(conn, token, "rmas", floor=50000)
            stamp = now_iso()
            order_id, item = self._shipped_with(conn, token, serial)
            rma = {
                "id": id_,
                "subject": REQUEST_TYPES[request_type],
                "organization_id": org["organization_id"],
                "order_id": order_id,
                "repair_order_id": None,
                "replacement_order_id": None,
                "manufacturer_serial": serial,
                "start_date": stamp[:10],
                "closed_date": None,
                "item": item,
                "status": {"id": 1, "name": "Not Received"},
                "request_type_id": request_type,
                "replacement_name": data.get("replacement_name"),
                "replacement_phone": data.get("replacement_phone"),
                "replacement_addr": data.get("replacement_addr"),
                "lines": [],
                "problems": [{"id": id_ * 10 + 1, "message": problem, "created_at": stamp, "updated_at": stamp}],
                "troubleshootings": [],
                "results": [],
            }
            self.store.save(conn, token, "rmas", rma, ref=serial, tag="open", created_via="api")
        return rma

    def _shipped_with(self, conn, token: str, serial: str | None) -> tuple[int | None, dict]:
        """The organization's latest order that shipped `serial` and the item it shipped as, as an
        integrator fills them on a new RMA: the order's id, and the item (name, description,
        category) of the line's product code where the catalog knows it; (None, empty item)
        otherwise. Stored orders are read defensively (one stored before the bounds may hold
        anything); a cheap text search of the stored JSON picks the candidates."""
        item: dict[str, Any] = {"id": None, "name": None, "description": None, "category": {"id": None, "name": None}}
        if not serial:
            return None, item
        rows = conn.execute(
            "SELECT body FROM rows WHERE token=? AND collection='customer_order_submissions' AND instr(body, ?) > 0 "
            "ORDER BY id DESC",
            (token, json.dumps(serial)),
        ).fetchall()
        for (body,) in rows:
            order = json.loads(body)
            lines = order.get("lines") if isinstance(order, dict) else None
            for line in lines if isinstance(lines, list) else []:
                serials = line.get("serial_numbers") if isinstance(line, dict) else None
                if isinstance(serials, list) and serial in serials:
                    return _int_or_none(order.get("id")), self._item_of(token, line.get("product_code")) or item
        return None, item

    def _item_of(self, token: str, product_code: Any) -> dict | None:
        """The item a catalog product code stands for, in an RMA's shape; None when unknown."""
        if not isinstance(product_code, str) or not product_code:
            return None
        catalog = [c for c in self.store.find(token, "customer_catalog_items", product_code) if isinstance(c, dict)]
        item_id = _int_or_none(catalog[-1].get("item_id")) if catalog else None
        found = self.store.get(token, "items", item_id) if item_id is not None else None
        if not isinstance(found, dict):
            return None
        category_id = _int_or_none(found.get("item_category_id"))
        return {
            "id": item_id,
            "name": found.get("name"),
            "description": found.get("description"),
            "category": {"id": category_id, "name": dict(CATEGORIES).get(category_id) if category_id else None},
        }

    def create_queue(self, token: str, data: Any) -> dict:
        data = _as_object(data)
        e = Errors()
        serial = e.text(data, "manufacturer_serial", max_len=b.SERIAL)
        ip = e.text(data, "ip_address", max_len=b.IP_ADDRESS)
        known = {json.loads(body)["id"] for body in self.store.iter_bodies(token, "automation_task_types")}
        seen: set[int] = set()
        tasks = []
        for i, task in e.objects(data, "automation_tasks", most=b.TASKS_MAX, what="task"):
            path = f"automation_tasks.{i}"
            type_id = e.whole(task, "task_type_id", f"{path}.task_type_id", low=b.ID_MIN, high=b.ID_MAX)
            if type_id is not None and type_id not in known:
                e.add(f"{path}.task_type_id", f"unknown task type {type_id}")
            seq = e.whole(task, "sequence", f"{path}.sequence", low=b.SEQUENCE_MIN, high=b.SEQUENCE_MAX)
            if seq is not None:
                if seq in seen:
                    e.add(f"{path}.sequence", "must be unique per queue")
                seen.add(seq)
            assignee = e.whole(task, "assignee_id", f"{path}.assignee_id", low=b.ID_MIN, high=b.ID_MAX, required=False)
            tasks.append((type_id, seq, assignee))
        e.raise_if_any()
        org = self.store.org(token)
        with self.store.write() as conn:
            qid = self.store.next_id(conn, token, "automation_queues", floor=90000)
            queue = {
                "id": qid,
                "serial_id": qid * 10,
                "work_order_id": None,
                "finished": False,
                "ip_address": ip,
                "manufacturer_serial": serial,
            }
            self.store.save(conn, token, "automation_queues", queue, ref=serial, created_via="api")
            for type_id, seq, assignee in tasks:
                tid = self.store.next_id(conn, token, "automation_tasks", floor=5_000_000)
                row = {
                    "id": tid,
                    "automation_queue_id": qid,
                    "automation_task_type_id": type_id,
                    "sequence": seq,
                    "started_at": None,
                    "completed_at": None,
                    "failed": False,
                    "message": "",
                    "assignee_id": assignee,
                    "assignee_name": org["name"] if assignee else None,
                    "work_order_id": None,
                    "serial_id": queue["serial_id"],
                    "item_id": None,
                    "manufacturer_serial": serial,
                }
                self.store.save(conn, token, "automation_tasks", row, ref=f"{serial}:{seq}", created_via="api")
        return {k: queue[k] for k in ("id", "serial_id", "work_order_id", "finished", "ip_address")}

    def update_task(self, token: str, data: Any) -> dict:
        data = _as_object(data)
        e = Errors()
        serial = e.text(data, "manufacturer_serial", max_len=b.SERIAL)
        kind = e.text(data, "message_type", max_len=b.NAME)
        if kind is not None and kind not in MESSAGE_TYPES:
            e.add("message_type", "must be one of start, complete, fail, notify")
        message = e.text(data, "message", max_len=b.SHORT_TEXT, required=False)
        seq = e.whole(data, "sequence", low=b.SEQUENCE_MIN, high=b.SEQUENCE_MAX)
        e.text(data, "ip_address", max_len=b.IP_ADDRESS)
        e.raise_if_any()
        assert kind is not None  # required: raise_if_any() refused its absence  # nosec B101  # narrows the type for mypy; guards nothing
        with self.store.write() as conn:
            candidates = [t for t in self.store.find(token, "automation_tasks", f"{serial}:{seq}") if not t["failed"]]
            if not candidates:
                raise Invalid({"sequence": [f"no task with sequence {seq} for serial {serial}"]})
            task = candidates[-1]
            return self._apply_task(conn, token, task, kind, message)

    def _apply_task(self, conn, token: str, task: dict, kind: str, message: str | None) -> dict:
        stamp = now_iso()
        if message is not None:
            task["message"] = message
        if kind == "start":
            task["started_at"] = task["started_at"] or stamp
        elif kind == "complete":
            task["started_at"] = task["started_at"] or stamp
            task["completed_at"] = stamp
        elif kind == "fail":
            task["failed"] = True
            task["completed_at"] = stamp
            retry = dict(
                task,
                id=self.store.next_id(conn, token, "automation_tasks", floor=5_000_000),
                started_at=None,
                completed_at=None,
                failed=False,
                message="",
            )
            self.store.save(
                conn,
                token,
                "automation_tasks",
                retry,
                ref=f"{task['manufacturer_serial']}:{task['sequence']}",
                created_via="api",
            )
        self.store.save(conn, token, "automation_tasks", task, ref=f"{task['manufacturer_serial']}:{task['sequence']}")
        self._finish_queue_if_done(conn, token, task["automation_queue_id"])
        return {k: task.get(k) for k in TASK_FIELDS}

    def _finish_queue_if_done(self, conn, token: str, queue_id: int) -> None:
        queue = self.store.get(token, "automation_queues", queue_id)
        if queue is None or queue["finished"]:
            return
        rows = conn.execute(
            "SELECT body FROM rows WHERE token=? AND collection='automation_tasks' AND ref LIKE ?",
            (token, f"{queue['manufacturer_serial']}:%"),
        ).fetchall()
        tasks = [json.loads(r[0]) for r in rows]
        live = [t for t in tasks if t["automation_queue_id"] == queue_id and not t["failed"]]
        if live and all(t["completed_at"] for t in live):
            queue["finished"] = True
            self.store.save(conn, token, "automation_queues", queue, ref=queue["manufacturer_serial"])

    def create_serial_datum(self, token: str, data: Any) -> dict:
        data = _as_object(data)
        e = Errors()
        serial = e.text(data, "manufacturer_serial", max_len=b.SERIAL)
        type_id = e.whole(data, "serial_data_type_id", low=b.ID_MIN, high=b.ID_MAX)
        metadata = e.text(data, "metadata", max_len=b.SHORT_TEXT, required=False)
        value = e.text(data, "value", max_len=b.SHORT_TEXT)
        e.raise_if_any()
        with self.store.write() as conn:
            id_ = self.store.next_id(conn, token, "serial_data", floor=650000)
            row = {
                "id": id_,
                "manufacturer_serial": serial,
                "serial_data_type_id": type_id,
                "metadata": metadata,
                "value": value,
            }
            self.store.save(conn, token, "serial_data", row, created_via="api")
        return row

    # -- time ------------------------------------------------------------------------------
    def set_order_status(self, token: str, order_id: int, status: str) -> dict:
        with self.store.write() as conn:
            order = self.store.get(token, "customer_order_submissions", order_id)
            if order is None:
                raise Missing(order_id)
            self._order_to(conn, token, order, status)
        return order

    def _order_to(self, conn, token: str, order: dict, status: str) -> None:
        status = status.capitalize()
        order["status"] = status
        order["updated_at"] = now_iso()
        if status == "Shipped" and not order.get("tracking_numbers"):
            self._ship(conn, token, order)
        self.store.save(conn, token, "customer_order_submissions", order, ref=order["customer_order"])
        org = self.store.org(token)
        if org and org["webhook_url"]:
            self.store.enqueue_webhook(conn, token, org["webhook_url"], dumps(order))

    def _ship(self, conn, token: str, order: dict) -> None:
        """Serial numbers, an invoice and a tracking number for an order that ships.

        An order stored before the bounds may hold anything, so this reads its lines
        defensively: a quantity that is not a whole number counts as none, and the serial
        numbers stop at SERIALS_PER_ORDER_MAX (shared out between the lines, see serial_shares)
        with a warning in the log."""
        lines = order.get("lines")
        lines = [ln for ln in lines if isinstance(ln, dict)] if isinstance(lines, list) else []
        units = [_units(ln.get("quantity")) for ln in lines]
        shares = serial_shares(units, b.SERIALS_PER_ORDER_MAX)
        if shares != units:
            log.warning(
                "order %s has %s units: shipped with the first %s serial numbers only (at most %s per order)",
                order.get("id"),
                f"{sum(units):,}",
                f"{sum(shares):,}",
                f"{b.SERIALS_PER_ORDER_MAX:,}",
            )
        for n, (line, count) in enumerate(zip(lines, shares, strict=True)):
            line["serial_numbers"] = [f"SN{order['id']}{n}{k:02d}" for k in range(count)]
        total = sum(u * _amount(ln.get("customs_declared_value")) for u, ln in zip(units, lines, strict=True))
        inv_id = self.store.next_id(conn, token, "invoices", floor=750000)
        rng = random.Random(order["id"])  # nosec B311  # fake tracking numbers, seeded
        order["invoices"] = [{"invoice_number": inv_id}]
        order["tracking_numbers"] = [
            {"tracking_number": f"1Z{order['id']:08d}{rng.randint(10, 99)}", "weight": max(1, sum(units) * 4)}
        ]
        self.store.save(
            conn,
            token,
            "invoices",
            {
                "id": inv_id,
                "order_id": order["id"],
                "billed_at": order["updated_at"],
                "total": round(total, 2) if math.isfinite(total) else None,
                "created_at": order["updated_at"],
                "updated_at": order["updated_at"],
            },
        )

    def step(self) -> dict[str, int]:
        """Move every organization's open orders, RMAs and automation tasks one step along.

        Each row moves in a savepoint of its own: one that cannot move (a broken stored row) is
        logged and left as it was, and the others still move."""
        self.step_count += 1
        moved = {"orders": 0, "rmas": 0, "tasks": 0}
        for token in self.store.tokens():
            with self.store.write() as conn:
                rows = conn.execute(
                    "SELECT id, body FROM rows WHERE token=? AND collection='customer_order_submissions' "
                    "AND created_via='api'",
                    (token,),
                ).fetchall()
                for id_, body in rows:
                    if _one_row(conn, f"order {id_}", self._advance_order, conn, token, body):
                        moved["orders"] += 1
                rows = conn.execute(
                    "SELECT id, body, created_via FROM rows WHERE token=? AND collection='rmas' AND tag='open'",
                    (token,),
                ).fetchall()
                for id_, body, via in rows:
                    if via != "api" and (id_ + self.step_count) % 5:
                        continue  # seeded RMAs move slowly
                    if _one_row(conn, f"RMA {id_}", self._advance_rma, conn, token, body):
                        moved["rmas"] += 1
                rows = conn.execute(
                    "SELECT id, body FROM rows WHERE token=? AND collection='automation_tasks' AND "
                    "json_extract(body, '$.completed_at') IS NULL AND json_extract(body, '$.failed') = 0 "
                    "ORDER BY id LIMIT 50",
                    (token,),
                ).fetchall()
                for id_, body in rows:
                    if _one_row(conn, f"automation task {id_}", self._advance_task, conn, token, body):
                        moved["tasks"] += 1
        return moved

    def _advance_order(self, conn, token: str, body: str) -> bool:
        order = json.loads(body)
        nxt = ORDER_FLOW.get(str(order.get("status")).lower())
        if nxt:
            self._order_to(conn, token, order, nxt)
        return nxt is not None

    def _advance_task(self, conn, token: str, body: str) -> bool:
        task = json.loads(body)
        if task["started_at"] is None:
            self._apply_task(conn, token, task, "start", "started")
        elif (task["id"] + self.step_count) % 19 == 0:
            self._apply_task(conn, token, task, "fail", "failed: retrying")
        else:
            self._apply_task(conn, token, task, "complete", "passed")
        return True

    def _advance_rma(self, conn, token: str, body: str) -> None:
        rma = json.loads(body)
        stamp = now_iso()
        nxt = min(rma["status"]["id"] + 1, 5)
        rma["status"] = {"id": nxt, "name": dict(RMA_STATUSES)[nxt]}
        if nxt == 3:
            rma["troubleshootings"].append(
                {
                    "id": rma["id"] * 10 + 3,
                    "message": "Bench test reproduced the fault.",
                    "created_at": stamp,
                    "updated_at": stamp,
                }
            )
            rma["repair_order_id"] = rma["id"] + 100000
        if nxt == 4:
            rma["results"].append(
                {
                    "id": rma["id"] * 10 + 4,
                    "message": "Replaced the faulty part; passed burn-in.",
                    "created_at": stamp,
                    "updated_at": stamp,
                }
            )
        if nxt == 5:
            rma["closed_date"] = stamp[:10]
        self.store.save(conn, token, "rmas", rma, ref=rma["manufacturer_serial"], tag="closed" if nxt == 5 else "open")


def _one_row(conn: sqlite3.Connection, what: str, move: Callable[..., bool | None], *args: Any) -> bool:
    """Whether `move(*args)` moved the row, run in a savepoint: on any error it is rolled back
    and logged, and the answer is False."""
    conn.execute("SAVEPOINT one_row")
    try:
        moved = move(*args) is not False
    except Exception:
        conn.execute("ROLLBACK TO one_row")
        log.exception("could not move %s along; left as it was", what)
        return False
    finally:
        conn.execute("RELEASE one_row")
    return moved


def _int_or_none(value: Any) -> int | None:
    """A stored id as an int (a JSON integer or a string of digits within 64 bits), else None."""
    number = b.whole_number(value)
    return number if number is not None and b.ID_MIN <= number <= b.ID_MAX else None


def _units(quantity: Any) -> int:
    """A stored line's quantity as a count of units: 0 for what is not a whole number, and at
    most 2^63-1 (an order stored before the bounds may say anything)."""
    number = b.whole_number(quantity)
    return 0 if number is None else max(0, min(number, b.ID_MAX))


def _amount(value: Any) -> float:
    """A stored line's unit value as a finite float (0 for anything else)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return 0.0
    amount = float(value)
    return amount if math.isfinite(amount) else 0.0


def serial_shares(units: list[int], budget: int) -> list[int]:
    """How many serial numbers each line gets when an order ships: every unit's, when the order
    has at most `budget` units; otherwise `budget` shared out so that no line gets more than an
    equal share of what the smaller lines leave (a line of 3 next to one of 2^63-1 keeps its 3,
    the large line gets the rest)."""
    if sum(units) <= budget:
        return list(units)
    shares = [0] * len(units)
    left = budget
    by_size = sorted(range(len(units)), key=lambda i: (units[i], -i))  # an earlier line gets any odd one
    for rank, i in enumerate(by_size):
        shares[i] = min(units[i], left // (len(by_size) - rank))
        left -= shares[i]
    return shares
