"""A worker process killed mid-call (kill -9): its delivery is sent again within seconds, not after
the 130-second lease, and the upstream creates the object exactly once (issue 15).

A real prefork worker runs in a process of its own, on this test's database, broker and queue,
with the laptop's real time-outs (a 130 s lease). The sandbox holds the first call for a few
seconds; the test kills the pool process that sends it. The worker gives the task back to the
broker (acks late, reject on worker lost), its next pool process takes the delivery over from the
dead sender (outbox.services.claim) and sends it again with the same idempotency key.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import pytest
from django.db import connection

from conftest import make_member, wait_for
from outbox import services as outbox
from outbox.models import Delivery
from portal.celery import app
from rmas import services
from rmas.models import RmaSubmission

pytestmark = pytest.mark.django_db(transaction=True)

ROOT = Path(__file__).resolve().parents[2]
LATENCY_MS = 5000


def database_url() -> str:
    s = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{s['NAME']}"
    auth = s["USER"] + (f":{s['PASSWORD']}" if s["PASSWORD"] else "")
    return f"postgres://{auth}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"


@pytest.fixture
def prefork_worker():
    """`celery worker --pool prefork --concurrency 1` on this test's queue, in its own session."""
    script = (
        "from portal.celery import app\n"
        f"app.conf.task_default_queue = {app.conf.task_default_queue!r}\n"
        f"app.conf.broker_transport_options = {dict(app.conf.broker_transport_options or {})!r}\n"
        "app.worker_main(['worker', '--pool', 'prefork', '--concurrency', '1', '-l', 'INFO',\n"
        f"    '-Q', {app.conf.task_default_queue!r}, '-n', 'killed-{uuid.uuid4().hex[:8]}@%h',\n"
        "    '--without-mingle', '--without-gossip', '--without-heartbeat'])\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "PYTEST_XDIST_WORKER"}
    env["DATABASE_URL"] = database_url()
    log_file = tempfile.TemporaryFile()  # noqa: SIM115 - closed at the end of the fixture
    proc = subprocess.Popen(
        [sys.executable, "-c", script],
        cwd=ROOT,
        env=env,
        stdout=log_file,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    proc.log_file = log_file
    yield proc
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    log_file.close()


def worker_log(proc) -> str:
    proc.log_file.seek(0)
    return proc.log_file.read().decode(errors="replace")


def wait_showing_log(proc, predicate, timeout: float, what: str):
    try:
        return wait_for(predicate, timeout, message=what)
    except AssertionError as exc:
        raise AssertionError(f"{exc}; the worker's log:\n{worker_log(proc)}") from None


def test_a_delivery_whose_worker_was_killed_mid_call_is_sent_again_within_seconds_and_once(
    sandbox_org, sandbox, prefork_worker
):
    token = sandbox_org.upstream_token
    sandbox.set_faults(latency_ms=LATENCY_MS, path_prefix="/v2/rmas", method="POST", token=token)
    user = make_member("sam", sandbox_org, roles=["service"])
    submission = RmaSubmission(
        request_type=3,
        manufacturer_serial="SBX-RMA-KILLED",
        problem="Fan noise",
        replacement_name="Acme Receiving",
        replacement_addr="1 Dock Road",
    )
    services.submit(sandbox_org, user, submission)

    def claimed():
        d = Delivery.objects.get(pk=submission.delivery_id)
        return d if d.status == Delivery.Status.SENDING and d.claimed_by else None

    first = wait_showing_log(prefork_worker, claimed, 60, "the worker to claim the delivery")
    _host, pid, *_ = first.claimed_by.split()
    assert int(pid) != prefork_worker.pid  # the pool process, not the worker's main process
    lease_left = (first.lease_until - first.updated_at).total_seconds()
    assert lease_left > 120  # the real lease
    time.sleep(1.0)  # the call is on its way: the sandbox holds it
    os.kill(int(pid), signal.SIGKILL)
    killed_at = time.monotonic()

    def sent():
        d = Delivery.objects.get(pk=submission.delivery_id)
        return d if d.status == Delivery.Status.SUCCEEDED else None

    done = wait_showing_log(prefork_worker, sent, 60, "the delivery to be sent again")
    took = time.monotonic() - killed_at
    assert took < 30, f"sent again {took:.1f}s after the kill (the lease is {lease_left:.0f}s)"
    assert done.attempts == 2 and done.claimed_by == ""
    assert list(done.attempt_rows.values_list("number", "outcome")) == [(2, "succeeded")]
    log = worker_log(prefork_worker)
    assert "signal 9 (SIGKILL)" in log, log
    assert f"its sender ({first.claimed_by}) is gone mid-call; taking it over" in log, log
    # Exactly once at the upstream, however many calls reached it.
    time.sleep(LATENCY_MS / 1000 + 0.5)  # the first call, still held by the sandbox, is answered too
    assert sandbox.stats(token)["rmas_created"] == 1
    assert outbox.due_for_redrive(100) == []
