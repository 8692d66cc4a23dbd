"""Benchmark: the orders list at a million rows, on PostgreSQL.

Fills one organization with 1,000,000 mirror orders (two lines each, a tracking number per
shipped order, one `OrderRow` each, computed by `orders.rows.row_values` as the app writes
it) and a second with 100,000, with COPY; adds a few hundred local submissions through the
app's own `orders.rows.refresh`. Then, through Django's test client as a member with every
role, it times each page of the orders list several times (after one warm-up) and counts its
queries:

- the first page, each status tab, a search for one customer order, a sort by each sortable
  column both ways, the page after 500 pages of 50 (its keyset equivalent: `?after=` the cursor
  of the row at position 24,999, checked to start at position 25,000), a product-code filter
  and the last page;
- the same cases on the second organization, to show the query count does not grow;
- a full CSV export of each organization in a fresh process: rows/s, and the peak RSS
  (VmHWM) before and after, which stays flat.

    .venv/bin/python bench/lists.py                  # fill, then measure
    .venv/bin/python bench/lists.py --no-fill        # measure the database of the last run

The database (`portal_bench_lists` on the server of DATABASE_URL if that is PostgreSQL, else
on 127.0.0.1:5432; `--database-url` to choose) is dropped, created afresh and migrated. The
COPY drops the secondary indexes of the four tables it fills and builds them afterwards (much
faster than maintaining a dozen indexes, a trigram one among them, row by row), then runs
VACUUM ANALYZE (autovacuum may be off). Before measuring, the objects start-up left are collected
once and frozen (gc.freeze), so that a full collection (tens of ms) does not land in a timed request.
Prints markdown tables, and EXPLAIN (ANALYZE, BUFFERS) of the slowest query of any case slower than
`--explain-over` ms at p95.
"""

from __future__ import annotations

import argparse
import gc
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
REPEAT = 7
PER_PAGE = 50
PAGE = 500  # the page the keyset case stands for
BATCH = 20_000  # orders per COPY write
LOCAL_ROWS = (300, 30)  # local submissions (rows the mirror has not got yet) per organization
TABLES = ("mirror_order", "mirror_orderline", "mirror_ordertrackingnumber", "orders_orderrow")
ORGS = (("bench-big", "Acme Bench", "SEED"), ("bench-small", "Globex Bench", "GLBX"))
LIST_URL = "/orders/"

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


def bench_url(explicit: str | None) -> str:
    if explicit:
        return explicit
    current = os.environ.get("DATABASE_URL", "")
    server = current.rsplit("/", 1)[0] if current.startswith(("postgres://", "postgresql://")) else SERVER
    return f"{server}/{DB_NAME}"


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
    text's newlines)."""
    if value is None:
        return "\\N"
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


def secondary_indexes(conn: Any) -> list[tuple[str, str, str, str | None]]:
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
        [list(TABLES)],
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


def add_local_rows(org: Any, count: int, seed: int) -> None:
    """Submissions the mirror has not got yet, in every delivery status, their rows written by the app."""
    from decimal import Decimal

    from orders.models import OrderSubmission, OrderSubmissionLine
    from orders.rows import refresh
    from outbox.models import Delivery

    rng = random.Random(seed)
    statuses = [s for s in Delivery.Status if s != Delivery.Status.CONFLICT]
    deliveries = Delivery.objects.bulk_create(
        [
            Delivery(
                organization=org,
                kind=Delivery.Kind.ORDER_CREATE,
                method="POST",
                path="/v2/customer_order_submissions",
                body="{}",
                status=statuses[k % len(statuses)],
            )
            for k in range(count)
        ]
    )
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


def fill(url: str, sizes: tuple[int, ...]) -> list[tuple[str, float]]:
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

    with psycopg.connect(url, autocommit=True) as conn:
        indexes = secondary_indexes(conn)
        for table, index, _sql, constraint in indexes:
            if constraint:
                conn.execute(f'ALTER TABLE "{table}" DROP CONSTRAINT "{constraint}"')
            else:
                conn.execute(f'DROP INDEX "{index}"')

    started = time.perf_counter()
    end = float(int(time.time()) // 86400 * 86400 - 86400)  # the last order: yesterday
    ids = Ids()
    totals = dict.fromkeys(TABLES, 0)
    with ExitStack() as stack:
        conns = [stack.enter_context(psycopg.connect(url)) for _ in TABLES]
        copies = []
        for conn, table, columns in zip(
            conns,
            TABLES,
            (ORDER_COLUMNS, LINE_COLUMNS, TRACKING_COLUMNS, "id, " + ", ".join(_row_fields())),
            strict=True,
        ):
            # The generated rows reference each other correctly; replica role skips the row-by-row FK triggers.
            conn.execute("SET session_replication_role = replica")
            cursor = conn.cursor()
            copy_sql = f"COPY {table} ({columns}) FROM STDIN"
            copies.append(stack.enter_context(cursor.copy(copy_sql, writer=QueuedLibpqWriter(cursor))))
        for n, ((_slug, _name, prefix), org, size) in enumerate(zip(ORGS, orgs, sizes, strict=False)):
            for batch in org_batches(org.pk, prefix, size, 10_000_000 * (n + 1), ids, end, seed=n):
                for table, copy, lines in zip(
                    TABLES, copies, (batch.orders, batch.lines, batch.tracking, batch.rows), strict=True
                ):
                    copy.write("".join(lines))
                    totals[table] += len(lines)
        generated = time.perf_counter() - started
    # Leaving the stack ended each COPY and committed its connection.
    copied = time.perf_counter() - started
    steps.append((f"COPY 4 tables at once (rows made by Python and row_values in {generated:.1f} s of it)", copied))

    started = time.perf_counter()
    with psycopg.connect(url, autocommit=True) as conn:
        for table in TABLES:
            conn.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))")
    # The trigram index first (the longest, and not built in parallel), the B-trees beside it.
    creates = [sql for _t, _i, sql, _c in sorted(indexes, key=lambda x: " gin " not in x[2])]
    took = in_parallel(url, creates, workers=2, setup=("SET maintenance_work_mem = '1GB'",))
    with psycopg.connect(url, autocommit=True) as conn:
        for table, index, _sql, constraint in indexes:
            if constraint:
                conn.execute(f'ALTER TABLE "{table}" ADD CONSTRAINT "{constraint}" UNIQUE USING INDEX "{index}"')
    gin = next((t for sql, t in took.items() if " gin " in sql), 0.0)
    steps.append(
        (
            f"build the {len(indexes)} secondary indexes again, 2 at a time (the trigram one: {gin:.1f} s; "
            f"the {len(took) - 1} B-trees: {sum(took.values()) - gin:.1f} s)",
            time.perf_counter() - started,
        )
    )

    started = time.perf_counter()
    for n, (org, count) in enumerate(zip(orgs, LOCAL_ROWS, strict=False)):
        add_local_rows(org, count, seed=100 + n)
    steps.append(
        (
            f"{' + '.join(map(str, LOCAL_ROWS[: len(orgs)]))} local submissions (orders.rows.refresh)",
            time.perf_counter() - started,
        )
    )

    started = time.perf_counter()
    in_parallel(url, [f"VACUUM (ANALYZE) {t}" for t in TABLES], workers=2)
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


def _row_fields() -> tuple[str, ...]:
    from orders.rows import ROW_FIELDS

    return ROW_FIELDS


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


def page_facts(html: str) -> tuple[int, str, str, str]:
    """(rows on the page, the summary line, the first row's link and its text)."""
    summary = re.search(r'id="list-summary">(.*?)</p>', html, re.S)
    body = html.split("<tbody>", 1)[-1].split("</tbody>", 1)[0]
    rows = body.count("<tr>") - (1 if "colspan=" in body else 0)
    link = re.search(r'<a href="(/orders/[^"]+)">([^<]*)</a>', body)
    return (
        rows,
        summary.group(1).strip() if summary else "?",
        link.group(1) if link else "",
        link.group(2) if link else "",
    )


def measure(client: Any, case: str, url: str, repeat: int) -> Result:
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
            elapsed = time.perf_counter() - started
        assert response.status_code == 200, (url, response.status_code)
        times.append(elapsed * 1000)
        queries.append(len(ctx.captured_queries))
        db_times.append(sum(float(q["time"]) for q in ctx.captured_queries) * 1000)
        html = response.content.decode()
        captured = list(ctx.captured_queries)
    rows, summary, link, text = page_facts(html)
    slowest = max(captured, key=lambda q: float(q["time"]))
    return Result(
        case, times, queries, db_times, rows, summary, link, text, slowest["sql"], float(slowest["time"]) * 1000
    )


def keyset_cursor(org_id: int, position: int) -> tuple[str, str]:
    """The `after` cursor of the row at `position` of the default sort, and the link of the row after it."""
    from django.db import connection

    from orders.models import row_url
    from portal.lists import Cursor

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT created_at, id, order_id, submission_id FROM orders_orderrow WHERE organization_id = %s "
            "ORDER BY created_at DESC, id DESC OFFSET %s LIMIT 2",
            [org_id, position],
        )
        (value, id_, _o, _s), (_v, _i, order_id, submission_id) = cursor.fetchall()
    return Cursor(value, id_, position).encode(), row_url(order_id, submission_id)


Check = Callable[[Result], str]  # what is wrong with a case's page ("" if nothing)


def nothing_wrong(result: Result) -> str:
    return ""


def cases(org_id: int, prefix: str, size: int, sku: str) -> list[tuple[str, str, Check]]:
    """(case, URL, check) of one organization."""
    from orders.lists import OrderListView
    from orders.models import ROW_SORTS

    sortable = [c.name for c in OrderListView.columns if c.sortable]
    if sorted(sortable) != sorted(ROW_SORTS):
        print(f"note: sortable columns {sortable} differ from ROW_SORTS {list(ROW_SORTS)}", file=sys.stderr)
    position = PAGE * PER_PAGE - 1  # the last row of page 500: the next page starts at position 25,000
    cursor, expected = keyset_cursor(org_id, position)
    found = f"{prefix}-{size * 3 // 7:07d}"

    def one_row(result: Result) -> str:
        if result.rows == 1 and result.first_text == found:
            return ""
        return f"{result.rows} rows, the first {result.first_text!r}, for the one order {found}"

    def at_position(result: Result) -> str:
        wrong = []
        if result.first_link != expected:
            wrong.append(f"first row {result.first_link}, expected {expected} (position {position + 1:,})")
        if not result.summary.startswith(f"Showing {position + 2:,}–"):
            wrong.append(f"summary {result.summary!r}, expected 'Showing {position + 2:,}–...'")
        return "; ".join(wrong)

    out: list[tuple[str, str, Check]] = [
        ("first page", LIST_URL, nothing_wrong),
        *((f"tab {t}", f"{LIST_URL}?tab={t}", nothing_wrong) for t in ("pending", "released", "shipped", "attention")),
        (f"search ?q={found}", f"{LIST_URL}?q={found}", one_row),
    ]
    for name in sortable:
        out += [(f"sort {s}", f"{LIST_URL}?sort={s}", nothing_wrong) for s in (name, f"-{name}")]
    out += [
        (f"page {PAGE + 1} (keyset: ?after= position {position:,})", f"{LIST_URL}?after={cursor}", at_position),
        (f"product code {sku}", f"{LIST_URL}?product_code={sku}", nothing_wrong),
        ("last page ?last=1", f"{LIST_URL}?last=1", nothing_wrong),
    ]
    return out


def export_child(slug: str) -> None:
    """In a fresh process: stream one organization's full CSV export through the test client."""
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client()
    client.force_login(get_user_model().objects.get(username=slug))
    client.get(LIST_URL)  # the view, its templates and the connection warm
    before = vm("VmHWM")
    with CaptureQueriesContext(connection) as ctx:
        started = time.perf_counter()
        response = client.get(LIST_URL + "?export=csv")
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


def run_export(slug: str, url: str) -> dict[str, Any]:
    env = {**os.environ, "DATABASE_URL": url}
    out = subprocess.run(
        [sys.executable, __file__, "--export-child", slug], cwd=ROOT, env=env, capture_output=True, text=True
    )
    if out.returncode:
        raise SystemExit(out.stderr[-3000:])
    return json.loads(out.stdout.strip().splitlines()[-1])


def explain(sql: str) -> str:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql)
        return "\n".join(row[0] for row in cursor.fetchall())


def main(url: str, sizes: tuple[int, ...], repeat: int, explain_over: float, do_fill: bool) -> None:
    os.environ["DATABASE_URL"] = url
    print(f"database: {url}\n", flush=True)
    if do_fill:
        steps = fill(url, sizes)
        print("\n| fill step | seconds |\n|---|---:|")
        for step, seconds in steps:
            print(f"| {step} | {seconds:.1f} |")
        print(f"| **total** (without create and migrate) | **{sum(s for _n, s in steps[1:]):.1f}** |\n", flush=True)
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.test import Client

    from accounts.models import Organization
    from mirror.models import Order
    from orders.models import OrderRow

    # A full collection of what start-up left (Django, the fill) takes tens of milliseconds and would land
    # in whichever request triggers it: collected once and frozen, as a pre-forking server can do.
    warm = Client()
    warm.force_login(get_user_model().objects.get(username=ORGS[0][0]))
    warm.get(LIST_URL)
    started = time.perf_counter()
    gc.collect()
    full_gc = (time.perf_counter() - started) * 1000
    gc.freeze()

    results: list[list[Result]] = []
    totals: list[int] = []
    for slug, _name, prefix in ORGS:
        org = Organization.objects.get(slug=slug)
        totals.append(OrderRow.objects.filter(organization=org).count())
        client = Client()
        client.force_login(get_user_model().objects.get(username=slug))
        sku = CATALOG[42]
        size = Order.objects.filter(organization=org).count()  # named {prefix}-0000001 to {prefix}-{size}
        mine = []
        for case, link, check in cases(org.pk, prefix, size, sku):
            result = measure(client, case, link, repeat)
            wrong = check(result)
            if wrong:
                print(f"WRONG: {slug}, {case}: {wrong}", file=sys.stderr, flush=True)
                result.wrong = wrong
            mine.append(result)
        results.append(mine)

    big, small = results[0], results[1] if len(results) > 1 else []
    print(
        f"orders list, {totals[0]:,} rows"
        + (f" (second organization: {totals[1]:,})" if len(totals) > 1 else "")
        + f"; {repeat} runs of each case after one warm-up, time around client.get (server time); "
        + f"start-up objects frozen (gc.freeze) after a full collection of {full_gc:.0f} ms\n"
    )
    print("| case | p50 ms | p95 ms | of which SQL (p50) | queries | rows shown | 2nd org p50 ms | 2nd org queries |")
    print("|---|---:|---:|---:|---:|---|---:|---:|")
    for n, r in enumerate(big):
        other = small[n] if n < len(small) else None
        print(
            f"| {r.case} | {r.p50:.1f} | {r.p95:.1f} | {percentile(r.db_times, 50):.0f} | {r.query_text} "
            f"| {r.rows} ({r.summary})"
            + (f" **WRONG: {r.wrong}**" if r.wrong else "")
            + (f" (2nd org **WRONG: {other.wrong}**)" if other and other.wrong else "")
            + " | "
            + (f"{other.p50:.1f} | {other.query_text} |" if other else " | |")
        )

    print()
    for n, (slug, _name, _prefix) in enumerate(ORGS[: len(totals)]):
        e = run_export(slug, url)
        ok = e["last"] == f"# {e['rows']} rows" and e["rows"] == totals[n]
        print(
            f"CSV export, {slug}: {e['rows']:,} rows in {e['seconds']:.1f} s = "
            f"**{e['rows'] / e['seconds']:,.0f} rows/s**"
            f" ({e['bytes'] / 1e6:.0f} MB, {e['queries']} queries); peak RSS {e['hwm_before']:.0f} MB before, "
            f"{e['hwm_after']:.0f} MB after; last line {e['last']!r}" + ("" if ok else " WRONG COUNT"),
            flush=True,
        )

    slow = [r for r in [*big, *small] if r.p95 > explain_over]
    for r in sorted(slow, key=lambda r: -r.p95):
        print(f"\n### {r.case}: p95 {r.p95:.1f} ms; its slowest query took {r.slowest_ms:.1f} ms\n")
        print(f"```sql\n{r.slowest_sql}\n```\n\n```\n{explain(r.slowest_sql)}\n```")


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--export-child":
        export_child(sys.argv[2])
    else:
        parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
        parser.add_argument("--database-url", help=f"default: {DB_NAME} on the server of DATABASE_URL")
        parser.add_argument(
            "--sizes", type=int, nargs=2, default=SIZES, metavar="ORDERS", help="default: 1000000 100000"
        )
        parser.add_argument("--repeat", type=int, default=REPEAT, help=f"timed runs of each case (default {REPEAT})")
        parser.add_argument(
            "--explain-over", type=float, default=100.0, metavar="MS", help="EXPLAIN cases slower at p95 (default 100)"
        )
        parser.add_argument("--no-fill", action="store_true", help="measure the database an earlier run filled")
        args = parser.parse_args()
        main(bench_url(args.database_url), tuple(args.sizes), args.repeat, args.explain_over, not args.no_fill)
