"""Load test (issue 15): 50 staff on the portal under gunicorn over a million-row mirror, with locust.

    .venv/bin/python bench/load.py                      # fill (about 6 minutes), then 50 users for 4 minutes
    .venv/bin/python bench/load.py --no-fill            # reuse the database an earlier run filled
    .venv/bin/python bench/load.py --no-fill --users 10 --run-time 1m

What it does, all on loopback and on this machine:

1. the database `portal_bench_load` on 127.0.0.1:5432 (`--database-url` to choose another; never the
   server itself: only this database is dropped and created): unless `--no-fill`, dropped, created, migrated
   and filled by `bench/lists.py`'s own fill (its functions, imported): 1,000,000 orders, RMAs, inventory
   records and invoices and 100,000 automation queues over 1,000,000 tasks for one organization
   ("bench-big"), a tenth of that for a second;
2. a temporary folder for everything the portal and the sandbox write (`PORTAL_VAR_DIR`, logs, the
   sandbox's SQLite file, the scenario's facts), kept and named at the end;
3. the sandbox upstream (`manage.py runsandbox`, its own port, pace off: it moves nothing by itself) with
   the organization's token and secret; the organization is pointed at it, and its countries come in
   through the app's own sync (the order form needs them); 50 staff members with every role;
4. gunicorn (`portal.wsgi`, `--workers` sync workers: 2 x cores + 1 by default) and a Celery worker
   (concurrency 2) on free loopback ports, with a broker of their own: Redis on 127.0.0.1:6379 in database
   `--redis-db` (the cache in the next one), both emptied first, or kombu's filesystem transport in the
   temporary folder (`--redis-db -1`, or when Redis does not answer). No Celery beat: its schedules would
   sync the sandbox's few hundred rows over the million-row mirror;
   Both under the laptop settings (`portal.settings`, DEBUG off) on that PostgreSQL and Redis: the production
   settings send the session cookie over HTTPS only and ask staff for a TOTP code;
5. a warm-up (every page twice per gunicorn worker, as one staff member; not counted), then locust, headless
   and bounded (`bench/locustfile.py`): `--users` staff, of which `--buyers` submit orders through the order
   form and the rest browse, plus one webhook sender posting signed Order Update webhooks (two a second) to
   /webhooks/order-update/; ramped at `--spawn-rate` users a second, for `--run-time`;
6. then waits (up to 60 s) for the worker to deliver the submitted orders to the sandbox and to apply the
   webhooks, stops every process it started (SIGTERM to each one's process group, SIGKILL after 15 s),
   and prints a markdown table per page: requests, p50, p95, p99 (ms, nearest rank over every request of
   the run, the sign-in of each user included), errors, and whether p95 is under 300 ms; then the error
   rate, the CPU each part used (gunicorn, worker, sandbox, locust, and the rest of the machine), the
   orders submitted and delivered, the webhooks sent, accepted and applied, and the load average of the
   machine during the run. The scenario's facts (they hold the organization's webhook secret) are deleted.

Exit status 1 when any request failed (a page not 200, a sign-in or an order not redirected, a webhook not
202) or an order was not delivered; 0 otherwise, whatever the latencies (the table says which pages miss).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import re
import resource
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import redis

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
sys.path[:0] = [str(ROOT), str(BENCH)]
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")

import lists  # noqa: E402  (bench/lists.py: its fill and organizations)

from drills.harness import free_port  # noqa: E402  (the drills' stack picks its ports the same way)

DB_NAME = "portal_bench_load"
FILLED = ("orders", "rmas", "inventory", "invoices", "automation")
ORG = lists.ORGS[0][0]  # "bench-big": 1,000,000 rows per list
PASSWORD = "load-bench-password-not-secret"  # the bench's own users, on loopback only
TARGET_MS = 300.0
SAMPLE = 500  # search terms, order ids, webhook orders: sampled from the filled rows
BIN = Path(sys.executable).parent

# The table's order: pages first, in the order a user meets them, then writes and sign-in.
ORDER = (
    "home",
    "orders: first page",
    "orders: status tab",
    "orders: search",
    "orders: sort",
    "orders: next page (?after=)",
    "order page",
    "RMAs: first page",
    "RMAs: tab",
    "RMAs: search",
    "inventory: first page",
    "inventory: below reorder tab",
    "invoices: first page",
    "invoices: sort",
    "automation board",
    "automation board: live refresh",
    "new order form",
    "order submit (POST)",
    "order submission page",
    "webhook order-update",
    "sign in: form",
    "sign in (POST)",
)


def percentile(values: list[float], p: float) -> float:
    """Nearest rank."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


def cpu_seconds(sessions: dict[str, int]) -> dict[tuple[str, int], float]:
    """CPU seconds (user + system, reaped children included) of each process of the named sessions, by (name,
    pid), and ("machine", 0): every core's busy time (/proc/stat), whoever used it."""
    tick = os.sysconf("SC_CLK_TCK")
    found: dict[tuple[str, int], float] = {}
    by_session = {sid: name for name, sid in sessions.items()}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        name = by_session.get(int(fields[3]))
        if name:
            found[(name, int(stat.parent.name))] = sum(int(v) for v in fields[11:15]) / tick
    user, nice, system, _idle, _iowait, *rest = (int(v) for v in Path("/proc/stat").read_text().split()[1:9])
    found[("machine", 0)] = (user + nice + system + sum(rest)) / tick
    return found


def cpu_used(before: dict[tuple[str, int], float], after: dict[tuple[str, int], float]) -> dict[str, float]:
    """Per name, the CPU its processes used between the two readings."""
    used: dict[str, float] = {}
    for (name, pid), seconds in after.items():
        used[name] = used.get(name, 0.0) + seconds - before.get((name, pid), 0.0)
    return used


def load_average() -> tuple[float, float, float]:
    one, five, fifteen = Path("/proc/loadavg").read_text().split()[:3]
    return float(one), float(five), float(fifteen)


@dataclass
class Stack:
    """The processes this run started, stopped in reverse order whatever happens."""

    folder: Path
    procs: list[tuple[str, subprocess.Popen[bytes]]] = field(default_factory=list)

    def start(self, name: str, argv: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
        log = (self.folder / f"{name}.log").open("wb")
        proc = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        self.procs.append((name, proc))
        return proc

    def stop(self) -> None:
        for _name, proc in reversed(self.procs):
            if proc.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGTERM)  # its own session: the process and its children
        deadline = time.monotonic() + 15
        for name, proc in reversed(self.procs):
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                print(f"{name} did not stop within 15 s: SIGKILL", flush=True)
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        self.procs.clear()

    def check_alive(self) -> None:
        for name, proc in self.procs:
            if proc.poll() is not None:
                tail = (self.folder / f"{name}.log").read_text(errors="replace")[-2000:]
                raise SystemExit(f"{name} exited with {proc.returncode}:\n{tail}")


def wait_for(what: str, predicate: Any, stack: Stack, timeout: float = 60) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        stack.check_alive()
        with contextlib.suppress(OSError, ValueError):
            value = predicate()
            if value:
                return value
        time.sleep(0.25)
    raise SystemExit(f"{what} was not ready within {timeout:.0f} s (logs in {stack.folder})")


def http_status(url: str) -> int:
    with urllib.request.urlopen(url, timeout=5) as response:  # loopback: our own gunicorn
        return int(response.status)


def redis_answers(db: int) -> bool:
    if db < 0:
        return False
    try:
        return bool(redis.Redis(host="127.0.0.1", port=6379, socket_timeout=1).ping())
    except OSError:  # redis-py's ConnectionError is one
        return False


def empty_redis(db: int) -> None:
    """FLUSHDB of this run's own two databases (the broker's and the cache's), nothing else."""
    for n in (db, db + 1):
        if not redis.Redis(host="127.0.0.1", port=6379, db=n, socket_timeout=5).flushdb():
            raise SystemExit(f"Redis refused to empty database {n}")


def fill_database(url: str) -> None:
    specs = [lists.spec_named(name) for name in FILLED]
    print(f"filling {url} (bench/lists.py's fill: {', '.join(FILLED)})", flush=True)
    steps = lists.fill(url, lists.SIZES, specs)
    for step, seconds in steps:
        print(f"  {step}: {seconds:.1f} s", flush=True)


def database_filled(url: str) -> bool:
    import psycopg

    try:
        with psycopg.connect(url, connect_timeout=5) as conn:
            row = conn.execute("SELECT 1 FROM accounts_organization WHERE slug = %s", [ORG]).fetchone()
            return row is not None
    except psycopg.Error:
        return False


def sample(sql: str, params: list[Any]) -> list[Any]:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT setseed(0.42)")
        cursor.execute(sql, params)
        return [row[0] if len(row) == 1 else list(row) for row in cursor.fetchall()]


def prepare(sandbox_url: str, users: int, run: str) -> dict[str, Any]:
    """The organization pointed at the sandbox, its countries synced, its staff; the scenario's facts."""
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.contrib.auth.hashers import make_password

    from accounts.models import Membership, Organization
    from accounts.roles import ALL_ROLES
    from automation.lists import BoardView
    from home import services as home
    from invoices.lists import InvoiceListView
    from mirror.models import Country, ShipMethod
    from orders import readiness
    from orders.lists import OrderListView
    from rmas.lists import RmaListView
    from sandbox.seed import SHIP_METHODS as SANDBOX_SHIP_METHODS
    from sync.engine import run_sync

    org = Organization.objects.get(slug=ORG)
    org.upstream_base_url = sandbox_url
    org.save(update_fields=["upstream_base_url"])
    if not Country.objects.for_org(org).present().exists():
        synced = run_sync(org, "countries", "manual")
        print(f"countries synced from the sandbox: {synced.status}, {synced.created} rows", flush=True)
    gaps = readiness.gaps(org)
    if gaps:
        raise SystemExit(f"the order form would not take an order: {gaps}")

    User = get_user_model()
    encoded = make_password(PASSWORD)  # hashed once, the same for every staff member
    names = [f"load-staff-{n:02d}" for n in range(1, users + 1)]
    for name in names:
        user, _created = User.objects.update_or_create(
            username=name, defaults={"email": f"{name}@example.com", "password": encoded, "is_active": True}
        )
        Membership.objects.update_or_create(user=user, organization=org, defaults={"roles": list(ALL_ROLES)})
    from axes.utils import reset

    reset()  # django-axes: no lock-out left by an earlier run
    started = time.perf_counter()
    home.recompute(org.pk)  # the tallies current at the start, as the worker keeps them
    print(f"home tallies recounted in {time.perf_counter() - started:.1f} s", flush=True)

    def sorts(view: Any) -> list[str]:
        names = [c.name for c in view.columns if c.sortable]
        return [s for name in names for s in (name, f"-{name}")]

    webhook_orders = sample(
        "SELECT upstream_id, customer_order, status FROM orders_orderrow WHERE organization_id = %s "
        "AND order_id IS NOT NULL AND status IN ('Pending', 'Released') ORDER BY random() LIMIT %s",
        [org.pk, SAMPLE * 10],
    )
    return {
        "run": run,
        "users": names,
        "password": PASSWORD,
        "order_tabs": [t.key for t in OrderListView.tabs if t.key],
        "order_sorts": sorts(OrderListView),
        "order_searches": sample(
            "SELECT customer_order FROM orders_orderrow WHERE organization_id = %s AND order_id IS NOT NULL "
            "ORDER BY random() LIMIT %s",
            [org.pk, SAMPLE],
        ),
        "order_ids": sample(
            "SELECT order_id FROM orders_orderrow WHERE organization_id = %s AND order_id IS NOT NULL "
            "ORDER BY random() LIMIT %s",
            [org.pk, SAMPLE],
        ),
        "rma_tabs": [t.key for t in RmaListView.tabs if t.key],
        "rma_searches": sample(
            "SELECT manufacturer_serial FROM rmas_rmarow WHERE organization_id = %s AND rma_id IS NOT NULL "
            "ORDER BY random() LIMIT %s",
            [org.pk, SAMPLE],
        ),
        "invoice_sorts": sorts(InvoiceListView),
        "board_tabs": [t.key for t in BoardView().tabs],
        "refresh_seconds": settings.AUTOMATION_REFRESH_SECONDS,
        "ship_methods": sorted(
            set(ShipMethod.objects.for_org(org).present().values_list("upstream_id", flat=True))
            & {m[0] for m in SANDBOX_SHIP_METHODS}
        ),
        "webhook_token": org.upstream_token,
        "webhook_secret": org.get_upstream_secret(),
        "webhook_orders": [{"id": i, "customer_order": c, "status": s} for i, c, s in webhook_orders],
    }


def outcomes(run: str, since: datetime) -> dict[str, Any]:
    """What the worker made of the run's orders and webhooks."""
    from django.db.models import Count

    from orders.models import OrderSubmission
    from outbox.models import Delivery
    from webhooks.models import WebhookDelivery

    orders = OrderSubmission.objects.filter(customer_order__startswith=f"LOAD-{run}-")
    by_status = dict(
        orders.values_list("delivery__status").annotate(n=Count("id")).values_list("delivery__status", "n")
    )
    hooks = WebhookDelivery.objects.filter(received_at__gte=since)
    hook_status = dict(hooks.values_list("status").annotate(n=Count("id")).values_list("status", "n"))
    return {
        "orders": orders.count(),
        "orders_by_status": by_status,
        "orders_delivered": by_status.get(Delivery.Status.SUCCEEDED, 0),
        "webhooks": hooks.count(),
        "webhooks_by_status": hook_status,
        "webhooks_pending": hook_status.get(WebhookDelivery.Status.RECEIVED, 0),
    }


def settle(run: str, since: datetime, timeout: float = 60) -> dict[str, Any]:
    """Wait for the worker: every submitted order delivered and every webhook applied (or the timeout)."""
    deadline = time.monotonic() + timeout
    while True:
        found = outcomes(run, since)
        if (found["orders"] == found["orders_delivered"] and not found["webhooks_pending"]) or (
            time.monotonic() > deadline
        ):
            return found
        time.sleep(1)


def warm_up(host: str, config: dict[str, Any], workers: int) -> int:
    """Every page, twice per gunicorn worker, as one signed-in staff member, before the measured run (a
    long-lived worker has compiled its templates and opened its connection): not counted. Returns requests."""
    import http.cookiejar
    from urllib.parse import quote, urlencode

    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
    with opener.open(f"{host}/accounts/login/", timeout=30) as response:
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', response.read().decode())
    if token is None:
        raise SystemExit("warm-up: no CSRF token on the login page")
    form = {"username": config["users"][0], "password": config["password"], "csrfmiddlewaretoken": token[1]}
    with opener.open(f"{host}/accounts/login/", data=urlencode(form).encode(), timeout=30) as response:
        if response.url != f"{host}/":
            raise SystemExit(f"warm-up: signing in led to {response.url}")
    urls = [
        "/",
        "/orders/",
        f"/orders/?tab={config['order_tabs'][0]}",
        f"/orders/?q={quote(config['order_searches'][0])}",
        f"/orders/?sort={config['order_sorts'][0]}",
        f"/orders/{config['order_ids'][0]}/",
        "/rmas/",
        f"/rmas/?tab={config['rma_tabs'][0]}",
        f"/rmas/?q={quote(config['rma_searches'][0])}",
        "/inventory/",
        "/inventory/?tab=below",
        "/invoices/",
        f"/invoices/?sort={config['invoice_sorts'][0]}",
        "/automation/",
        "/orders/new/",
    ]
    for _round in range(2 * workers):
        for path in urls:
            with opener.open(f"{host}{path}", timeout=30) as response:
                response.read()
    return 2 * workers * len(urls) + 2


def sample_load(samples: list[tuple[float, float, float]], stop: threading.Event) -> None:
    while not stop.wait(10):
        samples.append(load_average())


def report(results: dict[str, Any], seconds: float) -> tuple[int, int, list[str]]:
    times: dict[str, list[float]] = results["times"]
    failed: dict[str, int] = results["failed"]
    names = [n for n in ORDER if n in times] + sorted(n for n in times if n not in ORDER)
    print(
        "\n| page | requests | p50 ms | p95 ms | p99 ms | errors | p95 < 300 ms |\n|---|---:|---:|---:|---:|---:|---|"
    )
    missed = []
    for name in names:
        values = times[name]
        p95 = percentile(values, 95)
        ok = p95 < TARGET_MS
        if not ok:
            missed.append(name)
        print(
            f"| {name} | {len(values):,} | {percentile(values, 50):.0f} | {p95:.0f} | {percentile(values, 99):.0f} "
            f"| {failed.get(name, 0)} | {'yes' if ok else '**no**'} |"
        )
    total = sum(len(v) for v in times.values())
    errors = sum(failed.values())
    every = [t for v in times.values() for t in v]
    if every:
        print(
            f"| **all requests** | **{total:,}** | **{percentile(every, 50):.0f}** | **{percentile(every, 95):.0f}** "
            f"| **{percentile(every, 99):.0f}** | **{errors}** | |"
        )
    print(f"\n{total:,} requests in {seconds:.0f} s ({total / max(seconds, 1):.1f}/s); ", end="")
    print(f"errors: {errors} ({100 * errors / max(total, 1):.2f} %)")
    for name, messages in results.get("errors", {}).items():
        for message in messages:
            print(f"  error, {name}: {message}")
    return total, errors, missed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--run-time", default="4m", help="locust's --run-time (default 4m)")
    parser.add_argument("--users", type=int, default=50, help="staff users, buyers included (default 50)")
    parser.add_argument("--buyers", type=int, help="of the users, how many submit orders (default users / 10)")
    parser.add_argument("--spawn-rate", type=float, default=1.0, help="users started a second (default 1)")
    parser.add_argument("--workers", type=int, default=2 * (os.cpu_count() or 1) + 1, help="gunicorn workers")
    parser.add_argument("--no-fill", action="store_true", help="reuse the database an earlier run filled")
    parser.add_argument("--database-url", default=f"{lists.SERVER}/{DB_NAME}", help=f"default: {DB_NAME}")
    parser.add_argument(
        "--redis-db", type=int, default=11, help="Redis database of the broker (the cache: the next one); -1: none"
    )
    args = parser.parse_args()
    buyers = max(1, args.users // 10) if args.buyers is None else args.buyers
    if not 0 <= buyers < args.users:
        parser.error("--buyers must leave at least one browsing user")
    url = args.database_url
    if not url.startswith(("postgres://", "postgresql://")):
        parser.error("--database-url must name a PostgreSQL database")

    folder = Path(tempfile.mkdtemp(prefix="portal-load-"))
    os.environ.update({"DATABASE_URL": url, "PORTAL_VAR_DIR": str(folder / "var")})
    use_redis = redis_answers(args.redis_db)
    if use_redis:
        empty_redis(args.redis_db)
        os.environ["CELERY_BROKER_URL"] = f"redis://127.0.0.1:6379/{args.redis_db}"
        os.environ["REDIS_URL"] = f"redis://127.0.0.1:6379/{args.redis_db + 1}"
    else:
        os.environ["CELERY_BROKER_URL"] = "filesystem://"
        os.environ.pop("REDIS_URL", None)
    print(f"load test: files in {folder}; database {url}; broker {os.environ['CELERY_BROKER_URL']}", flush=True)

    if not args.no_fill:
        fill_database(url)
    elif not database_filled(url):
        raise SystemExit(f"{url} is not filled: run without --no-fill first")
    else:
        subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, check=True)

    import django

    django.setup()
    from accounts.models import Organization

    run = datetime.now(UTC).strftime("%Y%m%d%H%M%S")
    env = dict(os.environ)
    stack = Stack(folder)
    try:
        org = Organization.objects.get(slug=ORG)
        sandbox_port = free_port()
        sandbox_env = {**env, "SANDBOX_SECRET": org.get_upstream_secret()}
        stack.start(
            "sandbox",
            [
                str(BIN / "python"),
                "manage.py",
                "runsandbox",
                "--port",
                str(sandbox_port),
                "--db",
                str(folder / "sandbox.sqlite3"),
                "--seed-org",
                f"{org.upstream_token}::{org.upstream_organization_id}",
                "--pace",
                "off",
            ],
            sandbox_env,
        )
        sandbox_url = f"http://127.0.0.1:{sandbox_port}"
        wait_for("the sandbox", lambda: "sandbox upstream on" in (folder / "sandbox.log").read_text(), stack)
        config = prepare(sandbox_url, args.users, run)
        config_path = folder / "scenario.json"
        config_path.touch(mode=0o600)  # it holds the organization's webhook secret
        config_path.write_text(json.dumps(config))

        web_port = free_port()
        stack.start(
            "gunicorn",
            [
                str(BIN / "gunicorn"),
                "portal.wsgi",
                "--bind",
                f"127.0.0.1:{web_port}",
                "--workers",
                str(args.workers),
                "--timeout",
                "60",
            ],
            env,
        )
        stack.start(
            "worker",
            [
                str(BIN / "celery"),
                "-A",
                "portal",
                "worker",
                "-l",
                "INFO",
                "--concurrency",
                "2",
                "-n",
                f"load-{run}@%h",
                "--without-gossip",
                "--without-mingle",
            ],
            env,
        )
        host = f"http://127.0.0.1:{web_port}"
        wait_for("gunicorn", lambda: http_status(f"{host}/accounts/login/") == 200, stack)
        wait_for("the Celery worker", lambda: " ready." in (folder / "worker.log").read_text(), stack)

        warmed = warm_up(host, config, args.workers)
        before = load_average()
        print(
            f"gunicorn ({args.workers} workers) on {host}, warmed up by {warmed} requests (not counted), "
            f"worker (2 processes), sandbox on {sandbox_url}; "
            f"load average before the run: {before[0]:.2f} {before[1]:.2f} {before[2]:.2f} "
            f"({os.cpu_count()} cores)",
            flush=True,
        )
        samples: list[tuple[float, float, float]] = []
        stop_sampling = threading.Event()
        sampler = threading.Thread(target=sample_load, args=(samples, stop_sampling), daemon=True)
        sampler.start()
        since = datetime.now(UTC)
        sessions = {name: proc.pid for name, proc in stack.procs}  # each started in a session of its own
        cpu_before = cpu_seconds(sessions)
        children_before = resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.monotonic()
        results_path = folder / "results.json"
        locust = subprocess.run(
            [
                str(BIN / "locust"),
                "-f",
                str(BENCH / "locustfile.py"),
                "--headless",
                "--host",
                host,
                "-u",
                str(args.users + 1),  # the webhook sender is not a person
                "-r",
                str(args.spawn_rate),
                "--run-time",
                args.run_time,
                "--stop-timeout",
                "10",
                "--only-summary",
                "--csv",
                str(folder / "locust"),
                "--loglevel",
                "WARNING",
            ],
            cwd=ROOT,
            env={
                **env,
                "LOAD_CONFIG": str(config_path),
                "LOAD_RESULTS": str(results_path),
                "LOAD_BUYERS": str(buyers),
            },
            stdout=(folder / "locust.log").open("wb"),
            stderr=subprocess.STDOUT,
            timeout=parse_seconds(args.run_time) + 120,
        )
        seconds = time.monotonic() - started
        stop_sampling.set()
        stack.check_alive()
        cpu_after = cpu_seconds(sessions)
        children = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = cpu_used(cpu_before, cpu_after)
        cpu["locust"] = (children.ru_utime + children.ru_stime) - (children_before.ru_utime + children_before.ru_stime)
        if not results_path.exists():
            tail = (folder / "locust.log").read_text(errors="replace")[-3000:]
            raise SystemExit(f"locust wrote no results (exit {locust.returncode}):\n{tail}")
        settled = settle(run, since)
    finally:
        stack.stop()
        (folder / "scenario.json").unlink(missing_ok=True)

    results = json.loads(results_path.read_text())
    print(
        f"\n{args.users} staff ({args.users - buyers} browsing, {buyers} ordering) and one webhook sender for "
        f"{args.run_time} (ramp {args.spawn_rate:g} users/s), gunicorn {args.workers} workers, "
        f"{datetime.now(UTC):%Y-%m-%d}, {os.cpu_count()} cores"
    )
    total, errors, missed = report(results, seconds)
    ones = [s[0] for s in samples] or [before[0]]
    print(
        f"load average: {before[0]:.2f} before the run; during it (1-minute, every 10 s) "
        f"{min(ones):.2f}–{max(ones):.2f}"
    )
    cores = os.cpu_count() or 1
    machine = cpu.pop("machine", 0.0)
    cpu["PostgreSQL, the kernel and any other process"] = machine - sum(cpu.values())
    print(
        f"CPU used during the run, of {cores} cores x {seconds:.0f} s: "
        + ", ".join(f"{name} {used:.0f} s ({100 * used / (cores * seconds):.0f} %)" for name, used in cpu.items())
        + f"; the whole machine {machine:.0f} s ({100 * machine / (cores * seconds):.0f} %)"
    )
    sent = len(results["times"].get("webhook order-update", []))
    accepted = sent - results["failed"].get("webhook order-update", 0)
    print(
        f"orders submitted: {settled['orders']}, delivered to the upstream: {settled['orders_delivered']} "
        f"(by delivery status: {settled['orders_by_status']})"
    )
    print(
        f"webhooks sent: {sent}, accepted (202): {accepted}, stored: {settled['webhooks']}, "
        f"by status after the worker: {settled['webhooks_by_status']}"
    )
    print(f"p95 under {TARGET_MS:.0f} ms: " + ("every page" if not missed else f"missed by {', '.join(missed)}"))
    print(f"logs and locust's CSV files: {folder}")
    undelivered = settled["orders"] - settled["orders_delivered"]
    if undelivered:
        print(f"{undelivered} submitted orders were not delivered within 60 s of the end")
    return 1 if errors or undelivered or not total else 0


def parse_seconds(text: str) -> int:
    """locust's --run-time ("90", "90s", "4m", "1h30m") in seconds."""
    parts = re.findall(r"(\d+)\s*([hms]?)", text)
    if not parts:
        raise SystemExit(f"--run-time {text!r}: expected e.g. 90s, 4m or 1h30m")
    return sum(int(n) * {"h": 3600, "m": 60, "s": 1, "": 1}[unit] for n, unit in parts)


if __name__ == "__main__":
    sys.exit(main())
