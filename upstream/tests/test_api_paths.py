"""Every upstream path comes from upstream.api's one table."""

from __future__ import annotations

import os
import re
from pathlib import Path

from upstream import api

ROOT = Path(__file__).resolve().parents[2]


class Recorder:
    """A client that records (method, path) and answers an empty object."""

    def __init__(self):
        self.calls: list[tuple[str, str]] = []

    def get(self, path, params=None):
        self.calls.append(("GET", path))
        return {"id": 1}

    def post(self, path, payload, *, idempotency_key=None):
        self.calls.append(("POST", path))
        return {"id": 1}

    def put(self, path, payload, *, idempotency_key=None):
        self.calls.append(("PUT", path))
        return {"id": 1}

    def get_csv(self, path):
        self.calls.append(("GET", path))
        return iter([{"id": "1"}])


def test_writes_one_objects_and_the_report_take_their_paths_from_the_table():
    client = Recorder()
    api.rma(client, 15000)
    api.order(client, "7")
    api.create_rma(client, {}, "k")
    api.create_order(client, {}, "k")
    api.create_automation_queue(client, {}, "k")
    api.update_automation_task(client, {}, "k")
    api.create_serial_datum(client, {}, "k")
    list(api.automation_tasks_report(client))
    assert client.calls == [
        ("GET", "/v2/rmas/15000"),
        ("GET", "/v2/customer_order_submissions/7"),
        ("POST", "/v2/rmas"),
        ("POST", "/v2/customer_order_submissions"),
        ("POST", "/v2/automation_queues"),
        ("PUT", "/v2/automation_tasks"),
        ("POST", "/v2/serial_data"),
        ("GET", "/v2/automation_tasks/details.csv"),
    ]
    assert api.object_path("rmas", 15000) == "/v2/rmas/15000"


def test_no_upstream_path_is_spelled_outside_upstream_api():
    """The sandbox is a separate system (it never imports the client's code); tests and
    benchmarks spell paths to check them."""
    spelled = re.compile(r"""["']/v2/""")
    skipped = {"sandbox", "bench", "tests", "migrations", "var", "static", "templates", "node_modules"}
    offenders = []
    for folder, dirs, files in os.walk(ROOT):
        dirs[:] = [d for d in dirs if d not in skipped and not d.startswith(".")]
        for name in files:
            path = Path(folder, name)
            relative = path.relative_to(ROOT)
            if name == "conftest.py" or relative == Path("upstream/api.py") or not name.endswith(".py"):
                continue
            if spelled.search(path.read_text()):
                offenders.append(str(relative))
    assert offenders == []
