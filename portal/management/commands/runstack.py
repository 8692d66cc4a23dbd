"""Run the whole stack in the foreground: portal, sandbox upstream, worker and beat.

Used by `make run`. Output of each process is prefixed with its name. A process that exits
is started again after a back-off, with one line naming it, its exit status and when it
restarts, while the others keep running: one crash never takes the stack down. The back-off
starts at 1 second and doubles up to 30 seconds while the process keeps dying within a minute
of its start, so a crash loop does not spin. Ctrl-C (SIGINT) or SIGTERM stops all of them.
"""

from __future__ import annotations

import contextlib
import os
import selectors
import signal
import subprocess  # nosec B404  # runs the stack's own commands
import sys
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import IO, TextIO, cast

from django.conf import settings
from django.core.management.base import BaseCommand

RESTART_FIRST = 1.0  # seconds before the first restart of a process that exited
RESTART_MAX = 30.0  # the back-off doubles up to this while the process keeps failing
STABLE_AFTER = 60.0  # a process that ran this long before exiting starts the back-off over
STOP_TIMEOUT = 10.0  # after SIGTERM, how long each process has before SIGKILL


def describe_exit(returncode: int) -> str:
    """'exit status 3', or 'exit status -9 (killed by SIGKILL)' for a signal."""
    if returncode >= 0:
        return f"exit status {returncode}"
    try:
        name = signal.Signals(-returncode).name
    except ValueError:
        name = f"signal {-returncode}"
    return f"exit status {returncode} (killed by {name})"


@dataclass
class Child:
    """One supervised process and its restart state."""

    name: str
    argv: list[str]
    proc: subprocess.Popen | None = None
    started_at: float = 0.0
    restarts: int = 0
    quick_failures: int = 0  # exits in a row, each within STABLE_AFTER of its start
    restart_at: float | None = None  # when a process that exited is due to start again
    partial: bytes = field(default=b"", repr=False)  # output after its last newline


class Supervisor:
    """Runs named processes in their own sessions, copies their output (stdout and stderr)
    line by line to `out` with the name in front, restarts one that exits after a back-off,
    and stops them all (SIGTERM to each session, SIGKILL after `stop_timeout`)."""

    def __init__(
        self,
        children: Iterable[tuple[str, Sequence[str]]],
        *,
        env: dict[str, str] | None = None,
        cwd: str | os.PathLike | None = None,
        out: TextIO | None = None,
        restart_first: float = RESTART_FIRST,
        restart_max: float = RESTART_MAX,
        stable_after: float = STABLE_AFTER,
        stop_timeout: float = STOP_TIMEOUT,
    ):
        self.children = [Child(name, list(argv)) for name, argv in children]
        self.env = env
        self.cwd = cwd
        self.out = out or sys.stdout
        self.restart_first = restart_first
        self.restart_max = restart_max
        self.stable_after = stable_after
        self.stop_timeout = stop_timeout
        self.width = max([len("runstack"), *(len(c.name) for c in self.children)])
        self.selector = selectors.DefaultSelector()
        self.stopping = False

    # -- output --------------------------------------------------------------------------------
    def say(self, text: str) -> None:
        self._write("runstack", text)

    def _write(self, name: str, text: str) -> None:
        self.out.write(f"{name:<{self.width}} | {text}\n")
        self.out.flush()

    def _forward(self, child: Child, stream: IO[bytes]) -> None:
        """Copy what the process has written so far; at end of file, stop watching its output."""
        while True:
            try:
                data = os.read(stream.fileno(), 65536)
            except BlockingIOError:
                return
            except OSError:
                data = b""
            if not data:
                if child.partial:
                    self._write(child.name, child.partial.decode(errors="replace"))
                    child.partial = b""
                with contextlib.suppress(KeyError, ValueError):
                    self.selector.unregister(stream)
                stream.close()
                return
            *lines, child.partial = (child.partial + data).split(b"\n")
            for line in lines:
                self._write(child.name, line.decode(errors="replace").rstrip("\r"))

    # -- processes -----------------------------------------------------------------------------
    def start(self) -> None:
        for child in self.children:
            self._spawn(child)

    def _spawn(self, child: Child) -> None:
        proc = subprocess.Popen(  # nosec B603  # argv built here, no shell
            child.argv,
            env=self.env,
            cwd=self.cwd,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # Ctrl-C reaches the supervisor only; it stops them in order
        )
        assert proc.stdout is not None  # nosec B101  # narrows the type for mypy; guards nothing
        os.set_blocking(proc.stdout.fileno(), False)
        self.selector.register(proc.stdout, selectors.EVENT_READ, child)
        child.proc, child.started_at, child.restart_at = proc, time.monotonic(), None

    def poll(self, timeout: float) -> None:
        """One turn: copy output (waiting up to `timeout` for some), notice processes that
        exited, and start again those whose back-off is over."""
        if self.selector.get_map():
            for key, _ in self.selector.select(timeout):
                self._forward(key.data, cast(IO[bytes], key.fileobj))
        else:
            time.sleep(timeout)
        now = time.monotonic()
        for child in self.children:
            if child.proc is not None and child.proc.poll() is not None:
                self._exited(child, now)
            elif child.proc is None and child.restart_at is not None and now >= child.restart_at and not self.stopping:
                child.restarts += 1
                self._spawn(child)
                assert child.proc is not None  # nosec B101  # narrows the type for mypy; guards nothing
                self.say(f"{child.name} started again (restart {child.restarts}, pid {child.proc.pid})")

    def _exited(self, child: Child, now: float) -> None:
        proc = child.proc
        assert proc is not None and proc.returncode is not None  # nosec B101  # narrows the type for mypy; guards nothing
        if proc.stdout is not None and not proc.stdout.closed:
            self._forward(child, proc.stdout)  # its last lines (a traceback, say) come first
            with contextlib.suppress(KeyError, ValueError):
                self.selector.unregister(proc.stdout)
            proc.stdout.close()
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGTERM)  # what it left behind in its session
        child.proc = None
        ran = now - child.started_at
        if self.stopping:
            self.say(f"{child.name} exited with {describe_exit(proc.returncode)}")
            return
        child.quick_failures = child.quick_failures + 1 if ran < self.stable_after else 1
        delay = min(self.restart_max, self.restart_first * 2 ** (child.quick_failures - 1))
        child.restart_at = now + delay
        at = (datetime.now() + timedelta(seconds=delay)).strftime("%H:%M:%S")
        self.say(
            f"{child.name} exited with {describe_exit(proc.returncode)} after {ran:.1f}s; "
            f"restarting it in {delay:g}s (at {at}); the others keep running"
        )

    def running(self) -> list[Child]:
        return [c for c in self.children if c.proc is not None and c.proc.poll() is None]

    def stop(self) -> None:
        """SIGTERM to every process's session, SIGKILL to what is left after `stop_timeout`."""
        self.stopping = True
        live = [c for c in self.children if c.proc is not None]
        for child in live:
            assert child.proc is not None  # nosec B101  # narrows the type for mypy; guards nothing
            if child.proc.poll() is None:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(child.proc.pid, signal.SIGTERM)
        deadline = time.monotonic() + self.stop_timeout
        while any(c.proc is not None and c.proc.poll() is None for c in live) and time.monotonic() < deadline:
            self.poll(0.1)  # keeps copying their last output while they shut down
        for child in live:
            if child.proc is not None and child.proc.poll() is None:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(child.proc.pid, signal.SIGKILL)
                child.proc.wait()
            if child.proc is not None:
                self._exited(child, time.monotonic())
        self.selector.close()

    def run(self) -> None:
        """Start every process and supervise until SIGINT or SIGTERM, then stop them all.
        Call from the main thread (it installs the signal handlers, and restores them)."""

        def request_stop(signum, frame):
            self.stopping = True

        previous = {s: signal.signal(s, request_stop) for s in (signal.SIGINT, signal.SIGTERM)}
        try:
            self.start()
            while not self.stopping:
                self.poll(0.5)
        finally:
            self.stop()
            for s, handler in previous.items():
                signal.signal(s, handler)


class Command(BaseCommand):
    help = (
        "Start portal (8000), sandbox upstream (8001), Celery worker and beat; a process that exits "
        "is restarted; Ctrl-C stops all."
    )

    def add_arguments(self, parser):
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--sandbox-port", type=int, default=8001)
        parser.add_argument("--no-sandbox", action="store_true")

    def handle(self, *args, port, sandbox_port, no_sandbox, **options):
        from accounts.management.commands.seeddemo import DEMO_SECRET, DEMO_TOKEN, DEMO_UPSTREAM_ORG_ID

        py = sys.executable
        manage = str(settings.BASE_DIR / "manage.py")
        children: list[tuple[str, list[str]]] = [
            ("web", [py, manage, "runserver", f"127.0.0.1:{port}", "--noreload"]),
            (
                "worker",
                [py, "-m", "celery", "-A", "portal", "worker", "-l", "INFO", "--concurrency", "2", "-n", "worker@%h"],
            ),
            ("beat", [py, "-m", "celery", "-A", "portal", "beat", "-l", "INFO"]),
        ]
        if not no_sandbox:
            children.append(
                (
                    "sandbox",
                    [
                        py,
                        manage,
                        "runsandbox",
                        "--host",
                        "127.0.0.1",
                        "--port",
                        str(sandbox_port),
                        "--seed-org",
                        f"{DEMO_TOKEN}:{DEMO_SECRET}:{DEMO_UPSTREAM_ORG_ID}",
                        "--scale",
                        "1",
                        "--pace",
                        "fast",
                        "--webhook-url",
                        f"http://127.0.0.1:{port}/webhooks/order-update/",
                    ],
                )
            )
        self.stdout.write(
            f"portal  http://127.0.0.1:{port}/   (alice / {settings.PORTAL_DEMO_PASSWORD})\n"
            f"admin   http://127.0.0.1:{port}/admin/   (admin / {settings.PORTAL_DEMO_PASSWORD})\n"
            f"sandbox http://127.0.0.1:{sandbox_port}/\n"
            "A process that exits is restarted; Ctrl-C stops everything."
        )
        self.stdout.flush()
        supervisor = Supervisor(
            children, env=dict(os.environ, PYTHONUNBUFFERED="1"), cwd=settings.BASE_DIR, out=sys.stdout
        )
        supervisor.run()
        self.stdout.write("stopped.")
