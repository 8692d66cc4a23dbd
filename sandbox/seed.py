"""Deterministic, realistic seed data for one organization of the sandbox.

The same (token, scale) always gives the same rows. Scale 1 gives a few hundred rows per
collection; counts grow linearly with the scale (scale 334 is about 100,000 inventory rows,
invoices and automation tasks). Rows are written with executemany from precomputed JSON.
The data deliberately shows what the vendor examples show: numbers sent as strings, null
optionals, status names in varied letter case and an unknown extra field now and then.
"""

from __future__ import annotations

import json
import random
import zlib
from datetime import UTC, datetime, timedelta
from typing import Any

COUNTRIES = [
    ("CA", "Canada"),
    ("US", "United States"),
    ("MX", "Mexico"),
    ("GB", "United Kingdom"),
    ("IE", "Ireland"),
    ("DE", "Germany"),
    ("FR", "France"),
    ("NL", "Netherlands"),
    ("BE", "Belgium"),
    ("ES", "Spain"),
    ("IT", "Italy"),
    ("SE", "Sweden"),
    ("NO", "Norway"),
    ("DK", "Denmark"),
    ("FI", "Finland"),
    ("PL", "Poland"),
    ("CH", "Switzerland"),
    ("AT", "Austria"),
    ("AU", "Australia"),
    ("NZ", "New Zealand"),
    ("JP", "Japan"),
    ("SG", "Singapore"),
    ("IN", "India"),
    ("BR", "Brazil"),
    ("JE", "Jersey"),
    ("AS", "American Samoa"),
    ("KR", "South Korea"),
    ("IL", "Israel"),
    ("ZA", "South Africa"),
    ("AE", "United Arab Emirates"),
]
SHIP_METHODS = [
    (12, "FedEx Ground", "Ground, 1-5 business days", "FedEx"),
    (13, "FedEx 2Day", "Two business days", "FedEx"),
    (14, "FedEx Priority Overnight", "Next business day by 10:30", "FedEx"),
    (24, "FedEx Ground Canada", "Ground within Canada", "FedEx"),
    (31, "UPS Ground", "Ground, 1-5 business days", "UPS"),
    (32, "UPS Next Day Air", "Next business day", "UPS"),
    (40, "DHL Express Worldwide", "International express", "DHL"),
    (50, "Customer Pickup", "Collected at the integrator's dock", "None"),
]
TASK_TYPES = [
    (1, "Burn-In", "Stress CPU, memory and disks"),
    (2, "Run-In", "Extended run-in test"),
    (3, "Firmware Update", "BIOS/BMC firmware to the customer baseline"),
    (4, "OS Imaging", "Apply the customer image"),
    (5, "Asset Tagging", "Print and apply asset tags"),
    (6, "Final QC", "Visual inspection and checklist"),
]
PRODUCTS = [
    "StockBox 2000",
    "StockBox 3000",
    "EdgeNode 1U",
    "EdgeNode 2U",
    "GPU Server G8",
    "Storage Array S12",
    "Firewall Appliance F5",
    "NVR Appliance 16",
    "Kiosk PC K2",
    "Lab Workstation W7",
]
CATEGORIES = [(32, "Server"), (33, "Appliance"), (34, "Workstation"), (59, "RAID Card"), (60, "Power Supply")]
RMA_STATUSES = [(1, "Not Received"), (2, "Checked In"), (3, "In Repair"), (4, "Repaired"), (5, "Closed")]
BASE_TIME = datetime(2026, 1, 5, 8, 0, tzinfo=UTC)

BASE_COUNTS = {
    "items": 150,
    "customer_catalog_items": 150,
    "inventories": 300,
    "invoices": 300,
    "customer_order_submissions": 120,
    "rmas": 60,
    "automation_queues": 60,
    "automation_tasks": 300,
    "serial_data": 200,
}


def iso(dt: datetime) -> str:
    return dt.isoformat().replace("+00:00", "Z")


def dumps(obj) -> str:
    return json.dumps(obj, separators=(",", ":"))


def counts_for(scale: float, overrides: dict | None = None) -> dict[str, int]:
    counts = {k: max(1, int(v * scale)) for k, v in BASE_COUNTS.items()}
    counts.update({k: int(v) for k, v in (overrides or {}).items()})
    return counts


def order_lines(rng: random.Random, skus: list[str], shipped: bool, serial_prefix: str) -> list[dict]:
    lines = []
    for n in range(rng.randint(1, 3)):
        qty = rng.randint(1, 4)
        line = {
            "product_code": rng.choice(skus),
            "quantity": qty,
            "customs_declared_value": round(rng.uniform(50, 4000), 2),
            "serial_numbers": [],
        }
        if shipped:
            line["serial_numbers"] = [f"{serial_prefix}{n}{k:02d}" for k in range(qty)]
        lines.append(line)
    return lines


def party(rng: random.Random, iso_code: str) -> dict:
    first = rng.choice(["John", "Maria", "Chen", "Fatima", "Lars", "Aiko", "Priya", "Tom"])
    last = rng.choice(["Doe", "Garcia", "Wei", "Khan", "Berg", "Sato", "Patel", "Smith"])
    return {
        "name": f"{first} {last}",
        "company": f"{last} Ltd.",
        "email": f"{first.lower()}@example.com",
        "phone": f"1-555-555-{rng.randint(1000, 9999)}",
        "address_1": f"{rng.randint(1, 999)} Main Street",
        "address_2": rng.choice([None, "Unit 10", "Suite 200"]),
        "address_3": None,
        "city": rng.choice(["Toronto", "Mississauga", "Austin", "Berlin", "Dublin"]),
        "state": rng.choice(["ON", "TX", "BE", "D"]),
        "zip": f"{rng.randint(10000, 99999)}",
        "country": iso_code,
    }


def seed(store, token: str, scale: float = 1, counts: dict | None = None) -> dict[str, int]:
    """Replace the organization's collections with deterministic data. Returns row counts."""
    org = store.org(token)
    if org is None:
        raise KeyError(token)
    n = counts_for(scale, counts)
    rng = random.Random(zlib.crc32(f"{token}:{scale}".encode()))  # nosec B311  # seeded demo data
    org_id = org["organization_id"] or 0
    out: dict[str, list[tuple]] = {}

    out["countries"] = [
        (
            i,
            dumps(
                {"id": i, "name": name, "iso_code": code, "created_at": iso(BASE_TIME), "updated_at": iso(BASE_TIME)}
            ),
            code,
            None,
        )
        for i, (code, name) in enumerate(COUNTRIES, start=1)
    ]
    out["ship_methods"] = [
        (i, dumps({"id": i, "name": name, "description": desc, "carrier": carrier}), None, None)
        for i, name, desc, carrier in SHIP_METHODS
    ]
    out["automation_task_types"] = [
        (i, dumps({"id": i, "name": name, "description": desc}), None, None) for i, name, desc in TASK_TYPES
    ]
    items, skus = [], []
    for k in range(n["items"]):
        id_ = 100000 + k
        name = f"{PRODUCTS[k % len(PRODUCTS)]} rev {k // len(PRODUCTS) + 1}"
        cat = CATEGORIES[k % len(CATEGORIES)]
        row = {
            "id": id_,
            "name": name,
            "description": f"{name} configured for the customer",
            "item_category_id": cat[0],
            "stocked": k % 3 != 0,
            "weight": None if k % 4 else round(rng.uniform(2, 40), 1),
            "serialized": k % 5 != 4,
            "created_at": iso(BASE_TIME - timedelta(days=400 - k % 300)),
            "purchasing_group_id": 1,
            "updated_at": iso(BASE_TIME),
            "manufacturer_sku": None if k % 2 else f"MSKU-{k:05d}",
            "archived_at": iso(BASE_TIME) if k % 23 == 22 else None,
            "manufacturer_id": None,
            "owner_id": str(org_id) if k % 7 == 0 else org_id,
        }
        items.append((id_, dumps(row), None, None))
    out["items"] = items
    catalog = []
    for k in range(n["customer_catalog_items"]):
        sku = f"SKU-{k:05d}"
        skus.append(sku)
        catalog.append(
            (
                500000 + k,
                dumps(
                    {
                        "id": 500000 + k,
                        "customer_sku": sku,
                        "price": round(rng.uniform(20, 9000), 2),
                        "item_id": 100000 + k % max(1, n["items"]),
                    }
                ),
                sku,
                None,
            )
        )
    out["customer_catalog_items"] = catalog
    inv = []
    for k in range(n["inventories"]):
        id_ = 1_000_000 + k
        row = {
            "quantity_on_order": float(rng.randint(0, 50)),
            "created_at": iso(BASE_TIME - timedelta(days=k % 365)),
            "quantity_allocated": float(rng.randint(0, 20)),
            "updated_at": iso(BASE_TIME + timedelta(minutes=k % 9000)),
            "average_cost": round(rng.uniform(10, 3000), 2),
            "quantity_on_hand": float(rng.randint(0, 500)),
            "item_id": 100000 + k % max(1, n["items"]),
            "last_cost": round(rng.uniform(10, 3000), 2),
            "inventory_location_id": 1 + k % 6,
            "reorder_level": (reorder_level := float(rng.randint(0, 30))),
            "id": id_,
            "order_up_to_level": float(rng.randint(30, 200)),
            "lead_time": None if k % 3 else rng.randint(1, 30),
        }
        if k % 20 == 3:  # every twentieth record has fallen below its reorder level (some more do by chance)
            level = max(float(reorder_level), 8.0)
            row["reorder_level"] = level
            row["quantity_on_hand"] = float(int(level) // 2)
        if k % 97 == 0:
            row["bin_hint"] = f"A-{k % 40:02d}"  # an unknown extra field, as real payloads grow
        inv.append((id_, dumps(row), None, None))
    out["inventories"] = inv

    orders, invoices = [], []
    statuses = ["Shipped", "shipped", "Released", "Pending", "SHIPPED"]
    for k in range(n["customer_order_submissions"]):
        id_ = 200000 + k
        status = statuses[k % len(statuses)]
        shipped = status.lower() == "shipped"
        created = BASE_TIME + timedelta(hours=6 * k)
        method = SHIP_METHODS[k % len(SHIP_METHODS)]
        recipient = party(rng, COUNTRIES[k % 10][0])
        order: dict[str, Any] = {
            "id": id_,
            "organization_id": str(org_id) if k % 4 == 0 else org_id,
            "purchase_order": f"PO-{40000 + k}",
            "customer_order": f"SEED-{k:06d}",
            "ship_method_id": method[0],
            "ship_method": method[1],
            "ship_account": None if k % 3 else "333444555",
            "end_user_po": None,
            "end_user_name": None,
            "end_user_order_dt": None,
            "notes": "",
            "customer_rma_case": "",
            "recipient": recipient,
            "importer_of_record": recipient,
            "duties_and_taxes_account": 10000000,
            "status": status,
            "lines": order_lines(rng, skus or ["SKU-00000"], shipped, f"SN{id_}"),
            "created_at": iso(created),
            "updated_at": iso(created + timedelta(days=2)),
        }
        if shipped:
            inv_id = 700000 + k
            total = round(sum(ln["quantity"] * ln["customs_declared_value"] for ln in order["lines"]), 2)
            order["invoices"] = [{"invoice_number": inv_id}]
            order["tracking_numbers"] = [{"tracking_number": f"1Z{id_:010d}", "weight": rng.randint(1, 40)}]
            invoices.append(
                (
                    inv_id,
                    dumps(
                        {
                            "id": inv_id,
                            "order_id": id_,
                            "billed_at": iso(created + timedelta(days=2)),
                            "total": total,
                            "created_at": iso(created + timedelta(days=2)),
                            "updated_at": iso(created + timedelta(days=2)),
                        }
                    ),
                    None,
                    None,
                )
            )
        orders.append((id_, dumps(order), order["customer_order"], None))
    for k in range(len(invoices), n["invoices"]):
        inv_id = 700000 + n["customer_order_submissions"] + k
        billed = BASE_TIME + timedelta(hours=k)
        invoices.append(
            (
                inv_id,
                dumps(
                    {
                        "id": inv_id,
                        "order_id": 300000 + k,
                        "billed_at": iso(billed),
                        "total": round(rng.uniform(100, 50000), 2),
                        "created_at": iso(billed),
                        "updated_at": iso(billed),
                    }
                ),
                None,
                None,
            )
        )
    out["customer_order_submissions"] = orders
    out["invoices"] = invoices

    rmas = []
    for k in range(n["rmas"]):
        id_ = 15000 + k
        rma_status = RMA_STATUSES[k % 5]
        cat = CATEGORIES[k % 2]
        closed = rma_status[0] == 5
        start = BASE_TIME + timedelta(days=k)
        rma: dict[str, Any] = {
            "id": id_,
            "subject": rng.choice(["Hardware", "No POST", "Disk failure", "Trial Management"]),
            "organization_id": str(org_id) if k % 2 else org_id,
            "order_id": 200000 + k,
            "repair_order_id": 149000 + k if rma_status[0] >= 3 else None,
            "replacement_order_id": None,
            "manufacturer_serial": f"ML{k:04d}JB{k * 7 % 1000:03d}",
            "start_date": start.date().isoformat(),
            "closed_date": (start + timedelta(days=9)).date().isoformat() if closed else None,
            "item": {
                "id": 100000 + k % max(1, n["items"]),
                "name": PRODUCTS[k % len(PRODUCTS)],
                "description": "System",
                "category": {"id": cat[0], "name": cat[1]},
            },
            "status": {"id": rma_status[0], "name": rma_status[1]},
            "lines": [
                {
                    "quantity": 1,
                    "item": {
                        "id": 109402,
                        "name": "Adaptec RAID 51245 Bulk",
                        "description": "SAS/SATA 3.0 16 PCI-Express x8",
                        "category": {"id": 59, "name": "RAID Card"},
                    },
                }
            ],
            "problems": [
                {
                    "id": 850000 + k,
                    "message": "System does not POST after firmware update.",
                    "created_at": iso(start),
                    "updated_at": iso(start),
                }
            ],
            "troubleshootings": []
            if rma_status[0] < 3
            else [
                {
                    "id": 860000 + k,
                    "message": "Reseated memory; POST fails on DIMM B2.",
                    "created_at": iso(start + timedelta(days=2)),
                    "updated_at": iso(start + timedelta(days=2)),
                }
            ],
            "results": []
            if rma_status[0] < 4
            else [
                {
                    "id": 870000 + k,
                    "message": "Replaced DIMM B2; passed standard burn-in.",
                    "created_at": iso(start + timedelta(days=5)),
                    "updated_at": iso(start + timedelta(days=5)),
                }
            ],
        }
        rmas.append((id_, dumps(rma), rma["manufacturer_serial"], "closed" if closed else "open"))
    out["rmas"] = rmas

    queues: list[tuple] = []
    tasks: list[tuple] = []
    task_id = 3_000_000
    per_queue = max(1, round(n["automation_tasks"] / max(1, n["automation_queues"])))
    for q in range(n["automation_queues"]):
        qid = 40000 + q
        serial = f"FG{qid}X"
        finished = q % 3 == 0
        queues.append(
            (
                qid,
                dumps(
                    {
                        "id": qid,
                        "serial_id": 900000 + q,
                        "work_order_id": 80000 + q // 4,
                        "finished": finished,
                        "ip_address": f"10.20.{q // 250 % 250}.{q % 250 + 1}",
                        "manufacturer_serial": serial,
                    }
                ),
                serial,
                None,
            )
        )
        for s in range(per_queue):
            if len(tasks) >= n["automation_tasks"]:
                break
            task_id += 1
            ttype = TASK_TYPES[s % len(TASK_TYPES)]
            done = finished or s < per_queue // 2
            started = BASE_TIME + timedelta(minutes=q * 30 + s * 5)
            tasks.append(
                (
                    task_id,
                    dumps(
                        {
                            "id": task_id,
                            "automation_queue_id": qid,
                            "automation_task_type_id": ttype[0],
                            "sequence": s + 1,
                            "started_at": iso(started) if done else None,
                            "completed_at": iso(started + timedelta(minutes=4)) if done else None,
                            "failed": False,
                            "message": f"{ttype[1]} passed" if done else "",
                            "assignee_id": org_id if s % 2 else None,
                            "assignee_name": org["name"] if s % 2 else None,
                            "work_order_id": 80000 + q // 4,
                            "serial_id": 900000 + q,
                            "item_id": 100000 + q % max(1, n["items"]),
                            "manufacturer_serial": serial,
                        }
                    ),
                    f"{serial}:{s + 1}",
                    None,
                )
            )
    # Fill up to the requested task count with extra queues' tasks when rounding fell short.
    while len(tasks) < n["automation_tasks"]:
        task_id += 1
        k = len(tasks)
        tasks.append(
            (
                task_id,
                dumps(
                    {
                        "id": task_id,
                        "automation_queue_id": 40000,
                        "automation_task_type_id": 1,
                        "sequence": 1000 + k,
                        "started_at": None,
                        "completed_at": None,
                        "failed": False,
                        "message": "",
                        "assignee_id": None,
                        "assignee_name": None,
                        "work_order_id": 80000,
                        "serial_id": 900000,
                        "item_id": 100000,
                        "manufacturer_serial": "FG40000X",
                    }
                ),
                f"FG40000X:{1000 + k}",
                None,
            )
        )
    out["automation_queues"] = queues
    out["automation_tasks"] = tasks
    out["serial_data"] = [
        (
            600000 + k,
            dumps(
                {
                    "id": 600000 + k,
                    "manufacturer_serial": f"FG{40000 + k % max(1, n['automation_queues'])}X",
                    "serial_data_type_id": 1 + k % 4,
                    "metadata": None if k % 2 else "bmc",
                    "value": f"00:1b:21:{k % 256:02x}:{k // 256 % 256:02x}:01",
                }
            ),
            None,
            None,
        )
        for k in range(n["serial_data"])
    ]

    with store.write() as conn:
        conn.execute("DELETE FROM rows WHERE token=?", (token,))
        for collection, rows in out.items():
            store.save_many(conn, token, collection, rows)
    return {c: len(r) for c, r in out.items()}
