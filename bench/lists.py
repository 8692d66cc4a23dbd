"""Benchmark: the orders list and the RMA lists at a million rows each, on PostgreSQL.

Fills one organization with 1,000,000 mirror orders (two lines each, a tracking number per
shipped order, one `OrderRow` each, computed by `orders.rows.row_values` as the app writes
it) and 1,000,000 mirrored RMAs (one `RmaRow` each, by `rmas.rows.row_values`), and a second
organization with 100,000 of each, with COPY; adds a few hundred local submissions of each
kind through the apps' own `refresh`. Then, through Django's test client as a member with
every role, it times each page of each list several times (after one warm-up) and counts its
queries:

- orders: the first page, each status tab, a search for one customer order, a sort by each
  sortable column both ways, the page after 500 pages of 50 (its keyset equivalent: `?after=`
  the cursor of the row at position 24,999, checked to start at position 25,000), a
  product-code filter and the last page;
- RMAs: the first page, the Open and Closed tabs, a search for one serial and for one RMA
  number, a sort by each sortable column both ways, page 501 as above, each filter (status,
  request type, serial, item, item category, start and closed date ranges) and the last page;
- inventory: 1,000,000 inventory records (25,000 items at 40 locations, 9 in 10 items in the
  catalog; one `InventoryRow` each, by `inventory.rows.row_values`): the first page, the
  "below reorder level" tab, a search for one SKU and for one inventory id, a sort by each
  sortable column both ways, page 501 (the default sort is ascending), each filter (location,
  item, SKU, stocked, serialized, archived) and the last page;
- invoices: 1,000,000 invoices billed over three years (a few credits; one `InvoiceRow` each, by
  `invoices.rows.row_values`, the 900,000 mirror orders they bill, and their month totals): the
  first page, a sort by each sortable column both ways, page 501, a billed range of one month and
  of a year (cut months at both ends), an order by its upstream id and by its customer order, a
  search for one invoice number and the last page; the sum each page shows is checked against a
  SUM over every row;
- automation (`bench/automation_fill.py`): the board over 100,000 queues and their 1,000,000 tasks (ten per
  queue on average, `--sizes` counts tasks; one `QueueRow` each, by `automation.rows`' builders): the first
  page, each tab, each sort both ways, page 1,500, the last page, each filter, the queues and tasks CSV of
  one work order, and the live refresh of a page of 50 rows (none, 5 and 50 changed; < 50 ms);
- the same cases on the second organization, to show the query count does not grow;
- a full CSV export of each list and organization in a fresh process (and of each other export a list
  has: the automation tasks CSV): rows/s, and the peak RSS (VmHWM) before and after, which stays flat;
- the home page (`bench/home_page.py`, unless `--no-home`): with as many automation queues and
  tasks as list rows and 30 days of sync runs, the recount of each tally (as the worker does it)
  and the page over stored tallies, current and changed ("as of").

    .venv/bin/python bench/lists.py                  # fill, then measure both lists
    .venv/bin/python bench/lists.py --lists rmas     # only the RMA lists (fill and measure)
    .venv/bin/python bench/lists.py --lists automation --no-home   # the automation board alone
    .venv/bin/python bench/lists.py --no-fill        # measure the database of the last run
    .venv/bin/python bench/lists.py --smoke          # every case at 5,000 rows, once: it runs and checks hold

Exits 1 when any case's check or any export's count is WRONG.

The database (`portal_bench_lists` on the server of DATABASE_URL if that is PostgreSQL, else
on 127.0.0.1:5432; `--database-url` to choose) is dropped, created afresh and migrated. The
COPY drops the secondary indexes of the tables it fills and builds them afterwards (much
faster than maintaining a dozen indexes, trigram ones among them, row by row), then runs
VACUUM ANALYZE (autovacuum may be off). Before measuring, the objects start-up left are collected
once and frozen (gc.freeze), so that a full collection (tens of ms) does not land in a timed request.
Prints markdown tables, and EXPLAIN (ANALYZE, BUFFERS) of the slowest query of any case slower than
`--explain-over` ms at p95.
"""

from __future__ import annotations

import argparse
import gc
import itertools
import json
import math
import os
import random
import re
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")

DB_NAME = "portal_bench_lists"
SERVER = "postgres://postgres@127.0.0.1:5432"
SIZES = (1_000_000, 100_000)
SMOKE_DB_NAME = "portal_bench_smoke"
SMOKE_SIZES = (5_000, 1_000)
REPEAT = 7
PER_PAGE = 50
PAGE = 500  # the page the keyset case stands for
BATCH = 20_000  # objects per COPY write
LOCAL_ROWS = (300, 30)  # local submissions (rows the mirror has not got yet) per organization and list
ORGS = (("bench-big", "Acme Bench", "SEED"), ("bench-small", "Globex Bench", "GLBX"))

FIRST = (  # noqa: SIM905  (a list of words reads better as words)
    "John Maria Chen Fatima Lars Aiko Priya Tom Olga Diego Amara Noah Sofia Liam Mei Omar Hana Lucas Ines Raj "
    "Emma Yusuf Greta Kwame Zoe Mateo Nadia Ivan Leila Pierre"
).split()
LAST = (  # noqa: SIM905
    "Doe Garcia Wei Khan Berg Sato Patel Smith Novak Rossi Okafor Müller Jensen Silva Kim Dubois Haddad Tanaka "
    "O'Brien Kowalski Nguyen Larsen Costa Ahmed Fischer Lopez Ivanova Moreau Singh Brown"
).split()
COUNTRIES = ("US",) * 10 + ("CA",) * 2 + ("GB", "DE", "DE", "NL", "FR", "AU", "JP", "SG", "MX", "SE", "IE")
SHIP_METHODS = (
    (12, "FedEx Ground", "FedEx"),
    (13, "FedEx Priority Overnight", "FedEx"),
    (24, "UPS Ground", "UPS"),
    (25, "UPS Worldwide Express Saver", "UPS"),
    (31, "DHL Express Worldwide", "DHL"),
    (40, "USPS Priority Mail", "USPS"),
    (51, "Freight LTL", "Freight"),
    (60, "Customer pickup", ""),
)
SHIP_WEIGHTS = (30, 6, 30, 8, 10, 8, 5, 3)
CATALOG = tuple(f"SKU-{k:05d}" for k in range(1000))  # the sandbox's SKU style

# RMAs: the sandbox's statuses and subjects; eight item categories of thirty items each.
RMA_OPEN = ((1, "Not Received"), (2, "Checked In"), (3, "In Repair"), (4, "Repaired"))
RMA_CLOSED = (5, "Closed")
REQUEST_TYPE_WEIGHTS = (35, 25, 25, 5, 10)  # Replacement Parts .. Repair and Stock
RMA_SUBJECTS = (  # noqa: SIM905
    "Hardware|No POST|Disk failure|Trial Management|Fan noise|Overheating|Memory errors|PSU failure|"
    "Network card|Dead on arrival|Intermittent reboot|BMC unreachable"
).split("|")
RMA_CATEGORIES = (  # (id, name, item family, weight)
    (3, "Server", "Rackmount", 30),
    (4, "Workstation", "Tower", 20),
    (5, "Storage", "JBOD", 12),
    (6, "Network Appliance", "Firewall", 10),
    (7, "Edge Computer", "Edge Box", 10),
    (8, "GPU Server", "GPU Node", 8),
    (9, "Industrial PC", "Panel PC", 6),
    (10, "Thin Client", "Thin Client", 4),
)
RMA_ITEMS = tuple(  # (item id, name, category id, category name)
    (100_000 + 100 * c + k, f"{family} {name[:1]}-{200 + 7 * k}", category_id, name)
    for c, (category_id, name, family, _weight) in enumerate(RMA_CATEGORIES)
    for k in range(30)
)
RMA_ITEM_WEIGHTS = tuple(weight for _id, _name, _family, weight in RMA_CATEGORIES for _k in range(30))


def bench_url(explicit: str | None, name: str = DB_NAME) -> str:
    if explicit:
        return explicit
    current = os.environ.get("DATABASE_URL", "")
    server = current.rsplit("/", 1)[0] if current.startswith(("postgres://", "postgresql://")) else SERVER
    return f"{server}/{name}"


def percentile(values: list[float], p: float) -> float:
    """Nearest rank: of 7 runs, p50 is the 4th and p95 the slowest."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


def vm(key: str) -> float:
    """A /proc/self/status figure in MB (VmHWM: the peak RSS so far; VmRSS: now)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1]) / 1024
    return float("nan")


# -- fill ----------------------------------------------------------------------------------------


def copy_text(value: Any) -> str:
    """One field in COPY's text format (the generated values hold no tab or backslash but the search
    text's newlines); a list or a dict as JSON text (a JSON column)."""
    if value is None:
        return "\\N"
    if isinstance(value, list | dict):
        value = json.dumps(value, separators=(",", ":"))
    if isinstance(value, str):
        return value.replace("\\", "\\\\").replace("\n", "\\n").replace("\t", "\\t")
    return str(value)


@dataclass
class Ids:
    order: int = 0
    line: int = 0
    tracking: int = 0
    row: int = 0


@dataclass
class Batch:
    orders: list[str] = field(default_factory=list)
    lines: list[str] = field(default_factory=list)
    tracking: list[str] = field(default_factory=list)
    rows: list[str] = field(default_factory=list)


ORDER_COLUMNS = (
    "id, organization_id, upstream_id, raw, content_hash, first_seen_at, changed_at, vanished_at, purchase_order, "
    "customer_order, status, ship_method_id, ship_method, recipient_name, recipient_company, recipient_country, "
    "created_upstream_at, updated_upstream_at"
)
LINE_COLUMNS = "id, order_id, position, product_code, quantity, customs_declared_value, serial_numbers"
TRACKING_COLUMNS = "id, order_id, tracking_number, weight"


def stamp(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat(sep=" ", timespec="seconds")


def status_for(age_days: float, r: float) -> str:
    """Recent orders are pending or released; older ones shipped, but for a few stuck."""
    if age_days < 3:
        return "Pending" if r < 0.6 else "Released"
    if age_days < 14:
        return "Pending" if r < 0.1 else ("Released" if r < 0.5 else "Shipped")
    return "Pending" if r < 0.02 else ("Released" if r < 0.04 else "Shipped")


def org_batches(
    org_id: int, prefix: str, count: int, upstream_base: int, ids: Ids, end: float, seed: int
) -> Iterator[Batch]:
    """The COPY lines of one organization's orders, `BATCH` orders at a time, created over three years."""
    from orders.rows import ROW_FIELDS, row_values

    rng = random.Random(seed)
    span = 3 * 365 * 86400
    start = end - span
    for first in range(0, count, BATCH):
        n = min(BATCH, count - first)
        batch = Batch()
        methods = rng.choices(SHIP_METHODS, weights=SHIP_WEIGHTS, k=n)
        skus = rng.choices(CATALOG, k=2 * n)
        for k in range(n):
            i = first + k
            ids.order += 1
            ids.row += 1
            order_id = ids.order
            upstream_id = upstream_base + i
            created = start + (i + rng.random()) * span / count
            age_days = (end - created) / 86400
            status = status_for(age_days, rng.random())
            if status == "Shipped":
                updated = created + rng.uniform(0.5, 10) * 86400
            elif status == "Released":
                updated = created + rng.uniform(0.05, 3) * 86400
            else:
                updated = created + rng.uniform(60, 7200)
            updated = min(updated, end)
            created_s, updated_s = stamp(created), stamp(updated)
            seen_s, changed_s = stamp(created + 300), stamp(updated + 300)
            customer_order = f"{prefix}-{i + 1:07d}"
            purchase_order = f"PO-{rng.randrange(100_000, 1_000_000)}"
            method_id, method, _carrier = methods[k]
            name = f"{rng.choice(FIRST)} {rng.choice(LAST)}"
            country = rng.choice(COUNTRIES)
            raw = json.dumps({"id": upstream_id, "customer_order": customer_order, "status": status})
            batch.orders.append(
                "\t".join(
                    (
                        str(order_id),
                        str(org_id),
                        str(upstream_id),
                        copy_text(raw),
                        f"{upstream_id:032x}",
                        seen_s,
                        changed_s,
                        "\\N",
                        purchase_order,
                        customer_order,
                        status,
                        str(method_id),
                        method,
                        name,
                        "",
                        country,
                        created_s,
                        updated_s,
                    )
                )
                + "\n"
            )
            codes: list[str] = []
            for position in range(2):
                ids.line += 1
                code = skus[2 * k + position]
                if code not in codes:
                    codes.append(code)
                batch.lines.append(
                    f"{ids.line}\t{order_id}\t{position}\t{code}\t{rng.randint(1, 4)}\t"
                    f"{rng.randint(5_000, 400_000) / 100:.2f}\t[]\n"
                )
            tracking: list[str] = []
            if status == "Shipped":
                tracking.append(f"1Z{upstream_id:010d}")
                if rng.random() < 0.1:
                    tracking.append(f"{rng.randrange(10**11, 10**12)}")
                for number in tracking:
                    ids.tracking += 1
                    batch.tracking.append(f"{ids.tracking}\t{order_id}\t{number}\t{rng.randint(1, 40)}.000\n")
            values = row_values(
                organization_id=org_id,
                order_id=order_id,
                submission_id=None,
                upstream_id=upstream_id,
                customer_order=customer_order,
                purchase_order=purchase_order,
                status=status,
                ship_method_id=method_id,
                ship_method=method,
                recipient_name=name,
                recipient_country=country,
                created_at=created_s,
                updated_at=updated_s,
                product_codes=" ".join(codes),
                tracking_numbers=" ".join(tracking),
            )
            batch.rows.append("\t".join([str(ids.row), *(copy_text(values[f]) for f in ROW_FIELDS)]) + "\n")
        yield batch


def order_tables(org_id: int, prefix: str, count: int, n: int, ids: Any, end: float) -> Iterator[dict[str, list[str]]]:
    for batch in org_batches(org_id, prefix, count, 10_000_000 * (n + 1), ids, end, seed=n):
        yield {
            "mirror_order": batch.orders,
            "mirror_orderline": batch.lines,
            "mirror_ordertrackingnumber": batch.tracking,
            "orders_orderrow": batch.rows,
        }


RMA_COLUMNS = (
    "id, organization_id, upstream_id, raw, content_hash, first_seen_at, changed_at, vanished_at, subject, "
    "order_id, repair_order_id, replacement_order_id, manufacturer_serial, start_date, closed_date, status_id, "
    "status_name, item_id, item_name, category_name, request_type_id, is_open, detail, detail_hash, "
    "detail_fetched_at"
)


@dataclass
class RmaIds:
    rma: int = 0
    row: int = 0


def rma_open(age_days: float, r: float) -> bool:
    """Recent RMAs are mostly open; older ones closed, but for a few stuck."""
    if age_days < 10:
        return r < 0.9
    if age_days < 30:
        return r < 0.5
    if age_days < 90:
        return r < 0.1
    return r < 0.01


def rma_tables(org_id: int, prefix: str, count: int, n: int, ids: RmaIds, end: float) -> Iterator[dict[str, list[str]]]:
    """The COPY lines of one organization's RMAs, `BATCH` at a time, started over three years."""
    from datetime import date, timedelta

    from rmas.rows import ROW_FIELDS, row_values

    rng = random.Random(1000 + n)
    span_days = 3 * 365
    last_day = date.fromtimestamp(end)
    upstream_base = 50_000_000 + 10_000_000 * n
    for first in range(0, count, BATCH):
        size = min(BATCH, count - first)
        rmas: list[str] = []
        rows: list[str] = []
        items = rng.choices(RMA_ITEMS, weights=RMA_ITEM_WEIGHTS, k=size)
        kinds = rng.choices(range(1, 6), weights=REQUEST_TYPE_WEIGHTS, k=size)
        for k in range(size):
            i = first + k
            ids.rma += 1
            ids.row += 1
            upstream_id = upstream_base + i
            age = span_days - (i + rng.random()) * span_days / count
            start = last_day - timedelta(days=int(age))
            is_open = rma_open(age, rng.random())
            closed = None if is_open else min(last_day, start + timedelta(days=rng.randint(2, 40)))
            status_id, status = rng.choice(RMA_OPEN) if is_open else RMA_CLOSED
            item_id, item, _category_id, category = items[k]
            serial = f"{prefix[:2]}{i:07d}JB{rng.randrange(1000):03d}"
            subject = rng.choice(RMA_SUBJECTS)
            changed = stamp(end - max(0.0, age - 1) * 86400 + 3600) if is_open else f"{closed} 18:00:00+00"
            seen = f"{start} 09:00:00+00"
            raw = json.dumps({"id": upstream_id, "manufacturer_serial": serial, "status": {"id": status_id}})
            rmas.append(
                "\t".join(
                    (
                        str(ids.rma),
                        str(org_id),
                        str(upstream_id),
                        copy_text(raw),
                        f"{upstream_id:032x}",
                        seen,
                        changed,
                        "\\N",
                        subject,
                        str(200_000 + i),
                        str(149_000 + i) if status_id >= 3 else "\\N",
                        "\\N",
                        serial,
                        start.isoformat(),
                        closed.isoformat() if closed else "\\N",
                        str(status_id),
                        status,
                        str(item_id),
                        item,
                        category,
                        str(kinds[k]),
                        "t" if is_open else "f",
                        "\\N",
                        "",
                        "\\N",
                    )
                )
                + "\n"
            )
            values = row_values(
                organization_id=org_id,
                rma_id=ids.rma,
                submission_id=None,
                upstream_id=upstream_id,
                subject=subject,
                status=status,
                is_open=is_open,
                request_type=kinds[k],
                manufacturer_serial=serial,
                item_name=item,
                category_name=category,
                start_date=start,
                closed_date=closed,
                updated_at=changed,
            )
            rows.append("\t".join([str(ids.row), *(copy_text(values[f]) for f in ROW_FIELDS)]) + "\n")
        yield {"mirror_rma": rmas, "rmas_rmarow": rows}


def secondary_indexes(conn: Any, tables: list[str]) -> list[tuple[str, str, str, str | None]]:
    """(table, index, CREATE INDEX statement, unique constraint name or None) of every index but the
    primary keys of the filled tables."""
    rows = conn.execute(
        """
        SELECT t.relname, i.relname, pg_get_indexdef(i.oid), con.conname
        FROM pg_index x
        JOIN pg_class t ON t.oid = x.indrelid
        JOIN pg_class i ON i.oid = x.indexrelid
        LEFT JOIN pg_constraint con ON con.conindid = x.indexrelid AND con.conrelid = t.oid AND con.contype = 'u'
        WHERE t.relname = ANY(%s) AND NOT x.indisprimary
        ORDER BY pg_relation_size(t.oid) DESC, i.relname
        """,
        [tables],
    ).fetchall()
    return [(r[0], r[1], r[2], r[3]) for r in rows]


def in_parallel(url: str, statements: list[str], workers: int, setup: tuple[str, ...] = ()) -> dict[str, float]:
    """Run the statements on `workers` connections of their own, each taking the next one (autocommit).
    Returns the seconds each took."""
    import psycopg

    queue = list(statements)
    lock = threading.Lock()
    errors: list[BaseException] = []
    took: dict[str, float] = {}

    def work() -> None:
        try:
            with psycopg.connect(url, autocommit=True) as conn:
                for sql in setup:
                    conn.execute(sql)
                while True:
                    with lock:
                        if not queue or errors:
                            return
                        sql = queue.pop(0)
                    started = time.perf_counter()
                    conn.execute(sql)
                    took[sql] = time.perf_counter() - started
        except BaseException as exc:  # re-raised in the caller
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(max(1, min(workers, len(statements))))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]
    return took


def setup_orgs() -> list[Any]:
    """Two organizations, a member of each with every role, and the ship methods the filter offers."""
    from django.contrib.auth import get_user_model
    from django.utils import timezone

    from accounts.models import Membership, Organization
    from accounts.roles import ALL_ROLES
    from mirror.models import ShipMethod

    User = get_user_model()
    now = timezone.now()
    orgs = []
    for n, (slug, name, _prefix) in enumerate(ORGS, start=1):
        org = Organization(
            slug=slug,
            name=name,
            upstream_base_url="http://127.0.0.1:9",
            upstream_token=f"{slug}-token",
            upstream_organization_id=9000 + n,
        )
        org.set_upstream_secret("bench-secret")
        org.save()
        user = User.objects.create_user(slug, f"{slug}@example.com", "bench-password-not-secret")
        Membership.objects.create(user=user, organization=org, roles=ALL_ROLES)
        for id_, method, carrier in SHIP_METHODS:
            ShipMethod.objects.create(
                organization=org,
                upstream_id=id_,
                name=method,
                carrier=carrier,
                raw={"id": id_, "name": method},
                content_hash="x",
                first_seen_at=now,
                changed_at=now,
            )
        orgs.append(org)
    return orgs


def local_deliveries(org: Any, kind: str, path: str, count: int) -> list[Any]:
    """The deliveries of `count` local submissions of one kind, cycling through every delivery status
    (but a conflict, which only a resubmission meets)."""
    from outbox.models import Delivery

    statuses = itertools.cycle([s for s in Delivery.Status if s != Delivery.Status.CONFLICT])
    return Delivery.objects.bulk_create(
        [
            Delivery(organization=org, kind=kind, method="POST", path=path, body="{}", status=status)
            for status in itertools.islice(statuses, count)
        ]
    )


def add_local_orders(org: Any, count: int, seed: int) -> None:
    """Submissions the mirror has not got yet, in every delivery status, their rows written by the app."""
    from decimal import Decimal

    from orders.models import OrderSubmission, OrderSubmissionLine
    from orders.rows import refresh
    from outbox.models import Delivery

    rng = random.Random(seed)
    deliveries = local_deliveries(org, Delivery.Kind.ORDER_CREATE, "/v2/customer_order_submissions", count)
    submissions = []
    for k, delivery in enumerate(deliveries):
        method_id, method, _carrier = SHIP_METHODS[k % len(SHIP_METHODS)]
        submission = OrderSubmission(
            organization=org,
            purchase_order=f"PO-W{k:05d}",
            customer_order=f"WEB-{k:05d}",
            ship_method_id=method_id,
            ship_method_name=method,
            delivery=delivery,
        )
        for key, value in (
            ("name", f"{rng.choice(FIRST)} {rng.choice(LAST)}"),
            ("phone", "1-555-555-0100"),
            ("address_1", "1 Main St"),
            ("city", "Springfield"),
            ("zip", "12345"),
            ("country", rng.choice(COUNTRIES)),
        ):
            setattr(submission, f"recipient_{key}", value)
        submissions.append(submission)
    OrderSubmission.objects.bulk_create(submissions)
    OrderSubmissionLine.objects.bulk_create(
        [
            OrderSubmissionLine(
                submission=s,
                position=p,
                product_code=rng.choice(CATALOG),
                quantity=1,
                customs_declared_value=Decimal(1),
            )
            for s in submissions
            for p in range(2)
        ]
    )
    refresh(org.pk, submission_ids=[s.pk for s in submissions])


def add_local_rmas(org: Any, count: int, seed: int) -> None:
    """RMA requests the mirror has not got yet, in every delivery status, their rows written by the app."""
    from outbox.models import Delivery
    from rmas.models import RmaSubmission
    from rmas.rows import refresh

    rng = random.Random(seed)
    deliveries = local_deliveries(org, Delivery.Kind.RMA_CREATE, "/v2/rmas", count)
    submissions = RmaSubmission.objects.bulk_create(
        [
            RmaSubmission(
                organization=org,
                delivery=delivery,
                request_type=rng.choices(range(1, 6), weights=REQUEST_TYPE_WEIGHTS)[0],
                manufacturer_serial=f"WEB{k:05d}JB{rng.randrange(1000):03d}",
                problem="Does not POST after a firmware update.",
                replacement_name=f"{rng.choice(FIRST)} {rng.choice(LAST)}",
            )
            for k, delivery in enumerate(deliveries)
        ]
    )
    refresh(org.pk, submission_ids=[s.pk for s in submissions])


def order_row_fields() -> tuple[str, ...]:
    from orders.rows import ROW_FIELDS

    return ROW_FIELDS


def rma_row_fields() -> tuple[str, ...]:
    from rmas.rows import ROW_FIELDS

    return ROW_FIELDS


Check = Callable[["Result"], str]  # what is wrong with a case's page ("" if nothing)


@dataclass(frozen=True)
class ListSpec:
    """One list under test: the tables it fills and how, its local rows, its page cases."""

    name: str
    url: str
    row_table: str  # the list's own table
    link: str  # the row table's column naming the mirrored object
    default_sort: str  # the column of the default sort (descending)
    copies: tuple[tuple[str, str | Callable[[], tuple[str, ...]]], ...]  # (table, COPY columns), in fill order
    tables: Callable[..., Iterator[dict[str, list[str]]]]  # (org id, prefix, count, n, ids, end) -> table: lines
    new_ids: Callable[[], Any]
    add_local: Callable[[Any, int, int], None] | None  # None: no local submissions
    cases: Callable[[ListSpec, int, str, int], list[tuple[str, str, Check]]]
    row_url: Callable[[int | None, int | None], str]
    descending: bool = True  # the default sort's direction
    submissions: bool = True  # the row table has a submission_id column (local rows)
    # Each ?export= streamed whole in a fresh process, and the word its last line counts ("# 1000 rows").
    exports: tuple[tuple[str, str], ...] = (("csv", "rows"),)
    export_count: Callable[[str, int], int] | None = None  # (export, org id) -> its rows, for one not "csv"

    @property
    def table_names(self) -> list[str]:
        return [table for table, _columns in self.copies]

    def columns(self, table: str) -> str:
        columns = dict(self.copies)[table]
        return columns if isinstance(columns, str) else "id, " + ", ".join(columns())


def fill(url: str, sizes: tuple[int, ...], specs: list[ListSpec]) -> list[tuple[str, float]]:
    """A fresh database, filled. Returns (step, seconds)."""
    import psycopg
    from psycopg.copy import QueuedLibpqWriter

    steps: list[tuple[str, float]] = []
    name = url.rsplit("/", 1)[1]
    started = time.perf_counter()
    with psycopg.connect(url.rsplit("/", 1)[0] + "/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, check=True)
    steps.append(("create and migrate the database", time.perf_counter() - started))

    import django

    django.setup()
    orgs = setup_orgs()
    tables = [table for spec in specs for table in spec.table_names]

    with psycopg.connect(url, autocommit=True) as conn:
        indexes = secondary_indexes(conn, tables)
        for table, index, _sql, constraint in indexes:
            if constraint:
                conn.execute(f'ALTER TABLE "{table}" DROP CONSTRAINT "{constraint}"')
            else:
                conn.execute(f'DROP INDEX "{index}"')

    started = time.perf_counter()
    end = float(int(time.time()) // 86400 * 86400 - 86400)  # the last order and RMA: yesterday
    totals = dict.fromkeys(tables, 0)
    with ExitStack() as stack:
        copies = {}
        for spec in specs:
            for table in spec.table_names:
                conn = stack.enter_context(psycopg.connect(url))
                # The generated rows reference each other correctly; replica role skips the row-by-row FK triggers.
                conn.execute("SET session_replication_role = replica")
                cursor = conn.cursor()
                copy_sql = f"COPY {table} ({spec.columns(table)}) FROM STDIN"
                copies[table] = stack.enter_context(cursor.copy(copy_sql, writer=QueuedLibpqWriter(cursor)))
        for spec in specs:
            ids = spec.new_ids()
            for n, ((_slug, _name, prefix), org, size) in enumerate(zip(ORGS, orgs, sizes, strict=False)):
                for batch in spec.tables(org.pk, prefix, size, n, ids, end):
                    for table, lines in batch.items():
                        copies[table].write("".join(lines))
                        totals[table] += len(lines)
        generated = time.perf_counter() - started
    # Leaving the stack ended each COPY and committed its connection.
    copied = time.perf_counter() - started
    steps.append(
        (f"COPY {len(tables)} tables at once (rows made by Python and row_values in {generated:.1f} s of it)", copied)
    )

    started = time.perf_counter()
    with psycopg.connect(url, autocommit=True) as conn:
        for table in tables:
            conn.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))")
    # The trigram indexes first (the longest, and not built in parallel), the B-trees beside them.
    creates = [sql for _t, _i, sql, _c in sorted(indexes, key=lambda x: " gin " not in x[2])]
    took = in_parallel(url, creates, workers=2, setup=("SET maintenance_work_mem = '1GB'",))
    with psycopg.connect(url, autocommit=True) as conn:
        for table, index, _sql, constraint in indexes:
            if constraint:
                conn.execute(f'ALTER TABLE "{table}" ADD CONSTRAINT "{constraint}" UNIQUE USING INDEX "{index}"')
    gin = [t for sql, t in took.items() if " gin " in sql]
    steps.append(
        (
            f"build the {len(indexes)} secondary indexes again, 2 at a time (trigram: {len(gin)} in "
            f"{sum(gin):.1f} s; B-trees: {len(took) - len(gin)} in {sum(took.values()) - sum(gin):.1f} s)",
            time.perf_counter() - started,
        )
    )

    for spec in specs:
        if spec.add_local is None:
            continue
        started = time.perf_counter()
        for n, (org, count) in enumerate(zip(orgs, LOCAL_ROWS, strict=False)):
            spec.add_local(org, count, 100 + n)
        steps.append(
            (
                f"{' + '.join(map(str, LOCAL_ROWS[: len(orgs)]))} local submissions ({spec.name}.rows.refresh)",
                time.perf_counter() - started,
            )
        )

    started = time.perf_counter()
    in_parallel(url, [f"VACUUM (ANALYZE) {t}" for t in tables], workers=2)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("ANALYZE")
    steps.append(("VACUUM ANALYZE", time.perf_counter() - started))
    print(
        "rows copied: "
        + ", ".join(f"{table} {n:,}" for table, n in totals.items())
        + f" (session_replication_role=replica; {len(indexes)} secondary indexes dropped before the COPY)",
        flush=True,
    )
    return steps


# -- measure -------------------------------------------------------------------------------------


@dataclass
class Result:
    case: str
    times: list[float]
    queries: list[int]
    db_times: list[float]  # the sum of the request's query times (Django logs them to the millisecond)
    rows: int
    summary: str
    first_link: str
    first_text: str
    slowest_sql: str
    slowest_ms: float
    wrong: str = ""
    html: str = ""  # the last run's page (a case's check may read it)

    @property
    def p50(self) -> float:
        return percentile(self.times, 50)

    @property
    def p95(self) -> float:
        return percentile(self.times, 95)

    @property
    def query_text(self) -> str:
        low, high = min(self.queries), max(self.queries)
        return str(low) if low == high else f"{low}–{high}"


def page_facts(html: str, list_url: str) -> tuple[int, str, str, str]:
    """(rows on the page, the summary line, the first row's link and its text). Of a live refresh's answer
    (htmx out-of-band rows, no summary): the rows it redraws."""
    summary = re.search(r'id="list-summary">(.*?)</p>', html, re.S)
    table = html.split('aria-labelledby="list-summary"', 1)[-1]  # the list's table (a chart's may come first)
    body = table.split("<tbody>", 1)[-1].split("</tbody>", 1)[0]
    rows = len(re.findall(r"<tr[ >]", body)) - (1 if "colspan=" in body else 0)  # marked rows have a class
    link = re.search(rf'<a href="({re.escape(list_url)}[^"]+)">([^<]*)</a>', body)
    fragment = f"{rows} rows redrawn in place" if "hx-swap-oob" in html else "?"
    said = summary.group(1).strip() if summary else fragment
    return (rows, said, link.group(1) if link else "", link.group(2) if link else "")


def csv_facts(text: str) -> tuple[int, str, str, str]:
    """(rows, the last line) of a CSV export: every line but the header and the count at the end."""
    lines = text.count("\n")
    return (lines - 2, text.strip().rsplit("\n", 1)[-1], "", "")


def measure(client: Any, spec: ListSpec, case: str, url: str, repeat: int) -> Result:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    response = client.get(url)  # warm-up
    assert response.status_code == 200, (url, response.status_code)
    times: list[float] = []
    queries: list[int] = []
    db_times: list[float] = []
    html = ""
    captured: list[dict[str, str]] = []
    for _ in range(repeat):
        with CaptureQueriesContext(connection) as ctx:
            started = time.perf_counter()
            response = client.get(url)
            content = response.getvalue()  # a streamed export runs its queries as it is read
            elapsed = time.perf_counter() - started
        assert response.status_code == 200, (url, response.status_code)
        times.append(elapsed * 1000)
        queries.append(len(ctx.captured_queries))
        db_times.append(sum(float(q["time"]) for q in ctx.captured_queries) * 1000)
        html = content.decode()
        captured = list(ctx.captured_queries)
    csv = response["Content-Type"].startswith("text/csv")
    rows, summary, link, text = csv_facts(html) if csv else page_facts(html, spec.url)
    slowest = max(captured, key=lambda q: float(q["time"]))
    return Result(
        case,
        times,
        queries,
        db_times,
        rows,
        summary,
        link,
        text,
        slowest["sql"],
        float(slowest["time"]) * 1000,
        html=html,
    )


def keyset_cursor(spec: ListSpec, org_id: int, position: int) -> tuple[str, str]:
    """The `after` cursor of the row at `position` of the default sort, and the link of the row after it."""
    from django.db import connection

    from portal.lists import Cursor

    order = "DESC" if spec.descending else "ASC"
    submission = "submission_id" if spec.submissions else "NULL"
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {spec.default_sort}, id, {spec.link}_id, {submission} FROM {spec.row_table} "
            f"WHERE organization_id = %s ORDER BY {spec.default_sort} {order}, id {order} OFFSET %s LIMIT 2",
            [org_id, position],
        )
        (value, id_, _o, _s), (_v, _i, object_id, submission_id) = cursor.fetchall()
    return Cursor(value, id_, position).encode(), spec.row_url(object_id, submission_id)


def nothing_wrong(result: Result) -> str:
    return ""


def sort_cases(spec: ListSpec, view: Any, row_sorts: tuple[str, ...]) -> list[tuple[str, str, Check]]:
    sortable = [c.name for c in view.columns if c.sortable]
    if sorted(sortable) != sorted(row_sorts):
        print(f"note: sortable columns {sortable} differ from ROW_SORTS {list(row_sorts)}", file=sys.stderr)
    return [(f"sort {s}", f"{spec.url}?sort={s}", nothing_wrong) for name in sortable for s in (name, f"-{name}")]


def deep_page_case(spec: ListSpec, org_id: int, size: int | None = None, page: int = PAGE) -> tuple[str, str, Check]:
    """The page after `page` pages of 50, by its keyset link (a small list: its last but one page)."""
    page = page if size is None else max(1, min(page, size // PER_PAGE - 1))
    position = page * PER_PAGE - 1  # the last row of page 500: the next page starts at position 25,000
    cursor, expected = keyset_cursor(spec, org_id, position)

    def at_position(result: Result) -> str:
        wrong = []
        if result.first_link != expected:
            wrong.append(f"first row {result.first_link}, expected {expected} (position {position + 1:,})")
        if not result.summary.startswith(f"Showing {position + 2:,}–"):
            wrong.append(f"summary {result.summary!r}, expected 'Showing {position + 2:,}–...'")
        return "; ".join(wrong)

    return (f"page {page + 1} (keyset: ?after= position {position:,})", f"{spec.url}?after={cursor}", at_position)


def order_cases(spec: ListSpec, org_id: int, prefix: str, size: int) -> list[tuple[str, str, Check]]:
    """(case, URL, check) of one organization's orders list."""
    from orders.lists import OrderListView
    from orders.models import ROW_SORTS

    url = spec.url
    found = f"{prefix}-{size * 3 // 7:07d}"
    sku = CATALOG[42]

    def one_row(result: Result) -> str:
        if result.rows == 1 and result.first_text == found:
            return ""
        return f"{result.rows} rows, the first {result.first_text!r}, for the one order {found}"

    return [
        ("first page", url, nothing_wrong),
        *((f"tab {t}", f"{url}?tab={t}", nothing_wrong) for t in ("pending", "released", "shipped", "attention")),
        (f"search ?q={found}", f"{url}?q={found}", one_row),
        *sort_cases(spec, OrderListView, ROW_SORTS),
        deep_page_case(spec, org_id, size),
        (f"product code {sku}", f"{url}?product_code={sku}", nothing_wrong),
        ("last page ?last=1", f"{url}?last=1", nothing_wrong),
    ]


def rma_cases(spec: ListSpec, org_id: int, prefix: str, size: int) -> list[tuple[str, str, Check]]:
    """(case, URL, check) of one organization's RMA lists."""
    from datetime import timedelta
    from urllib.parse import urlencode

    from django.db import connection

    from rmas.lists import RmaListView
    from rmas.models import ROW_SORTS

    url = spec.url
    with connection.cursor() as cursor:
        cursor.execute("SELECT min(upstream_id), max(start_date) FROM mirror_rma WHERE organization_id = %s", [org_id])
        base, last_day = cursor.fetchone()
        cursor.execute(
            "SELECT manufacturer_serial, upstream_id, rma_id, submission_id FROM rmas_rmarow "
            "WHERE organization_id = %s AND upstream_id = %s",
            [org_id, base + size * 3 // 7],
        )
        serial, number, rma_id, submission_id = cursor.fetchone()
    expected = spec.row_url(rma_id, submission_id)
    month_start = (last_day - timedelta(days=180)).replace(day=1)
    month_end = (month_start + timedelta(days=31)).replace(day=1) - timedelta(days=1)
    month = {"from": month_start.isoformat(), "to": month_end.isoformat()}
    item = RMA_ITEMS[60][1]  # the first Storage item: about 0.4 % of the RMAs

    def one_row(result: Result) -> str:
        if result.rows == 1 and result.first_link == expected:
            return ""
        return f"{result.rows} rows, the first {result.first_link!r}, for the one RMA {expected}"

    def q(**params: str) -> str:
        return f"{url}?{urlencode(params)}"

    return [
        ("first page", url, nothing_wrong),
        *((f"tab {t}", f"{url}?tab={t}", nothing_wrong) for t in ("open", "closed")),
        (f"search one serial ?q={serial}", q(q=serial), one_row),
        (f"search one RMA number ?q={number}", q(q=str(number)), one_row),
        *sort_cases(spec, RmaListView, ROW_SORTS),
        deep_page_case(spec, org_id, size),
        ("status In Repair", q(status="In Repair"), nothing_wrong),
        ("request type 4 (Trial and Stock, 5 %)", q(request_type="4"), nothing_wrong),
        (f"serial {serial[:8]} (10 serials)", q(serial=serial[:8]), nothing_wrong),
        (f"item {item}", q(item=item), nothing_wrong),
        ("item category Storage (12 %)", q(category="Storage"), nothing_wrong),
        (
            f"started {month['from']} to {month['to']}",
            q(started_after=month["from"], started_before=month["to"]),
            nothing_wrong,
        ),
        (
            f"closed {month['from']} to {month['to']}",
            q(closed_after=month["from"], closed_before=month["to"]),
            nothing_wrong,
        ),
        ("last page ?last=1", f"{url}?last=1", nothing_wrong),
    ]


def order_row_url(order_id: int | None, submission_id: int | None) -> str:
    from orders.models import row_url

    return row_url(order_id, submission_id)


def rma_row_url(rma_id: int | None, submission_id: int | None) -> str:
    from rmas.rows import row_url

    return row_url(rma_id, submission_id)


# -- inventory -----------------------------------------------------------------------------------

LOCATIONS = 40  # an organization's inventory locations: each item is stocked at every one
INVENTORY_PRODUCTS = (  # noqa: SIM905
    "StockBox 2000|StockBox 3000|EdgeNode 1U|EdgeNode 2U|GPU Server G8|Storage Array S12|Firewall Appliance F5|"
    "NVR Appliance 16|Kiosk PC K2|Lab Workstation W7|RAID Card 9460|Power Supply 1600W|DIMM 64GB DDR5|NVMe 7.68TB"
).split("|")
ITEM_COLUMNS = (
    "id, organization_id, upstream_id, raw, content_hash, first_seen_at, changed_at, vanished_at, name, description, "
    "item_category_id, serialized, stocked, manufacturer_sku, archived_at"
)
CATALOG_COLUMNS = (
    "id, organization_id, upstream_id, raw, content_hash, first_seen_at, changed_at, vanished_at, customer_sku, "
    "price, item_id"
)
INVENTORY_COLUMNS = (
    "id, organization_id, upstream_id, raw, content_hash, first_seen_at, changed_at, vanished_at, item_id, "
    "inventory_location_id, quantity_on_hand, quantity_allocated, quantity_on_order, average_cost, last_cost, "
    "reorder_level, order_up_to_level, lead_time, updated_upstream_at"
)


@dataclass
class InventoryIds:
    item: int = 0
    catalog: int = 0
    inventory: int = 0
    row: int = 0


def inventory_item_name(k: int) -> str:
    return f"{INVENTORY_PRODUCTS[k % len(INVENTORY_PRODUCTS)]} rev {k // len(INVENTORY_PRODUCTS) + 1}"


def inventory_tables(
    org_id: int, prefix: str, count: int, n: int, ids: InventoryIds, end: float
) -> Iterator[dict[str, list[str]]]:
    """The COPY lines of one organization's items (one per `LOCATIONS` records, 9 in 10 in the catalog)
    and inventory records (each item at every location; about 3 % below their reorder level)."""
    from decimal import Decimal

    from inventory.rows import ROW_FIELDS, derived, row_values

    rng = random.Random(2000 + n)
    item_count = max(1, count // LOCATIONS)
    seen_s = stamp(end - 400 * 86400)
    changed_s = stamp(end - 86400)
    base = 10_000_000 * (n + 1)
    items: list[tuple[int, int, dict[str, Any]]] = []  # (mirror pk, upstream id, row fields)
    catalog: dict[int, tuple[int, str, Decimal]] = {}  # item upstream id -> (mirror pk, customer SKU, price)
    item_lines: list[str] = []
    catalog_lines: list[str] = []
    for k in range(item_count):
        ids.item += 1
        upstream_id = base + k
        name = inventory_item_name(k)
        fields: dict[str, Any] = {
            "name": name,
            "description": f"{name} configured for {prefix}",
            "manufacturer_sku": f"MSKU-{k:06d}" if k % 2 == 0 else "",
            "stocked": k % 3 != 0,
            "serialized": k % 5 != 4,
            "archived": k % 23 == 22,
            "cost": Decimal(rng.randint(1_000, 400_000)) / 100,
        }
        items.append((ids.item, upstream_id, fields))
        item_lines.append(
            "\t".join(
                (
                    str(ids.item),
                    str(org_id),
                    str(upstream_id),
                    copy_text(json.dumps({"id": upstream_id, "name": name})),
                    f"{upstream_id:032x}",
                    seen_s,
                    changed_s,
                    "\\N",
                    name,
                    copy_text(fields["description"]),
                    str(30 + k % 5),
                    "t" if fields["serialized"] else "f",
                    "t" if fields["stocked"] else "f",
                    copy_text(fields["manufacturer_sku"]),
                    changed_s if fields["archived"] else "\\N",
                )
            )
            + "\n"
        )
        if k % 10 != 9:
            ids.catalog += 1
            sku = f"SKU-{k:06d}"
            price = (fields["cost"] * Decimal("1.3")).quantize(Decimal("0.01"))
            catalog[upstream_id] = (ids.catalog, sku, price)
            catalog_lines.append(
                "\t".join(
                    (
                        str(ids.catalog),
                        str(org_id),
                        str(50_000_000 + base + k),
                        copy_text(json.dumps({"id": 50_000_000 + base + k, "customer_sku": sku})),
                        f"{base + k:032x}",
                        seen_s,
                        changed_s,
                        "\\N",
                        sku,
                        str(price),
                        str(upstream_id),
                    )
                )
                + "\n"
            )
    yield {"mirror_item": item_lines, "mirror_catalogitem": catalog_lines}

    for first in range(0, count, BATCH):
        size = min(BATCH, count - first)
        records: list[str] = []
        rows: list[str] = []
        for i in range(first, first + size):
            ids.inventory += 1
            ids.row += 1
            item_pk, item_upstream_id, item = items[i // LOCATIONS % item_count]
            location = 1 + i % LOCATIONS
            upstream_id = 100_000_000 + base + i
            reorder = Decimal(rng.randint(0, 30))
            if reorder and rng.random() < 0.03:
                on_hand = Decimal(rng.randrange(int(reorder)))  # below its reorder level
            else:
                on_hand = Decimal(rng.randint(int(reorder), 500)) + (Decimal("0.5") if rng.random() < 0.1 else 0)
            allocated = Decimal(min(int(on_hand), rng.randint(0, 20)))
            on_order = Decimal(rng.choice((0, 0, 0, 10, 25, 50)))
            average = None if rng.random() < 0.001 else (item["cost"] * Decimal(rng.randint(90, 110)) / 100)
            average = None if average is None else average.quantize(Decimal("0.0001"))
            last = item["cost"]
            up_to = reorder + rng.randint(20, 200)
            lead = None if i % 3 else rng.randint(1, 60)
            updated = stamp(end - rng.uniform(0, 90) * 86400)
            records.append(
                "\t".join(
                    (
                        str(ids.inventory),
                        str(org_id),
                        str(upstream_id),
                        copy_text(json.dumps({"id": upstream_id, "item_id": item_upstream_id})),
                        f"{upstream_id:032x}",
                        seen_s,
                        changed_s,
                        "\\N",
                        str(item_upstream_id),
                        str(location),
                        str(on_hand),
                        str(allocated),
                        str(on_order),
                        copy_text(average),
                        str(last),
                        str(reorder),
                        str(up_to),
                        copy_text(lead),
                        updated,
                    )
                )
                + "\n"
            )
            entry = catalog.get(item_upstream_id)
            values = row_values(
                organization_id=org_id,
                inventory_id=ids.inventory,
                upstream_id=upstream_id,
                item_id=item_pk,
                catalog_item_id=entry[0] if entry else None,
                item_upstream_id=item_upstream_id,
                item_name=item["name"],
                item_description=item["description"],
                manufacturer_sku=item["manufacturer_sku"],
                stocked=item["stocked"],
                serialized=item["serialized"],
                archived=item["archived"],
                customer_sku=entry[1] if entry else "",
                price=entry[2] if entry else None,
                location_id=location,
                quantity_on_hand=on_hand,
                quantity_allocated=allocated,
                quantity_on_order=on_order,
                reorder_level=reorder,
                order_up_to_level=up_to,
                lead_time=lead,
                last_cost=last,
                average_cost=average,
                **derived(on_hand, allocated, average, reorder),
            )
            rows.append("\t".join([str(ids.row), *(copy_text(values[f]) for f in ROW_FIELDS)]) + "\n")
        yield {"mirror_inventory": records, "inventory_inventoryrow": rows}


def inventory_row_fields() -> tuple[str, ...]:
    from inventory.rows import ROW_FIELDS

    return ROW_FIELDS


def inventory_cases(spec: ListSpec, org_id: int, prefix: str, size: int) -> list[tuple[str, str, Check]]:
    """(case, URL, check) of one organization's inventory list."""
    from urllib.parse import urlencode

    from django.db import connection

    from inventory.lists import InventoryListView
    from inventory.models import ROW_SORTS

    url = spec.url
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT upstream_id, item_id, customer_sku, item_name FROM inventory_inventoryrow "
            "WHERE organization_id = %s AND customer_sku <> '' ORDER BY upstream_id OFFSET %s LIMIT 1",
            [org_id, size * 3 // 7],
        )
        number, item_id, sku, name = cursor.fetchone()
    expected = spec.row_url(item_id, None)

    def one_row(result: Result) -> str:
        if result.rows == 1 and result.first_link == expected:
            return ""
        return f"{result.rows} rows, the first {result.first_link!r}, for the one record {number}"

    def one_item(result: Result) -> str:
        if result.rows == LOCATIONS and result.first_link == expected:
            return ""
        return f"{result.rows} rows, the first {result.first_link!r}, for the {LOCATIONS} records of {sku}"

    def q(**params: str) -> str:
        return f"{url}?{urlencode(params)}"

    return [
        ("first page", url, nothing_wrong),
        ("tab below reorder level", q(tab="below"), nothing_wrong),
        (f"search one SKU ?q={sku}", q(q=sku), one_item),
        (f"search one inventory id ?q={number}", q(q=str(number)), one_row),
        *sort_cases(spec, InventoryListView, ROW_SORTS),
        deep_page_case(spec, org_id, size),
        ("location 17 (2.5 %)", q(location="17"), nothing_wrong),
        (f"item {name}", q(item=name), nothing_wrong),
        (f"SKU {sku[:8]} (100 items)", q(sku=sku[:8]), nothing_wrong),
        ("stocked yes (67 %)", q(stocked="1"), nothing_wrong),
        ("serialized no (20 %)", q(serialized="0"), nothing_wrong),
        ("archived yes (4 %)", q(archived="1"), nothing_wrong),
        ("below reorder level, location 17", q(tab="below", location="17"), nothing_wrong),
        ("last page ?last=1", f"{url}?last=1", nothing_wrong),
    ]


def inventory_row_url(item_id: int | None, _submission_id: int | None) -> str:
    from django.urls import reverse

    return reverse("inventory:item", args=[item_id]) if item_id else ""


# -- invoices ------------------------------------------------------------------------------------

INVOICE_COLUMNS = (
    "id, organization_id, upstream_id, raw, content_hash, first_seen_at, changed_at, vanished_at, order_id, "
    "billed_at, total, updated_upstream_at"
)
MONTH_COLUMNS = "id, organization_id, month, invoices, total_cents"
INVOICE_ORDER_PK = 100_000_000  # the mirror orders invoices bill: pks and upstream ids apart from the orders list's
INVOICE_ORDER_UPSTREAM = 300_000_000


@dataclass
class InvoiceIds:
    order: int = INVOICE_ORDER_PK
    invoice: int = 0
    row: int = 0
    month: int = 0


def invoice_tables(
    org_id: int, prefix: str, count: int, n: int, ids: InvoiceIds, end: float
) -> Iterator[dict[str, list[str]]]:
    """The COPY lines of one organization's invoices, billed over three years (a few credits among them), each
    with its `InvoiceRow` (by `invoices.rows.row_values`), the mirror orders they bill (one in ten orders has
    two invoices) and, last, the month totals they add up to (as `invoices.tallies` counts them)."""
    from decimal import Decimal

    from invoices.models import to_cents
    from invoices.rows import ROW_FIELDS, row_values
    from invoices.tallies import month_of

    rng = random.Random(3000 + n)
    span = 3 * 365 * 86400
    start = end - span
    invoice_base = 70_000_000 + 10_000_000 * n
    order_base = INVOICE_ORDER_UPSTREAM + 10_000_000 * n
    months: dict[Any, list[int]] = {}
    order: tuple[int, int, str, str] = (0, 0, "", "")  # (pk, upstream id, customer order, purchase order)
    for first in range(0, count, BATCH):
        size = min(BATCH, count - first)
        orders: list[str] = []
        invoices: list[str] = []
        rows: list[str] = []
        for i in range(first, first + size):
            billed = start + (i + rng.random()) * span / count
            billed_s = stamp(billed)
            if i % 10 != 1:  # every tenth invoice bills the order of the one before it
                ids.order += 1
                k = ids.order - INVOICE_ORDER_PK
                customer_order = f"{prefix}-B{k:07d}"
                purchase_order = f"PO-{rng.randrange(100_000, 1_000_000)}"
                order = (ids.order, order_base + k, customer_order, purchase_order)
                created_s = stamp(billed - rng.uniform(1, 10) * 86400)
                name = f"{rng.choice(FIRST)} {rng.choice(LAST)}"
                method_id, method, _carrier = SHIP_METHODS[k % len(SHIP_METHODS)]
                raw = json.dumps({"id": order[1], "customer_order": customer_order, "status": "Shipped"})
                orders.append(
                    "\t".join(
                        (
                            str(order[0]),
                            str(org_id),
                            str(order[1]),
                            copy_text(raw),
                            f"{order[1]:032x}",
                            created_s,
                            billed_s,
                            "\\N",
                            purchase_order,
                            customer_order,
                            "Shipped",
                            str(method_id),
                            method,
                            name,
                            "",
                            rng.choice(COUNTRIES),
                            created_s,
                            billed_s,
                        )
                    )
                    + "\n"
                )
            ids.invoice += 1
            ids.row += 1
            upstream_id = invoice_base + i
            total = Decimal(rng.randint(5_000, 5_000_000)) / 100
            if rng.random() < 0.005:
                total = -total / 10  # a credit
            raw = json.dumps({"id": upstream_id, "order_id": order[1], "total": float(total)})
            invoices.append(
                "\t".join(
                    (
                        str(ids.invoice),
                        str(org_id),
                        str(upstream_id),
                        copy_text(raw),
                        f"{upstream_id:032x}",
                        billed_s,
                        billed_s,
                        "\\N",
                        str(order[1]),
                        billed_s,
                        str(total),
                        billed_s,
                    )
                )
                + "\n"
            )
            values = row_values(
                organization_id=org_id,
                invoice_id=ids.invoice,
                upstream_id=upstream_id,
                billed_at=billed_s,
                total_cents=to_cents(total),
                updated_at=billed_s,
                order_upstream_id=order[1],
                order_pk=order[0],
                customer_order=order[2],
                purchase_order=order[3],
            )
            rows.append("\t".join([str(ids.row), *(copy_text(values[f]) for f in ROW_FIELDS)]) + "\n")
            tally = months.setdefault(month_of(datetime.fromtimestamp(int(billed), UTC)), [0, 0])
            tally[0] += 1
            tally[1] += values["total_cents"]
        yield {"mirror_order": orders, "mirror_invoice": invoices, "invoices_invoicerow": rows}
    lines = []
    for month, (invoices_in_month, cents) in sorted(months.items()):
        ids.month += 1
        lines.append(f"{ids.month}\t{org_id}\t{month.isoformat()}\t{invoices_in_month}\t{cents}\n")
    yield {"invoices_invoicemonth": lines}


def invoice_row_fields() -> tuple[str, ...]:
    from invoices.rows import ROW_FIELDS

    return ROW_FIELDS


def invoice_cases(spec: ListSpec, org_id: int, prefix: str, size: int) -> list[tuple[str, str, Check]]:
    """(case, URL, check) of one organization's invoices list. The ranges' and the order's cases check the sum the
    page shows against a SUM over every row."""
    from datetime import date, timedelta
    from decimal import Decimal
    from urllib.parse import urlencode

    from django.db import connection

    from invoices.lists import InvoiceListView, amount
    from invoices.models import ROW_SORTS, money

    url = spec.url
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT upstream_id, invoice_id, order_upstream_id, customer_order FROM invoices_invoicerow "
            "WHERE organization_id = %s ORDER BY upstream_id OFFSET %s LIMIT 1",
            [org_id, size * 3 // 7],
        )
        number, invoice_id, order_id, customer_order = cursor.fetchone()
        cursor.execute("SELECT max(billed_at) FROM invoices_invoicerow WHERE organization_id = %s", [org_id])
        last_day = cursor.fetchone()[0].date()
    expected = spec.row_url(invoice_id, None)
    month_start = (last_day - timedelta(days=180)).replace(day=1)
    month_end = (month_start + timedelta(days=31)).replace(day=1) - timedelta(days=1)
    year = (last_day - timedelta(days=500), last_day - timedelta(days=135))  # cut at both ends

    def direct_sum(where: str, params: list[Any]) -> str:
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT COALESCE(SUM(total_cents), 0) FROM invoices_invoicerow WHERE organization_id = %s AND {where}",
                [org_id, *params],
            )
            return amount(money(int(cursor.fetchone()[0])) or Decimal(0))

    def billed(after: date, before: date) -> tuple[str, list[Any]]:
        return "billed_at >= %s AND billed_at < %s", [after, before + timedelta(days=1)]

    def sums_to(expected_total: str, rows: int | None = None) -> Check:
        def check(result: Result) -> str:
            found = re.search(r'id="filtered-total">([^<]*)<', result.html)
            shown = found.group(1) if found else "no sum"
            wrong = [] if shown == expected_total else [f"sum {shown}, a SUM over every row gives {expected_total}"]
            if rows is not None and result.rows != rows:
                wrong.append(f"{result.rows} rows, expected {rows}")
            return "; ".join(wrong)

        return check

    def one_row(result: Result) -> str:
        if result.rows == 1 and result.first_link == expected:
            return ""
        return f"{result.rows} rows, the first {result.first_link!r}, for the one invoice {number}"

    def q(**params: str) -> str:
        return f"{url}?{urlencode(params)}"

    return [
        ("first page", url, sums_to(direct_sum("TRUE", []))),
        *sort_cases(spec, InvoiceListView, ROW_SORTS),
        deep_page_case(spec, org_id, size),
        (
            f"billed {month_start} to {month_end} (one month)",
            q(billed_after=month_start.isoformat(), billed_before=month_end.isoformat()),
            sums_to(direct_sum(*billed(month_start, month_end))),
        ),
        (
            f"billed {year[0]} to {year[1]} (a year, cut months at both ends)",
            q(billed_after=year[0].isoformat(), billed_before=year[1].isoformat()),
            sums_to(direct_sum(*billed(*year))),
        ),
        (
            f"order ?order_id={order_id}",
            q(order_id=str(order_id)),
            sums_to(direct_sum("order_upstream_id = %s", [order_id])),
        ),
        (f"order text ?order={customer_order}", q(order=customer_order), nothing_wrong),
        (f"search one invoice number ?q={number}", q(q=str(number)), one_row),
        ("last page ?last=1", f"{url}?last=1", nothing_wrong),
    ]


def invoice_row_url(invoice_id: int | None, _submission_id: int | None) -> str:
    from django.urls import reverse

    return reverse("invoices:detail", args=[invoice_id])


SPECS = {
    "orders": ListSpec(
        name="orders",
        url="/orders/",
        row_table="orders_orderrow",
        link="order",
        default_sort="created_at",
        copies=(
            ("mirror_order", ORDER_COLUMNS),
            ("mirror_orderline", LINE_COLUMNS),
            ("mirror_ordertrackingnumber", TRACKING_COLUMNS),
            ("orders_orderrow", order_row_fields),
        ),
        tables=order_tables,
        new_ids=Ids,
        add_local=add_local_orders,
        cases=order_cases,
        row_url=order_row_url,
    ),
    "rmas": ListSpec(
        name="rmas",
        url="/rmas/",
        row_table="rmas_rmarow",
        link="rma",
        default_sort="start_date",
        copies=(("mirror_rma", RMA_COLUMNS), ("rmas_rmarow", rma_row_fields)),
        tables=rma_tables,
        new_ids=RmaIds,
        add_local=add_local_rmas,
        cases=rma_cases,
        row_url=rma_row_url,
    ),
    "inventory": ListSpec(
        name="inventory",
        url="/inventory/",
        row_table="inventory_inventoryrow",
        link="item",  # a row links to its item's page
        default_sort="item_name",
        copies=(
            ("mirror_item", ITEM_COLUMNS),
            ("mirror_catalogitem", CATALOG_COLUMNS),
            ("mirror_inventory", INVENTORY_COLUMNS),
            ("inventory_inventoryrow", inventory_row_fields),
        ),
        tables=inventory_tables,
        new_ids=InventoryIds,
        add_local=None,  # no local submissions of stock
        cases=inventory_cases,
        row_url=inventory_row_url,
        descending=False,
        submissions=False,
    ),
    "invoices": ListSpec(
        name="invoices",
        url="/invoices/",
        row_table="invoices_invoicerow",
        link="invoice",
        default_sort="billed_at",
        copies=(
            ("mirror_order", ORDER_COLUMNS),
            ("mirror_invoice", INVOICE_COLUMNS),
            ("invoices_invoicerow", invoice_row_fields),
            ("invoices_invoicemonth", MONTH_COLUMNS),
        ),
        tables=invoice_tables,
        new_ids=InvoiceIds,
        add_local=None,
        cases=invoice_cases,
        row_url=invoice_row_url,
        submissions=False,
    ),
}


# Lists whose fill and cases are a module of their own beside this one (it imports this module, so it is loaded
# only when its list is chosen): list name -> module, whose SPEC is the list.
OWN_MODULES = {"automation": "automation_fill"}


def spec_named(name: str) -> ListSpec:
    if name in SPECS:
        return SPECS[name]
    from importlib import import_module

    return import_module(OWN_MODULES[name]).SPEC


def export_child(slug: str, list_url: str, kind: str = "csv") -> None:
    """In a fresh process: stream one organization's full export (`?export=kind`) of one list through the test
    client."""
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client()
    client.force_login(get_user_model().objects.get(username=slug))
    client.get(list_url)  # the view, its templates and the connection warm
    before = vm("VmHWM")
    with CaptureQueriesContext(connection) as ctx:
        started = time.perf_counter()
        response = client.get(f"{list_url}?export={kind}")
        lines = size = 0
        tail = b""
        for chunk in response.streaming_content:  # type: ignore[attr-defined]
            data = chunk if isinstance(chunk, bytes) else bytes(chunk)
            lines += data.count(b"\n")
            size += len(data)
            tail = (tail + data)[-200:]
        elapsed = time.perf_counter() - started
    last = tail.decode().strip().splitlines()[-1]
    result = {
        "seconds": elapsed,
        "rows": lines - 2,  # the header and the row-count line
        "bytes": size,
        "last": last,
        "queries": len(ctx.captured_queries),
        "hwm_before": before,
        "hwm_after": vm("VmHWM"),
    }
    print(json.dumps(result))


def run_export(slug: str, list_url: str, url: str, kind: str = "csv") -> dict[str, Any]:
    env = {**os.environ, "DATABASE_URL": url}
    out = subprocess.run(
        [sys.executable, __file__, "--export-child", slug, list_url, kind],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    if out.returncode:
        raise SystemExit(out.stderr[-3000:])
    return json.loads(out.stdout.strip().splitlines()[-1])


def explain(sql: str) -> str:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql)
        return "\n".join(row[0] for row in cursor.fetchall())


def main(
    url: str,
    sizes: tuple[int, ...],
    repeat: int,
    explain_over: float,
    do_fill: bool,
    specs: list[ListSpec],
    only: str | None = None,
    home: bool = True,
) -> int:
    """Fill (unless `do_fill` is false) and measure; returns how many cases or exports were wrong."""
    os.environ["DATABASE_URL"] = url
    print(f"database: {url}\n", flush=True)
    if do_fill:
        import home_page  # the home page's own data (bench/home_page.py)

        steps = fill(url, sizes, specs + ([home_page.SPEC] if home else []))
        print("\n| fill step | seconds |\n|---|---:|")
        for step, seconds in steps:
            print(f"| {step} | {seconds:.1f} |")
        print(f"| **total** (without create and migrate) | **{sum(s for _n, s in steps[1:]):.1f}** |\n", flush=True)
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client

    from accounts.models import Organization

    # A full collection of what start-up left (Django, the fill) takes tens of milliseconds and would land
    # in whichever request triggers it: collected once and frozen, as a pre-forking server can do.
    warm = Client()
    warm.force_login(get_user_model().objects.get(username=ORGS[0][0]))
    for spec in specs:
        warm.get(spec.url)
    started = time.perf_counter()
    gc.collect()
    full_gc = (time.perf_counter() - started) * 1000
    gc.freeze()

    slow: list[Result] = []
    wrongs = 0
    for spec in specs:
        results: list[list[Result]] = []
        totals: list[int] = []
        for slug, _name, prefix in ORGS:
            org = Organization.objects.get(slug=slug)
            with connection.cursor() as cursor:
                cursor.execute(f"SELECT count(*) FROM {spec.row_table} WHERE organization_id = %s", [org.pk])
                totals.append(cursor.fetchone()[0])
                cursor.execute(
                    f"SELECT count(*) FROM {spec.row_table} WHERE organization_id = %s AND {spec.link}_id IS NOT NULL",
                    [org.pk],
                )
                size = cursor.fetchone()[0]  # mirrored objects, numbered 0 to size - 1
            client = Client()
            client.force_login(get_user_model().objects.get(username=slug))
            mine = []
            for case, link, check in spec.cases(spec, org.pk, prefix, size):
                if only and not re.search(only, case):
                    continue
                result = measure(client, spec, case, link, repeat)
                wrong = check(result)
                if wrong:
                    print(f"WRONG: {spec.name}, {slug}, {case}: {wrong}", file=sys.stderr, flush=True)
                    result.wrong = wrong
                    wrongs += 1
                mine.append(result)
            results.append(mine)

        big, small = results[0], results[1] if len(results) > 1 else []
        print(
            f"\n{spec.name} list, {totals[0]:,} rows"
            + (f" (second organization: {totals[1]:,})" if len(totals) > 1 else "")
            + f"; {repeat} runs of each case after one warm-up, time around client.get (server time); "
            + f"start-up objects frozen (gc.freeze) after a full collection of {full_gc:.0f} ms\n"
        )
        print(
            "| case | p50 ms | p95 ms | of which SQL (p50) | queries | rows shown | 2nd org p50 ms | 2nd org p95 ms "
            "| 2nd org queries |"
        )
        print("|---|---:|---:|---:|---:|---|---:|---:|---:|")
        for n, r in enumerate(big):
            other = small[n] if n < len(small) else None
            print(
                f"| {r.case} | {r.p50:.1f} | {r.p95:.1f} | {percentile(r.db_times, 50):.0f} | {r.query_text} "
                f"| {r.rows} ({r.summary})"
                + (f" **WRONG: {r.wrong}**" if r.wrong else "")
                + (f" (2nd org **WRONG: {other.wrong}**)" if other and other.wrong else "")
                + " | "
                + (f"{other.p50:.1f} | {other.p95:.1f} | {other.query_text} |" if other else " | | |")
            )

        print()
        for n, (slug, _name, _prefix) in enumerate(ORGS[: len(totals)]):
            for kind, word in spec.exports:
                e = run_export(slug, spec.url, url, kind)
                if kind == "csv":
                    expected = totals[n]
                else:
                    assert spec.export_count is not None, spec.name
                    expected = spec.export_count(kind, Organization.objects.get(slug=slug).pk)
                ok = e["last"] == f"# {e['rows']} {word}" and e["rows"] == expected
                wrongs += 0 if ok else 1
                print(
                    f"{'CSV' if kind == 'csv' else f'?export={kind}'} export of {spec.name}, {slug}: {e['rows']:,} "
                    f"{word} in {e['seconds']:.1f} s = **{e['rows'] / e['seconds']:,.0f} {word}/s**"
                    f" ({e['bytes'] / 1e6:.0f} MB, {e['queries']} queries); peak RSS {e['hwm_before']:.0f} MB "
                    f"before, {e['hwm_after']:.0f} MB after; last line {e['last']!r}"
                    + ("" if ok else f" WRONG COUNT (expected {expected:,})"),
                    flush=True,
                )
        slow += [r for r in [*big, *small] if r.p95 > explain_over]

    if home:
        import home_page

        measured = home_page.measure(repeat)
        slow += [r for r in measured if r.p95 > explain_over]
        wrongs += sum(1 for r in measured if r.wrong)

    for r in sorted(slow, key=lambda r: -r.p95):
        print(f"\n### {r.case}: p95 {r.p95:.1f} ms; its slowest query took {r.slowest_ms:.1f} ms\n")
        print(f"```sql\n{r.slowest_sql}\n```\n\n```\n{explain(r.slowest_sql)}\n```")
    if wrongs:
        print(f"\n{wrongs} cases or exports WRONG (above)", file=sys.stderr)
    return wrongs


if __name__ == "__main__":
    if len(sys.argv) in (4, 5) and sys.argv[1] == "--export-child":
        export_child(*sys.argv[2:])
    else:
        parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
        parser.add_argument("--database-url", help=f"default: {DB_NAME} on the server of DATABASE_URL")
        parser.add_argument(
            "--sizes", type=int, nargs=2, default=SIZES, metavar="ROWS", help="per list: default 1000000 100000"
        )
        names = [*SPECS, *OWN_MODULES]
        parser.add_argument("--lists", nargs="+", choices=names, default=names, help="default: all")
        parser.add_argument("--repeat", type=int, default=REPEAT, help=f"timed runs of each case (default {REPEAT})")
        parser.add_argument(
            "--explain-over", type=float, default=100.0, metavar="MS", help="EXPLAIN cases slower at p95 (default 100)"
        )
        parser.add_argument("--no-fill", action="store_true", help="measure the database an earlier run filled")
        parser.add_argument("--only", metavar="REGEX", help="measure only the cases whose name matches")
        parser.add_argument(
            "--home", action=argparse.BooleanOptionalAction, default=True, help="the home page too (bench/home_page.py)"
        )
        parser.add_argument(
            "--smoke",
            action="store_true",
            help=f"every list and case at {SMOKE_SIZES[0]:,} and {SMOKE_SIZES[1]:,} rows, once, in {SMOKE_DB_NAME}: "
            "the bench still runs and every check holds (CI), not a measurement",
        )
        args = parser.parse_args()
        wrong = main(
            bench_url(args.database_url, SMOKE_DB_NAME if args.smoke else DB_NAME),
            SMOKE_SIZES if args.smoke else tuple(args.sizes),
            1 if args.smoke else args.repeat,
            args.explain_over,
            not args.no_fill,
            [spec_named(name) for name in args.lists],
            args.only,
            args.home,
        )
        sys.exit(1 if wrong else 0)
