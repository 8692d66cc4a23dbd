"""What the sandbox upstream does: validate and apply writes, and move things along over time.

Validation answers like the vendor docs say, as {"errors": {"dotted.path": ["message"]}}.
"""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime

from .seed import RMA_STATUSES, dumps

ORDER_FLOW = {"pending": "Released", "released": "Shipped"}
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


class Errors:
    def __init__(self):
        self.errors: dict[str, list[str]] = {}

    def add(self, path: str, message: str) -> None:
        self.errors.setdefault(path, []).append(message)

    def required_str(
        self, data: dict, key: str, path: str | None = None, max_len: int | None = None, required: bool = True
    ) -> str | None:
        path = path or key
        value = data.get(key) if isinstance(data, dict) else None
        if value is None or (isinstance(value, str) and not value.strip()):
            if required:
                self.add(path, "This field is required.")
            return None
        if not isinstance(value, (str, int)):
            self.add(path, "must be a string")
            return None
        value = str(value)
        if max_len and len(value) > max_len:
            self.add(path, f"at most {max_len} characters")
        return value

    def integer(
        self, data: dict, key: str, path: str | None = None, *, minimum: int | None = None, required: bool = True
    ) -> int | None:
        path = path or key
        value = data.get(key) if isinstance(data, dict) else None
        if value is None or value == "":
            if required:
                self.add(path, "This field is required.")
            return None
        if isinstance(value, bool) or not (isinstance(value, int) or (isinstance(value, str) and value.isdigit())):
            self.add(path, "must be a whole number")
            return None
        value = int(value)
        if minimum is not None and value < minimum:
            self.add(path, f"must be at least {minimum}")
        return value

    def raise_if_any(self) -> None:
        if self.errors:
            raise Invalid(self.errors)


class Sandbox:
    """The upstream's behaviour over a Store."""

    def __init__(self, store):
        self.store = store
        self.step_count = 0

    # -- writes ------------------------------------------------------------------------------
    def create_order(self, token: str, data: dict) -> dict:
        org = self.store.org(token)
        e = Errors()
        if not isinstance(data, dict):
            raise Invalid({"body": ["must be a JSON object"]})
        e.required_str(data, "purchase_order", max_len=100)
        customer_order = e.required_str(data, "customer_order", max_len=100)
        method_id = e.integer(data, "ship_method_id", minimum=1)
        method = self.store.get(token, "ship_methods", method_id) if method_id else None
        if method_id and method is None:
            e.add("ship_method_id", f"unknown ship method {method_id}")
        countries = {c["iso_code"] for c in map(json.loads, self.store.iter_bodies(token, "countries"))}
        for part in ("recipient", "importer_of_record"):
            p = data.get(part)
            if not isinstance(p, dict):
                e.add(part, "This field is required.")
                continue
            for key in ("name", "phone", "address_1", "city", "zip", "country"):
                e.required_str(p, key, f"{part}.{key}", max_len=35 if key.startswith("address") else 255)
            for key in ("company", "email", "state", "address_2", "address_3"):
                e.required_str(
                    p, key, f"{part}.{key}", max_len=35 if key.startswith("address") else 255, required=False
                )
            if p.get("country") and str(p["country"]).upper() not in countries:
                e.add(f"{part}.country", f"unknown country ISO code {p['country']}")
        lines = data.get("lines")
        if not isinstance(lines, list) or not lines:
            e.add("lines", "at least one line is required")
            lines = []
        for i, line in enumerate(lines):
            if not isinstance(line, dict):
                e.add(f"lines.{i}", "must be an object")
                continue
            e.required_str(line, "product_code", f"lines.{i}.product_code", max_len=100)
            e.integer(line, "quantity", f"lines.{i}.quantity", minimum=1)
            value = line.get("customs_declared_value")
            try:
                if value is None or float(value) < 0:
                    e.add(f"lines.{i}.customs_declared_value", "must be zero or more")
            except (TypeError, ValueError):
                e.add(f"lines.{i}.customs_declared_value", "must be a number")
        e.raise_if_any()
        assert method is not None  # required: raise_if_any() refused its absence
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
                "recipient": data["recipient"],
                "importer_of_record": data["importer_of_record"],
                "duties_and_taxes_account": data.get("duties_and_taxes_account"),
                "status": "Pending",
                "lines": [
                    {
                        "product_code": ln["product_code"],
                        "quantity": int(ln["quantity"]),
                        "customs_declared_value": float(ln["customs_declared_value"]),
                        "serial_numbers": [],
                    }
                    for ln in lines
                ],
                "created_at": stamp,
                "updated_at": stamp,
            }
            self.store.save(conn, token, "customer_order_submissions", order, ref=customer_order, created_via="api")
        return order

    def create_rma(self, token: str, data: dict) -> dict:
        org = self.store.org(token)
        e = Errors()
        if not isinstance(data, dict):
            raise Invalid({"body": ["must be a JSON object"]})
        problem = e.required_str(data, "problem")
        request_type = e.integer(data, "request_type_id")
        if request_type is not None and request_type not in REQUEST_TYPES:
            e.add("request_type_id", "must be one of 1, 2, 3, 4, 5")
        serial = e.required_str(data, "manufacturer_serial", max_len=50)
        e.required_str(data, "replacement_name", max_len=256)
        e.required_str(data, "replacement_phone", max_len=256, required=False)
        e.raise_if_any()
        assert request_type is not None  # required: raise_if_any() refused its absence
        with self.store.write() as conn:
            id_ = self.store.next_id(conn, token, "rmas", floor=50000)
            stamp = now_iso()
            rma = {
                "id": id_,
                "subject": REQUEST_TYPES[request_type],
                "organization_id": org["organization_id"],
                "order_id": None,
                "repair_order_id": None,
                "replacement_order_id": None,
                "manufacturer_serial": serial,
                "start_date": stamp[:10],
                "closed_date": None,
                "item": {"id": None, "name": None, "description": None, "category": {"id": None, "name": None}},
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

    def create_queue(self, token: str, data: dict) -> dict:
        e = Errors()
        if not isinstance(data, dict):
            raise Invalid({"body": ["must be a JSON object"]})
        serial = e.required_str(data, "manufacturer_serial", max_len=256)
        ip = e.required_str(data, "ip_address", max_len=255)
        tasks = data.get("automation_tasks")
        if not isinstance(tasks, list) or not tasks:
            e.add("automation_tasks", "at least one task is required")
            tasks = []
        known = {json.loads(b)["id"] for b in self.store.iter_bodies(token, "automation_task_types")}
        seen: set[int] = set()
        for i, task in enumerate(tasks):
            if not isinstance(task, dict):
                e.add(f"automation_tasks.{i}", "must be an object")
                continue
            type_id = e.integer(task, "task_type_id", f"automation_tasks.{i}.task_type_id")
            if type_id is not None and type_id not in known:
                e.add(f"automation_tasks.{i}.task_type_id", f"unknown task type {type_id}")
            seq = e.integer(task, "sequence", f"automation_tasks.{i}.sequence", minimum=0)
            if seq is not None:
                if seq in seen:
                    e.add(f"automation_tasks.{i}.sequence", "must be unique per queue")
                seen.add(seq)
            e.integer(task, "assignee_id", f"automation_tasks.{i}.assignee_id", required=False)
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
            for task in tasks:
                tid = self.store.next_id(conn, token, "automation_tasks", floor=5_000_000)
                row = {
                    "id": tid,
                    "automation_queue_id": qid,
                    "automation_task_type_id": int(task["task_type_id"]),
                    "sequence": int(task["sequence"]),
                    "started_at": None,
                    "completed_at": None,
                    "failed": False,
                    "message": "",
                    "assignee_id": task.get("assignee_id"),
                    "assignee_name": org["name"] if task.get("assignee_id") else None,
                    "work_order_id": None,
                    "serial_id": queue["serial_id"],
                    "item_id": None,
                    "manufacturer_serial": serial,
                }
                self.store.save(
                    conn, token, "automation_tasks", row, ref=f"{serial}:{row['sequence']}", created_via="api"
                )
        return {k: queue[k] for k in ("id", "serial_id", "work_order_id", "finished", "ip_address")}

    def update_task(self, token: str, data: dict) -> dict:
        e = Errors()
        if not isinstance(data, dict):
            raise Invalid({"body": ["must be a JSON object"]})
        serial = e.required_str(data, "manufacturer_serial", max_len=256)
        kind = e.required_str(data, "message_type")
        if kind and kind not in MESSAGE_TYPES:
            e.add("message_type", "must be one of start, complete, fail, notify")
        message = e.required_str(data, "message", max_len=256, required=False)
        seq = e.integer(data, "sequence", minimum=0)
        e.required_str(data, "ip_address", max_len=255)
        e.raise_if_any()
        assert kind is not None  # required: raise_if_any() refused its absence
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

    def create_serial_datum(self, token: str, data: dict) -> dict:
        e = Errors()
        if not isinstance(data, dict):
            raise Invalid({"body": ["must be a JSON object"]})
        serial = e.required_str(data, "manufacturer_serial", max_len=256)
        type_id = e.integer(data, "serial_data_type_id", minimum=1)
        metadata = e.required_str(data, "metadata", max_len=256, required=False)
        value = e.required_str(data, "value", max_len=256)
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
            rng = random.Random(order["id"])
            for n, line in enumerate(order["lines"]):
                line["serial_numbers"] = [f"SN{order['id']}{n}{k:02d}" for k in range(int(line["quantity"]))]
            inv_id = self.store.next_id(conn, token, "invoices", floor=750000)
            total = round(sum(ln["quantity"] * ln["customs_declared_value"] for ln in order["lines"]), 2)
            order["invoices"] = [{"invoice_number": inv_id}]
            order["tracking_numbers"] = [
                {
                    "tracking_number": f"1Z{order['id']:08d}{rng.randint(10, 99)}",
                    "weight": max(1, sum(ln["quantity"] for ln in order["lines"]) * 4),
                }
            ]
            self.store.save(
                conn,
                token,
                "invoices",
                {
                    "id": inv_id,
                    "order_id": order["id"],
                    "billed_at": order["updated_at"],
                    "total": total,
                    "created_at": order["updated_at"],
                    "updated_at": order["updated_at"],
                },
            )
        self.store.save(conn, token, "customer_order_submissions", order, ref=order["customer_order"])
        org = self.store.org(token)
        if org and org["webhook_url"]:
            self.store.enqueue_webhook(conn, token, org["webhook_url"], dumps(order))

    def step(self) -> dict[str, int]:
        """Move every organization's open orders, RMAs and automation tasks one step along."""
        self.step_count += 1
        moved = {"orders": 0, "rmas": 0, "tasks": 0}
        for token in self.store.tokens():
            with self.store.write() as conn:
                rows = conn.execute(
                    "SELECT body FROM rows WHERE token=? AND collection='customer_order_submissions' "
                    "AND created_via='api'",
                    (token,),
                ).fetchall()
                for (body,) in rows:
                    order = json.loads(body)
                    nxt = ORDER_FLOW.get(str(order["status"]).lower())
                    if nxt:
                        self._order_to(conn, token, order, nxt)
                        moved["orders"] += 1
                rows = conn.execute(
                    "SELECT body, created_via FROM rows WHERE token=? AND collection='rmas' AND tag='open'", (token,)
                ).fetchall()
                for body, via in rows:
                    rma = json.loads(body)
                    if via != "api" and (rma["id"] + self.step_count) % 5:
                        continue  # seeded RMAs move slowly
                    self._advance_rma(conn, token, rma)
                    moved["rmas"] += 1
                rows = conn.execute(
                    "SELECT body FROM rows WHERE token=? AND collection='automation_tasks' AND "
                    "json_extract(body, '$.completed_at') IS NULL AND json_extract(body, '$.failed') = 0 "
                    "ORDER BY id LIMIT 50",
                    (token,),
                ).fetchall()
                for (body,) in rows:
                    task = json.loads(body)
                    if task["started_at"] is None:
                        self._apply_task(conn, token, task, "start", "started")
                    elif (task["id"] + self.step_count) % 19 == 0:
                        self._apply_task(conn, token, task, "fail", "failed: retrying")
                    else:
                        self._apply_task(conn, token, task, "complete", "passed")
                    moved["tasks"] += 1
        return moved

    def _advance_rma(self, conn, token: str, rma: dict) -> None:
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
