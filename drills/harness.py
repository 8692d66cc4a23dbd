"""The drills' stack: private PostgreSQL and Redis, the whole portal under `runstack`, and the books.

`Stack` starts a PostgreSQL cluster (initdb in a temporary folder, on a free port) and a Redis
server (on a free port, no persistence) of its own, never the machine's, migrates and loads the
demo, and runs `manage.py runstack` (web, sandbox, worker, beat) against them with Redis as the
broker and the cache. This process then sets Django up on the same database and broker, so a
drill submits through the apps' own services (what the forms call) and counts with the ORM.

`Ledger` holds what a drill had acknowledged (committed submissions), and `settle()` says what
became of it (`wait_delivered()` first waits for every local record to succeed): lost (absent upstream) and duplicated
(present upstream more than once), read back from the sandbox through the signed API.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import socket
import subprocess  # nosec B404  # runs the private services and the stack
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests

ROOT = Path(__file__).resolve().parent.parent
STARTUP_TIMEOUT = 120.0

# The stack's settings for drills: retries, redrives and heartbeats short enough that a drill
# sees them happen within its bound (the production defaults are in the README's settings).
DRILL_SETTINGS = {
    "OUTBOX_RETRY_BASE": "1",
    "OUTBOX_RETRY_CAP": "15",
    "OUTBOX_REDRIVE_GRACE": "5",
    "DISPATCH_REDRIVE_INTERVAL": "5",
    "UPSTREAM_BACKOFF_BASE": "0.2",
    "UPSTREAM_BACKOFF_CAP": "2",
    "UPSTREAM_READ_TIMEOUT": "10",
    "BEAT_HEARTBEAT_INTERVAL": "4",
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(predicate: Callable[[], Any], timeout: float, interval: float = 0.25) -> Any:
    """The first truthy value of predicate() within `timeout` seconds, else None. Connection
    errors (a server restarting) count as "not yet"."""
    deadline = time.monotonic() + timeout
    while True:
        with contextlib.suppress(requests.RequestException, ConnectionError, OSError):
            value = predicate()
            if value:
                return value
        if time.monotonic() >= deadline:
            return None
        time.sleep(interval)


class PrivatePostgres:
    """initdb + pg_ctl in a folder of its own, on its own port and socket folder."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.data = folder / "pgdata"
        self.port = free_port()
        self.as_postgres = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        self.url = f"postgres://postgres@127.0.0.1:{self.port}/portal"
        self.bin = Path()

    def run(self, *argv: str) -> None:
        subprocess.run([*self.as_postgres, *argv], check=True, stdout=subprocess.DEVNULL)  # nosec B603  # the drill's own commands, no shell

    def init(self) -> None:
        binary = shutil.which("initdb") or next(Path("/usr/lib/postgresql").glob("*/bin/initdb"), None)
        if binary is None:
            sys.exit("drills: no initdb (PostgreSQL's server binaries) on this machine")
        self.bin = Path(binary).resolve().parent
        if self.as_postgres:
            shutil.chown(self.folder, "postgres")
        self.run(str(self.bin / "initdb"), "-D", str(self.data), "-U", "postgres", "-A", "trust", "--no-sync")

    def start(self) -> None:
        options = f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200"
        log = str(self.folder / "pg.log")
        self.run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-o", options, "-l", log, "-w", "start")

    def stop(self, mode: str = "fast") -> None:
        self.run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "stop")

    def createdb(self) -> None:
        self.run(str(self.bin / "createdb"), "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", "portal")


class PrivateRedis:
    """A redis-server of its own on a free port, without persistence (a restart empties it)."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.port = free_port()
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            sys.exit("drills: no redis-server on this machine")
        argv = [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
        self.proc = subprocess.Popen(  # nosec B603  # the drill's own commands, no shell
            [*argv, "--dir", str(self.folder)],
            stdout=open(self.folder / "redis.log", "ab"),  # noqa: SIM115 - the child keeps it
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        if not wait_until(lambda: self.ping(), 20, 0.1):
            sys.exit("drills: the private Redis did not start")

    def client(self):
        import redis

        return redis.Redis(host="127.0.0.1", port=self.port, socket_timeout=5)

    def ping(self) -> bool:
        try:
            return bool(self.client().ping())
        except OSError:  # redis-py's ConnectionError is one
            return False

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None


def children_of(pid: int, holding: str = "") -> list[int]:
    """Pids of `pid`'s children whose command line holds `holding`."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, IndexError, ValueError):
            fields = stat.read_text().rsplit(")", 1)[1].split()
            if int(fields[1]) == pid:
                cmdline = (stat.parent / "cmdline").read_bytes().replace(b"\0", b" ").decode()
                if holding in cmdline:
                    found.append(int(stat.parent.name))
    return sorted(found)


class Stack:
    """The private services and `runstack` on them; `django()` sets this process up on them."""

    def __init__(self, keep: bool = False):
        self.folder = Path(tempfile.mkdtemp(prefix="drills-"))
        self.keep = keep
        self.pg = PrivatePostgres(self.folder)
        (self.folder / "redis").mkdir()
        self.redis = PrivateRedis(self.folder / "redis")
        self.var = self.folder / "var"
        self.var.mkdir()
        self.port, self.sandbox_port = free_port(), free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.sandbox_url = f"http://127.0.0.1:{self.sandbox_port}"
        self.log_path = self.folder / "runstack.log"
        self.proc: subprocess.Popen | None = None
        self.env: dict[str, str] = {}
        self.sandbox: Any = None
        self.failed = False

    # -- lifecycle ---------------------------------------------------------------------------------
    def up(self) -> None:
        self.pg.init()
        self.pg.start()
        self.pg.createdb()
        self.redis.start()
        drop = ("CELERY_BROKER_URL", "REDIS_URL", "DJANGO_SETTINGS_MODULE", "DATABASE_URL")
        env = {k: v for k, v in os.environ.items() if k not in drop and k not in DRILL_SETTINGS}
        env.update(
            DATABASE_URL=self.pg.url,
            CELERY_BROKER_URL=f"redis://127.0.0.1:{self.redis.port}/0",
            REDIS_URL=f"redis://127.0.0.1:{self.redis.port}/1",
            PORTAL_VAR_DIR=str(self.var),
            PYTHONUNBUFFERED="1",
            **DRILL_SETTINGS,
        )
        self.env = env
        print(
            f"drills: private PostgreSQL 127.0.0.1:{self.pg.port}, Redis 127.0.0.1:{self.redis.port}, "
            f"portal {self.base}, sandbox {self.sandbox_url}; logs in {self.folder}",
            flush=True,
        )
        manage = [sys.executable, str(ROOT / "manage.py")]
        subprocess.run([*manage, "migrate", "--noinput", "-v", "0"], env=env, cwd=ROOT, check=True)  # nosec B603  # the drill's own commands, no shell
        subprocess.run(  # nosec B603  # the drill's own commands, no shell
            [*manage, "seeddemo", "--base-url", self.sandbox_url],
            env=env,
            cwd=ROOT,
            check=True,
            stdout=subprocess.DEVNULL,
        )
        self.proc = subprocess.Popen(  # nosec B603  # the drill's own commands, no shell
            [*manage, "runstack", "--port", str(self.port), "--sandbox-port", str(self.sandbox_port)],
            env=env,
            cwd=ROOT,
            stdout=open(self.log_path, "wb"),  # noqa: SIM115 - the child keeps it
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        if not self.healthy(STARTUP_TIMEOUT):
            print(self.log()[-4000:])
            raise RuntimeError("drills: the stack did not become healthy")
        from sandbox.pytest_plugin import SandboxHandle

        self.sandbox = SandboxHandle(self.sandbox_url)
        self.django()

    def down(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=40)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
        with contextlib.suppress(Exception):
            from django.db import connections

            connections.close_all()
        with contextlib.suppress(Exception):
            self.pg.stop("immediate")
        self.redis.stop()
        if self.failed or self.keep:
            print(f"drills: logs kept in {self.folder}")
        else:
            shutil.rmtree(self.folder, ignore_errors=True)

    def django(self) -> None:
        """Set this process up on the stack's database, broker and cache (once)."""
        os.environ.update(
            {k: self.env[k] for k in ("DATABASE_URL", "CELERY_BROKER_URL", "REDIS_URL", "PORTAL_VAR_DIR")}
        )
        os.environ.update(DRILL_SETTINGS)
        os.environ["DJANGO_SETTINGS_MODULE"] = "portal.settings"
        sys.path.insert(0, str(ROOT))
        import django

        django.setup()

    # -- looking at it -------------------------------------------------------------------------------
    def health(self) -> tuple[int, dict]:
        answer = requests.get(f"{self.base}/healthz", timeout=15)
        body = answer.json() if answer.headers.get("Content-Type", "").startswith("application/json") else {}
        return answer.status_code, body

    def healthy(self, timeout: float) -> bool:
        return bool(wait_until(lambda: self.health()[0] == 200, timeout, 0.5))

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def pids(self, holding: str) -> list[int]:
        """runstack's children whose command line holds `holding` ("celery -A portal worker")."""
        if self.proc is None:
            raise RuntimeError("drills: the stack is not running")
        return children_of(self.proc.pid, holding)

    def worker(self) -> int:
        pids = self.pids("portal worker")
        if len(pids) != 1:
            raise RuntimeError(f"drills: expected one worker main process, found {pids}")
        return pids[0]

    def worker_children(self) -> list[int]:
        return children_of(self.worker())

    # -- the demo organization -------------------------------------------------------------------------
    def organization(self):
        from accounts.models import Organization

        return Organization.objects.get(slug="demo")

    def user(self):
        from django.contrib.auth import get_user_model

        return get_user_model().objects.get(username="alice")

    def client(self):
        from upstream.client import UpstreamClient

        return UpstreamClient(self.organization())

    def browser(self) -> requests.Session:
        """A requests session signed in as alice through the sign-in form."""
        from django.conf import settings

        session = requests.Session()
        login = session.get(f"{self.base}/accounts/login/", timeout=15)
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', login.text)
        if not token:
            raise RuntimeError("drills: no CSRF token on the sign-in page")
        session.post(
            f"{self.base}/accounts/login/",
            {"username": "alice", "password": settings.PORTAL_DEMO_PASSWORD, "csrfmiddlewaretoken": token.group(1)},
            headers={"Referer": f"{self.base}/accounts/login/"},
            timeout=15,
        )
        if "sessionid" not in session.cookies:
            raise RuntimeError("drills: alice could not sign in")
        return session


# -- what a drill acknowledged, and what became of it -----------------------------------------------
@dataclass
class Ledger:
    """The submissions a drill had acknowledged (committed), by kind: local pks and the unique
    value that finds each upstream (an order's customer order, an RMA's serial)."""

    orders: dict[int, str] = field(default_factory=dict)
    rmas: dict[int, str] = field(default_factory=dict)

    @property
    def acknowledged(self) -> int:
        return len(self.orders) + len(self.rmas)


@dataclass
class Tally:
    acknowledged: int
    lost: int
    duplicated: int


def run_tag() -> str:
    return uuid.uuid4().hex[:6].upper()


def reference(stack: Stack) -> dict:
    """A ship method, a country and two product codes the sandbox knows (read through the API)."""
    from upstream.api import COLLECTION_PATHS as PATHS

    with stack.client() as client:
        method = next(client.iter_rows(PATHS["ship_methods"], page_size=50))
        skus = []
        for row in client.iter_rows(PATHS["customer_catalog_items"], page_size=50):
            sku = row.get("customer_sku") or row.get("product_code")
            if sku:
                skus.append(sku)
            if len(skus) == 2:
                break
    return {"ship_method_id": int(method["id"]), "skus": skus or ["SKU-00001", "SKU-00002"]}


def submit_orders(stack: Stack, ledger: Ledger, prefix: str, count: int, ref: dict) -> None:
    """`count` orders through `orders.services.submit` (what the order form calls), each
    committed on its own: acknowledged once it returns."""
    from orders import services
    from orders.models import OrderSubmission

    org, user = stack.organization(), stack.user()
    party = {
        "name": "Dana Drill",
        "company": "Drill Co",
        "phone": "1-555-0100",
        "address_1": "1 Test Road",
        "city": "Toronto",
        "state": "ON",
        "zip": "M5A 1A1",
        "country": "CA",
    }
    for n in range(count):
        customer_order = f"{prefix}-{n:04d}"
        submission = OrderSubmission(
            purchase_order=f"PO-{customer_order}",
            customer_order=customer_order,
            ship_method_id=ref["ship_method_id"],
            importer_same_as_recipient=True,
            **{f"recipient_{k}": v for k, v in party.items()},
        )
        lines = [
            {"product_code": sku, "quantity": 1 + i, "customs_declared_value": 10 + i}
            for i, sku in enumerate(ref["skus"])
        ]
        services.submit(org, user, submission, lines)
        ledger.orders[submission.pk] = customer_order


def submit_rmas(stack: Stack, ledger: Ledger, prefix: str, count: int) -> None:
    """`count` RMA requests through `rmas.services.submit` (what the RMA form calls)."""
    from rmas import services
    from rmas.models import RmaSubmission

    org, user = stack.organization(), stack.user()
    for n in range(count):
        serial = f"{prefix}-SN{n:04d}"
        submission = RmaSubmission(
            request_type=1,
            manufacturer_serial=serial,
            problem="Drill: does not boot",
            replacement_name="Dana Drill",
        )
        services.submit(org, user, submission)
        ledger.rmas[submission.pk] = serial


def open_deliveries(ledger: Ledger) -> int:
    """How many of the ledger's submissions are not delivered (their delivery has not succeeded)."""
    from orders.models import OrderSubmission
    from outbox.models import Delivery
    from rmas.models import RmaSubmission

    done = Delivery.Status.SUCCEEDED
    left = OrderSubmission.objects.filter(pk__in=list(ledger.orders)).exclude(delivery__status=done).count()
    return left + RmaSubmission.objects.filter(pk__in=list(ledger.rmas)).exclude(delivery__status=done).count()


def wait_delivered(ledger: Ledger, bound: float) -> float | None:
    """Seconds until every acknowledged submission is delivered, or None past `bound`."""
    from django.db import close_old_connections

    started = time.monotonic()

    def done() -> bool:
        close_old_connections()
        return open_deliveries(ledger) == 0

    return time.monotonic() - started if wait_until(done, bound, 0.5) else None


def settle(stack: Stack, ledger: Ledger) -> Tally:
    """Read every order and RMA back from the upstream (signed API) and count each acknowledged
    submission there: absent is lost, more than once is duplicated."""
    from upstream.api import COLLECTION_PATHS as PATHS

    with stack.client() as client:
        orders = Counter(row.get("customer_order") for row in client.iter_rows(PATHS["orders"]))
        rmas = Counter(row.get("manufacturer_serial") for row in client.iter_rows(PATHS["rmas"]))
    lost = sum(1 for key in ledger.orders.values() if orders[key] == 0)
    lost += sum(1 for key in ledger.rmas.values() if rmas[key] == 0)
    duplicated = sum(orders[key] - 1 for key in ledger.orders.values() if orders[key] > 1)
    duplicated += sum(rmas[key] - 1 for key in ledger.rmas.values() if rmas[key] > 1)
    return Tally(ledger.acknowledged, lost, duplicated)
