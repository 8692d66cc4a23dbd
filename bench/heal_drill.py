"""Drill (issue 15, "a stack that heals itself"): the whole stack through a real PostgreSQL outage.

    .venv/bin/python bench/heal_drill.py [--outage SECONDS]

It starts a private PostgreSQL (initdb in a temporary folder, on a free port; never the machine's
own server), migrates it and loads the demo, and runs `manage.py runstack` (portal, sandbox,
worker, beat) on it with the embedded broker, on free ports. Then, signed in as alice:

1. stops PostgreSQL: signed-in pages, a form post and a webhook answer 503 with Retry-After,
   /healthz answers 503 with and without the session cookie (beat still "ok": it keeps ticking),
   and beat logs the outage once instead of exiting;
2. starts PostgreSQL again: the same session's pages answer 200 again with nothing restarted,
   /healthz answers 200, and beat says the database answers again;
3. kills beat with SIGKILL: runstack says so and starts it again, and /healthz is 200 again.

Prints one line per check and the timings; exit status 1 when a check failed. Needs PostgreSQL's
server binaries (initdb, pg_ctl); as root, PostgreSQL runs as the `postgres` user.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "portal-demo-password"
failures: list[str] = []


def check(ok: bool, what: str) -> bool:
    print(f"{'ok  ' if ok else 'FAIL'} {what}", flush=True)
    if not ok:
        failures.append(what)
    return ok


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(predicate, timeout: float, interval: float = 0.25):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(requests.RequestException):
            value = predicate()
            if value:
                return value
        time.sleep(interval)
    return None


class PrivatePostgres:
    """initdb + pg_ctl in a folder of its own, on its own port and socket folder."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.data = folder / "pgdata"
        self.port = free_port()
        self.as_postgres = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        self.url = f"postgres://postgres@127.0.0.1:{self.port}/portal"

    def run(self, *argv: str) -> None:
        subprocess.run([*self.as_postgres, *argv], check=True, stdout=subprocess.DEVNULL)

    def init(self) -> None:
        binary = shutil.which("initdb") or next(Path("/usr/lib/postgresql").glob("*/bin/initdb"), None)
        if binary is None:
            sys.exit("heal_drill: no initdb (PostgreSQL's server binaries) on this machine")
        self.bin = Path(binary).resolve().parent
        if self.as_postgres:
            shutil.chown(self.folder, "postgres")
        self.run(str(self.bin / "initdb"), "-D", str(self.data), "-U", "postgres", "-A", "trust", "--no-sync")

    def start(self) -> None:
        options = f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 -c fsync=off"
        self.run(
            str(self.bin / "pg_ctl"),
            "-D",
            str(self.data),
            "-o",
            options,
            "-l",
            str(self.folder / "pg.log"),
            "-w",
            "start",
        )

    def stop(self) -> None:
        self.run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop")

    def createdb(self) -> None:
        self.run(str(self.bin / "createdb"), "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", "portal")


def stack_pids(runstack_pid: int, name: str) -> list[int]:
    """Pids of runstack's children whose command line holds `name` (its own children only)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError):
            fields = stat.read_text().rsplit(")", 1)[1].split()
            if int(fields[1]) == runstack_pid:
                cmdline = (stat.parent / "cmdline").read_bytes().replace(b"\0", b" ").decode()
                if name in cmdline:
                    found.append(int(stat.parent.name))
    return found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--outage", type=float, default=20.0, help="seconds PostgreSQL stays down (default 20)")
    args = parser.parse_args()

    folder = Path(tempfile.mkdtemp(prefix="heal-drill-"))
    pg = PrivatePostgres(folder)
    var = folder / "var"
    var.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("CELERY_BROKER_URL", "REDIS_URL", "DJANGO_SETTINGS_MODULE")}
    env.update(DATABASE_URL=pg.url, PORTAL_VAR_DIR=str(var), PYTHONUNBUFFERED="1", BEAT_HEARTBEAT_INTERVAL="4")
    port, sandbox_port = free_port(), free_port()
    base = f"http://127.0.0.1:{port}"
    manage = [sys.executable, str(ROOT / "manage.py")]
    stack = None
    log_path = folder / "runstack.log"
    try:
        pg.init()
        pg.start()
        pg.createdb()
        print(f"private PostgreSQL on 127.0.0.1:{pg.port} ({pg.data}); portal on {base}", flush=True)
        subprocess.run([*manage, "migrate", "--noinput", "-v", "0"], env=env, cwd=ROOT, check=True)
        subprocess.run(
            [*manage, "seeddemo", "--base-url", f"http://127.0.0.1:{sandbox_port}"],
            env=env,
            cwd=ROOT,
            check=True,
            stdout=subprocess.DEVNULL,
        )
        log = open(log_path, "wb")  # noqa: SIM115 - closed with the stack
        stack = subprocess.Popen(
            [*manage, "runstack", "--port", str(port), "--sandbox-port", str(sandbox_port)],
            env=env,
            cwd=ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

        def stack_log() -> str:
            return log_path.read_text(errors="replace")

        health = wait_until(lambda: requests.get(f"{base}/healthz", timeout=10).status_code == 200, 90)
        if not check(bool(health), "the stack starts: /healthz 200 (database, broker, beat)"):
            print(stack_log()[-3000:])
            return 1

        browser = requests.Session()
        login = browser.get(f"{base}/accounts/login/", timeout=10)
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', login.text)
        assert token, "no CSRF token on the sign-in page"
        signed_in = browser.post(
            f"{base}/accounts/login/",
            {"username": "alice", "password": PASSWORD, "csrfmiddlewaretoken": token.group(1)},
            headers={"Referer": f"{base}/accounts/login/"},
            timeout=10,
        )
        check(signed_in.ok and "sessionid" in browser.cookies, "alice signs in")
        check(browser.get(f"{base}/", timeout=10).status_code == 200, "her home page answers 200")
        csrf = browser.cookies.get("csrftoken", "")

        # 1. The outage.
        pg.stop()
        stopped = time.monotonic()
        print(f"-- PostgreSQL stopped for {args.outage:g}s", flush=True)
        page = browser.get(f"{base}/orders/", timeout=10)
        check(
            page.status_code == 503 and "Back in a moment" in page.text and page.headers.get("Retry-After") == "30",
            f"a signed-in page answers 503 'Back in a moment' with Retry-After (got {page.status_code})",
        )
        post = browser.post(
            f"{base}/accounts/switch/",
            {"csrfmiddlewaretoken": csrf, "organization": "1"},
            headers={"Referer": f"{base}/"},
            timeout=10,
        )
        check(post.status_code == 503, f"a form post answers 503 (got {post.status_code})")
        hook = requests.post(
            f"{base}/webhooks/order-update/",
            data=b'{"id": 1}',
            headers={
                "Content-Type": "application/json",
                "X-MBX-Token": "demo-token",
                "X-MBX-Date": datetime.now(UTC).isoformat(),
                "X-MBX-Signature": "x",
            },
            timeout=10,
        )
        check(
            hook.status_code == 503 and "Retry-After" in hook.headers, f"a webhook answers 503 (got {hook.status_code})"
        )
        for who, client in (("with", browser), ("without", requests)):
            answer = client.get(f"{base}/healthz", timeout=15)
            body = answer.json() if answer.headers.get("Content-Type", "").startswith("application/json") else {}
            check(
                answer.status_code == 503 and str(body.get("database", "")).startswith("down"),
                f"/healthz {who} a session cookie answers 503, database down (got {answer.status_code} {body})",
            )
        time.sleep(max(0.0, args.outage - (time.monotonic() - stopped)))
        body = requests.get(f"{base}/healthz", timeout=15).json()
        check(body.get("beat") == "ok", f"beat keeps ticking through the outage (/healthz beat: {body.get('beat')})")
        text = stack_log()
        check(text.count("beat: the database failed while") == 1, "beat logs the outage once")
        check("beat exited" not in text, "beat did not exit")

        # 2. The database is back.
        pg.start()
        back = time.monotonic()
        print("-- PostgreSQL started again", flush=True)
        home = wait_until(lambda: browser.get(f"{base}/", timeout=10).status_code == 200, 60)
        check(bool(home), f"the same session's home page answers 200 again after {time.monotonic() - back:.1f}s")
        healthy = wait_until(lambda: requests.get(f"{base}/healthz", timeout=15).status_code == 200, 60)
        check(bool(healthy), f"/healthz answers 200 again after {time.monotonic() - back:.1f}s")
        again = wait_until(lambda: "beat: the database answers again" in stack_log(), 60)
        check(bool(again), f"beat says the database answers again ({time.monotonic() - back:.1f}s)")
        check("started again" not in stack_log(), "nothing was restarted through the outage")

        # 3. Beat killed.
        pids = stack_pids(stack.pid, "beat")
        if check(len(pids) == 1, "beat's process found"):
            os.kill(pids[0], signal.SIGKILL)
            killed = time.monotonic()
            restarted = wait_until(lambda: "beat started again" in stack_log(), 30)
            check(bool(restarted), f"runstack starts beat again ({time.monotonic() - killed:.1f}s)")
            line = re.search(r"beat exited with exit status -9 \(killed by SIGKILL\).*", stack_log())
            check(bool(line), f"runstack says so: {line.group(0) if line else '-'}")
            healthy = wait_until(lambda: requests.get(f"{base}/healthz", timeout=15).status_code == 200, 30)
            check(bool(healthy), "/healthz answers 200 with the new beat")
    finally:
        if stack is not None and stack.poll() is None:
            stack.send_signal(signal.SIGTERM)
            try:
                stack.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(stack.pid, signal.SIGKILL)
        with contextlib.suppress(Exception):
            pg.stop()
        if failures:
            print(f"runstack's log: {log_path} (kept)")
        else:
            shutil.rmtree(folder, ignore_errors=True)
    print(f"\n{len(failures)} failed" if failures else "\nall checks passed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
