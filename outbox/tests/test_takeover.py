"""A delivery whose sender died mid-call is taken over before its lease ends, and only then: the
claim names its process (host, pid, start time), and a process known gone (on this host: no such
pid, a zombie, or the pid reused) gives the delivery up at once; anything else waits for the lease."""

from __future__ import annotations

import logging
import os
import socket
import subprocess
import sys
from datetime import timedelta

import pytest
from django.utils import timezone

from outbox import services
from outbox.models import Delivery, DeliveryAttempt
from portal import processes

Status = Delivery.Status


def dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


@pytest.fixture
def sleeper():
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    yield proc
    proc.kill()
    proc.wait()


def holder(pid: int, start: str | None = None) -> str:
    state = processes._process_state(pid)
    return f"{socket.gethostname()} {pid} {start or (state[1] if state else '')}".strip()


def test_a_claim_names_this_process():
    host, pid, start = services.this_process().split()
    assert host == socket.gethostname() and int(pid) == os.getpid() and start.isdigit()


def test_only_a_process_known_gone_counts_as_gone(sleeper):
    assert processes.holder_is_gone(holder(dead_pid()))
    assert not processes.holder_is_gone(holder(sleeper.pid))  # alive
    assert processes.holder_is_gone(holder(sleeper.pid, start="1"))  # its pid, another process's start: reused
    assert not processes.holder_is_gone(services.this_process())  # this process (a thread of it may send)
    assert not processes.holder_is_gone(f"another-host {dead_pid()} 1")  # cannot tell: alive
    for garbage in ("", "x", f"{socket.gethostname()} abc"):
        assert not processes.holder_is_gone(garbage)


def test_a_killed_process_not_yet_reaped_is_gone():
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        name = holder(proc.pid)
        proc.kill()
        # Not waited for: a zombie until reaped.
        for _ in range(100):
            state = processes._process_state(proc.pid)
            if state and state[0] == "Z":
                break
            import time

            time.sleep(0.01)
        assert processes.holder_is_gone(name)
    finally:
        proc.wait()


def sending(org, claimed_by: str, *, lease_seconds: float = 120, attempts: int = 1) -> Delivery:
    return Delivery.objects.create(
        organization=org,
        kind="order.create",
        method="POST",
        path="/v2/orders",
        body="{}",
        status=Status.SENDING,
        attempts=attempts,
        lease_until=timezone.now() + timedelta(seconds=lease_seconds),
        claimed_by=claimed_by,
    )


def test_claim_takes_over_from_a_dead_sender_before_the_lease_ends(org_a, caplog):
    gone = holder(dead_pid())
    delivery = sending(org_a, gone)
    with caplog.at_level(logging.WARNING, logger="outbox"):
        claimed = services.claim(delivery.pk)
    assert claimed is not None and claimed.attempts == 2 and claimed.claimed_by == services.this_process()
    assert any(f"its sender ({gone}) is gone mid-call; taking it over" in r.getMessage() for r in caplog.records)


def test_claim_leaves_a_live_or_unknown_sender_alone_until_its_lease_ends(org_a, sleeper):
    for name in (holder(sleeper.pid), services.this_process(), f"another-host {dead_pid()}", ""):
        delivery = sending(org_a, name)
        assert services.claim(delivery.pk) is None
        delivery.refresh_from_db()
        assert delivery.attempts == 1 and delivery.claimed_by == name
    expired = sending(org_a, holder(sleeper.pid), lease_seconds=-1)
    assert services.claim(expired.pk) is not None  # the lease ended: as before


def test_the_outcome_of_an_attempt_taken_over_is_not_recorded(org_a):
    """Should a sender thought gone answer after all, the attempt that replaced it has the say."""
    delivery = sending(org_a, services.this_process())
    Delivery.objects.filter(pk=delivery.pk).update(attempts=2, claimed_by="someone else")
    attempt = DeliveryAttempt(delivery=delivery, number=1, started_at=timezone.now())
    from outbox import kinds

    status = services._record(delivery, kinds.get(delivery.kind), attempt, {"status": Status.SUCCEEDED, "code": 201})
    assert status == Status.SENDING
    delivery.refresh_from_db()
    assert delivery.status == Status.SENDING and delivery.claimed_by == "someone else"
    assert not DeliveryAttempt.objects.filter(delivery=delivery).exists()


def test_the_redrive_takes_over_what_a_dead_process_held(org_a, sleeper):
    """A whole worker killed: its task comes back from the broker only after the visibility time-out."""
    gone = sending(org_a, holder(dead_pid()))
    alive = sending(org_a, holder(sleeper.pid))
    due = services.due_for_redrive(100)
    assert gone.pk in due and alive.pk not in due


def test_an_answer_in_hand_is_recorded_once_the_database_answers_again(org_a, monkeypatch, caplog):
    """A database outage while recording the upstream's answer: the sender keeps the answer and
    records it when the database is back, rather than leaving the delivery "sending" for its lease."""
    from django.db import OperationalError

    from outbox import kinds

    delivery = sending(org_a, services.this_process(), lease_seconds=30)
    real, failures, naps = services._record, [OperationalError("server closed the connection"), None], []

    def flaky(*args):
        if failures and failures.pop(0) is not None:
            raise OperationalError("server closed the connection")
        return real(*args)

    failures.insert(0, OperationalError("connection refused"))
    monkeypatch.setattr(services, "_record", flaky)
    monkeypatch.setattr(services.time, "sleep", naps.append)
    attempt = DeliveryAttempt(delivery=delivery, number=1, started_at=timezone.now())
    outcome = {"status": Status.SUCCEEDED, "code": 201, "body": {"id": 77}}
    status = services._record_surely(delivery, kinds.get(delivery.kind), attempt, outcome)
    assert status == Status.SUCCEEDED and naps == [0.5, 1.0]
    delivery.refresh_from_db()
    assert delivery.status == Status.SUCCEEDED and delivery.upstream_id == 77
    assert sum("the database is unreachable" in r.getMessage() for r in caplog.records) == 2


def test_past_its_lease_the_sender_gives_the_answer_up(org_a, monkeypatch):
    from django.db import OperationalError

    from outbox import kinds

    delivery = sending(org_a, services.this_process(), lease_seconds=0.2)

    def down(*args):
        raise OperationalError("connection refused")

    monkeypatch.setattr(services, "_record", down)
    monkeypatch.setattr(services.time, "sleep", lambda s: None)
    attempt = DeliveryAttempt(delivery=delivery, number=1, started_at=timezone.now())
    with pytest.raises(OperationalError):
        services._record_surely(delivery, kinds.get(delivery.kind), attempt, {"status": Status.SUCCEEDED})
