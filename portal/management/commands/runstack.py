"""Run the whole stack in the foreground: portal, sandbox upstream, worker and beat.

Used by `make run`. Output of each process is prefixed with its name; Ctrl-C (or any
process exiting) stops all of them.
"""

from __future__ import annotations

import os
import selectors
import signal
import subprocess
import sys
import time
from typing import IO, cast

from django.conf import settings
from django.core.management.base import BaseCommand

from accounts.management.commands.seeddemo import DEMO_SECRET, DEMO_TOKEN, DEMO_UPSTREAM_ORG_ID


class Command(BaseCommand):
    help = "Start portal (8000), sandbox upstream (8001), Celery worker and beat; Ctrl-C stops all."

    def add_arguments(self, parser):
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--sandbox-port", type=int, default=8001)
        parser.add_argument("--no-sandbox", action="store_true")

    def handle(self, *args, port, sandbox_port, no_sandbox, **options):
        py = sys.executable
        manage = str(settings.BASE_DIR / "manage.py")
        env = dict(os.environ, PYTHONUNBUFFERED="1")
        procs = {
            "web": [py, manage, "runserver", f"127.0.0.1:{port}", "--noreload"],
            "worker": [
                py,
                "-m",
                "celery",
                "-A",
                "portal",
                "worker",
                "-l",
                "INFO",
                "--concurrency",
                "2",
                "-n",
                "worker@%h",
            ],
            "beat": [py, "-m", "celery", "-A", "portal", "beat", "-l", "INFO"],
        }
        if not no_sandbox:
            procs["sandbox"] = [
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
            ]
        running: dict[str, subprocess.Popen] = {}
        sel = selectors.DefaultSelector()
        for name, cmd in procs.items():
            p = subprocess.Popen(
                cmd,
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                cwd=settings.BASE_DIR,
                start_new_session=True,
            )
            running[name] = p
            assert p.stdout is not None
            sel.register(p.stdout, selectors.EVENT_READ, name)
        width = max(len(n) for n in procs)
        self.stdout.write(
            f"portal  http://127.0.0.1:{port}/   (alice / {settings.PORTAL_DEMO_PASSWORD})\n"
            f"admin   http://127.0.0.1:{port}/admin/   (admin / {settings.PORTAL_DEMO_PASSWORD})\n"
            f"sandbox http://127.0.0.1:{sandbox_port}/\n"
            "Ctrl-C stops everything."
        )
        stopping = False

        def stop(*_):
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGINT, stop)
        signal.signal(signal.SIGTERM, stop)
        try:
            while not stopping and running:
                for key, _ in sel.select(timeout=0.5):
                    line = cast(IO[bytes], key.fileobj).readline()
                    if not line:
                        sel.unregister(key.fileobj)
                        continue
                    sys.stdout.write(f"{key.data:<{width}} | {line.decode(errors='replace')}")
                    sys.stdout.flush()
                for name, p in list(running.items()):
                    if p.poll() is not None:
                        self.stderr.write(f"{name} exited with status {p.returncode}; stopping the others")
                        stopping = True
        finally:
            for p in running.values():
                if p.poll() is None:
                    os.killpg(p.pid, signal.SIGTERM)
            deadline = time.monotonic() + 10
            for p in running.values():
                try:
                    p.wait(max(0.1, deadline - time.monotonic()))
                except subprocess.TimeoutExpired:
                    os.killpg(p.pid, signal.SIGKILL)
            self.stdout.write("stopped.")
