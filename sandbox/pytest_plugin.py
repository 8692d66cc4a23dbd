"""Pytest fixtures that run the sandbox upstream as a real process over loopback.

- `sandbox_server` (session): `manage.py runsandbox --pace off` on a free port with its own
  temporary SQLite file; killed at the end of the session.
- `sandbox` (function): the same handle; faults are cleared and the ticker resumed after
  each test.
- `sandbox_org` (function): a fresh organization registered and seeded in the sandbox, and a
  portal Organization pointing at it (credentials in `.sandbox_token` / `.sandbox_secret`).
"""

from __future__ import annotations

import collections
import itertools
import os
import resource
import subprocess  # nosec B404  # starts the sandbox for tests
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

import pytest
import requests

ROOT = Path(__file__).resolve().parent.parent


class SandboxHandle:
    """Talks to a running sandbox's control API (unsigned, loopback only)."""

    def __init__(self, url: str):
        self.url = url.rstrip("/")
        self.http = requests.Session()
        # The process's latest log lines (stderr): read all along, so that a long session's
        # logging never fills the pipe and blocks the sandbox.
        self.log: collections.deque[str] = collections.deque(maxlen=2000)

    def control(self, method: str, path: str, payload: dict | None = None, **params) -> dict:
        response = self.http.request(
            method, f"{self.url}/_sandbox/{path}", json=payload, params=params or None, timeout=120
        )
        response.raise_for_status()
        return response.json()

    def add_org(
        self,
        token: str,
        secret: str,
        organization_id: int | None = None,
        name: str = "",
        webhook_url: str | None = None,
    ) -> None:
        self.control(
            "POST",
            "orgs",
            {
                "token": token,
                "secret": secret,
                "organization_id": organization_id,
                "name": name or token,
                "webhook_url": webhook_url,
            },
        )

    def set_webhook_url(self, token: str, url: str | None) -> None:
        self.control("PUT", "webhook", {"token": token, "url": url})

    def seed(self, token: str, scale: float = 1, counts: dict | None = None) -> dict:
        return self.control("POST", "seed", {"token": token, "scale": scale, "counts": counts})

    def upsert(self, token: str, collection: str, rows: list[dict]) -> dict:
        return self.control("POST", "rows", {"token": token, "collection": collection, "upsert": rows})

    def delete(self, token: str, collection: str, ids: list[int]) -> dict:
        return self.control("POST", "rows", {"token": token, "collection": collection, "delete": ids})

    def advance(self, steps: int = 1) -> dict:
        return self.control("POST", "advance", {"steps": steps})

    def set_order_status(self, token: str, order_id: int, status: str) -> dict:
        return self.control("POST", "order-status", {"token": token, "id": order_id, "status": status})

    def set_faults(self, **options) -> dict:
        """error_rate, error_status, rate_limit_rate, retry_after, latency_ms, timeout_rate,
        timeout_seconds, drop_after_commit_rate, path_prefix, method, token, count, after."""
        return self.control("PUT", "faults", options)

    def clear_faults(self) -> None:
        self.control("DELETE", "faults")

    def stats(self, token: str | None = None) -> dict:
        return self.control("GET", "stats", token=token) if token else self.control("GET", "stats")

    def set_clock(self, offset: float) -> dict:
        """Shift the sandbox's clock `offset` seconds from the real one (signature window, Date
        header, webhook dates)."""
        return self.control("PUT", "clock", {"offset": offset})

    def calls(self, since: float = 0.0, method: str = "") -> list[tuple[float, str, str, int, str]]:
        """The API calls answered since `since` (epoch seconds): (time, method, path, status or 0
        for a dropped answer, Idempotency-Key), oldest first."""
        answer = self.http.get(
            f"{self.url}/_sandbox/requests", params={"since": str(since), "method": method}, timeout=120
        )
        answer.raise_for_status()
        return [tuple(c) for c in answer.json()["calls"]]

    def pause(self) -> None:
        self.control("POST", "pause")

    def resume(self) -> None:
        self.control("POST", "resume")


def start_sandbox_process(
    db_path: str,
    *,
    pace: str = "off",
    extra: list[str] | None = None,
    timeout: float = 60,
    memory_limit: int | None = None,
) -> tuple[subprocess.Popen, SandboxHandle]:
    """Start `manage.py runsandbox` on a free port and wait until it answers.

    `memory_limit` (bytes) caps the process's address space (RLIMIT_AS): a test that feeds
    it something that could make it grow fails with a MemoryError there instead of taking
    the machine's memory."""
    with tempfile.NamedTemporaryFile(prefix="sandbox-port-", delete=False) as ready:
        pass  # only its unused name: the sandbox writes its port there once it listens
    os.unlink(ready.name)
    env = {k: v for k, v in os.environ.items() if k != "PYTEST_XDIST_WORKER"}
    cmd = [
        sys.executable,
        str(ROOT / "manage.py"),
        "runsandbox",
        "--port",
        "0",
        "--db",
        db_path,
        "--pace",
        pace,
        "--webhook-backoff",
        "0.2",
        "--ready-file",
        ready.name,
        *(extra or []),
    ]

    def limit_memory() -> None:  # runs in the child, before exec
        if memory_limit is not None:
            resource.setrlimit(resource.RLIMIT_AS, (memory_limit, memory_limit))

    proc = subprocess.Popen(  # nosec B603  # argv built here, no shell
        cmd,
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        preexec_fn=limit_memory if memory_limit is not None else None,
    )
    assert proc.stderr is not None  # nosec B101  # narrows the type for mypy; guards nothing
    deadline = time.monotonic() + timeout
    while not os.path.exists(ready.name) or not Path(ready.name).read_text():
        if proc.poll() is not None:
            raise RuntimeError(f"sandbox exited: {proc.stderr.read().decode()[-2000:]}")
        if time.monotonic() > deadline:
            proc.kill()
            raise RuntimeError("sandbox did not start in time")
        time.sleep(0.05)
    port = int(Path(ready.name).read_text())
    os.unlink(ready.name)
    handle = SandboxHandle(f"http://127.0.0.1:{port}")
    stderr = proc.stderr

    def keep_log() -> None:
        for line in stderr:
            handle.log.append(line.decode(errors="replace"))

    threading.Thread(target=keep_log, name=f"sandbox-{proc.pid}-stderr", daemon=True).start()
    handle.control("GET", "health")
    return proc, handle


def stop_sandbox_process(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()


@pytest.fixture(scope="session")
def sandbox_server(tmp_path_factory):
    db = tmp_path_factory.mktemp("sandbox") / "sandbox.sqlite3"
    proc, handle = start_sandbox_process(str(db))
    yield handle
    stop_sandbox_process(proc)


@pytest.fixture
def sandbox(sandbox_server):
    yield sandbox_server
    sandbox_server.clear_faults()
    sandbox_server.set_clock(0)
    sandbox_server.resume()


_org_numbers = itertools.count(1)


@pytest.fixture
def sandbox_org(db, sandbox):
    from conftest import make_org

    n = next(_org_numbers)
    token = f"tok-{uuid.uuid4().hex[:12]}"
    secret = f"sec-{uuid.uuid4().hex}"
    upstream_org_id = 48000 + n
    sandbox.add_org(token, secret, upstream_org_id, name=f"Sandbox Org {n}")
    sandbox.seed(token, scale=0.2)
    org = make_org(
        f"sbx{n}-{uuid.uuid4().hex[:6]}",
        f"Sandbox Org {n}",
        base_url=sandbox.url,
        token=token,
        secret=secret,
        upstream_org_id=upstream_org_id,
    )
    org.sandbox_token = token
    org.sandbox_secret = secret
    return org
