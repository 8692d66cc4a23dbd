"""Persist, then call: enqueue a write with the local record, send it from a worker.

- `enqueue()` saves a Delivery in the caller's transaction; the "outbox" dispatch channel
  (portal.dispatch) hands it to a worker once that commits.
- `send()` claims a due delivery (row lock, SKIP LOCKED), calls the upstream through the
  one client seam with the delivery's idempotency key and exact body bytes, and records
  the outcome with an attempt row.
- `due_for_redrive()` names the deliveries the dispatch redrive hands over again: due and
  not in flight (tasks lost with a restarted broker, a worker killed mid-call whose lease
  expired or whose process is known gone, retries whose countdown task vanished).

A worker killed mid-call: `claim()` records the sending process (`claimed_by`: host, pid and
start time). The task is acknowledged late and rejected when its worker process is lost
(the task `portal.process`), so the broker hands it to another process at once; that one takes the
delivery over before its lease ends when the holder is known gone: a process on the same host
that no longer exists (or is another process now). A holder on another host, or one still
alive, keeps the delivery until its lease ends: one sender at a time, always. A redelivery
alone proves nothing (a worker that lost its broker connection gets its task redelivered while
it still runs). Should a holder thought gone answer after all, `_record()` drops its outcome:
the attempt number moved on, and the new sender, with the same idempotency key, records the
upstream's answer.
"""

from __future__ import annotations

import logging
import random
import time
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import InterfaceError, OperationalError, connection, transaction
from django.utils import timezone

from portal import dispatch
from portal.processes import holder_is_gone, this_process
from upstream.client import encode_json

from . import kinds
from .models import OPEN_STATUSES, Delivery, DeliveryAttempt, Submission

CHANNEL = "outbox"
Status = Delivery.Status

log = logging.getLogger("outbox")


def _canonical_body(payload: dict) -> str:
    return encode_json(payload).decode("utf-8")


def enqueue(
    organization,
    kind: str,
    method: str,
    path: str,
    payload: dict,
    *,
    created_by=None,
    idempotency_key: str | None = None,
) -> Delivery:
    """Save a delivery now; it is sent by a worker once the caller's transaction commits."""
    fields = dict(
        organization=organization,
        kind=kind,
        method=method.upper(),
        path=path,
        body=_canonical_body(payload),
        created_by=created_by,
    )
    if idempotency_key:
        fields["idempotency_key"] = idempotency_key
    kinds.get(kind)  # a kind without hooks would never update its local record: refuse it now
    delivery = Delivery.objects.create(**fields)
    dispatch.on_commit(CHANNEL, delivery.pk)
    return delivery


def send_submission(submission: Submission, kind: str, method: str, path: str, payload: dict, *, user=None) -> Delivery:
    """Queue a submission's delivery and make it the submission's current one (in the caller's
    transaction, with the submission's own rows)."""
    delivery = enqueue(submission.organization, kind, method, path, payload, created_by=user)
    submission.delivery = delivery
    submission.save(update_fields=["delivery", "updated_at"])
    return delivery


def reopen_submission(submission: Submission) -> None:
    """Before a corrected submission goes out again (inside the caller's transaction): lock it,
    check it was rejected or failed, keep its delivery as a previous one, forget the upstream's
    earlier answer. ValueError when it is not undelivered (another request sent it meanwhile)."""
    locked = type(submission).objects.select_for_update(of=("self",)).select_related("delivery").get(pk=submission.pk)
    if not locked.can_resubmit:
        raise ValueError("only a rejected or failed submission can be corrected and sent again")
    if locked.delivery_id:
        submission.previous_deliveries.add(locked.delivery_id)
    submission.upstream_id = None
    submission.upstream_status = ""


def backoff_seconds(attempts: int) -> float:
    """Capped exponential back-off with full jitter between outbox-level retries."""
    base = settings.OUTBOX_RETRY_BASE
    cap = settings.OUTBOX_RETRY_CAP
    return random.uniform(base, min(cap, base * (2 ** max(0, attempts - 1))))  # nosec B311  # retry jitter, not a secret


def _lease_seconds() -> float:
    # The client may spend up to its attempts x (connect + read time-out) plus back-off.
    per_call = settings.UPSTREAM_CONNECT_TIMEOUT + settings.UPSTREAM_READ_TIMEOUT
    return per_call * settings.OUTBOX_CLIENT_ATTEMPTS + 60


def claim(delivery_id: int) -> Delivery | None:
    """Mark a due delivery SENDING (one worker wins; others skip it). A SENDING delivery whose
    lease has not ended is taken over only when its sender is known gone (`holder_is_gone`)."""
    now = timezone.now()
    with transaction.atomic():
        delivery = (
            # of=("self",): lock the delivery only. Locking the joined organization row too made a
            # concurrent claim of another delivery of the same organization skip (and drop) its row.
            Delivery.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("organization")
            .filter(pk=delivery_id)
            .first()
        )
        if delivery is None:
            return None
        if delivery.status == Status.SENDING:
            if delivery.lease_until and delivery.lease_until > now:
                if not holder_is_gone(delivery.claimed_by):
                    return None  # another worker holds it
                log.warning(
                    "delivery %s: its sender (%s) is gone mid-call; taking it over %.0fs before its lease ends",
                    delivery.pk,
                    delivery.claimed_by,
                    (delivery.lease_until - now).total_seconds(),
                )
        elif delivery.status not in (Status.QUEUED, Status.RETRYING) or delivery.next_attempt_at > now:
            return None
        delivery.status = Status.SENDING
        delivery.attempts += 1
        delivery.lease_until = now + timedelta(seconds=_lease_seconds())
        delivery.claimed_by = this_process()
        delivery.save(update_fields=["status", "attempts", "lease_until", "claimed_by", "updated_at"])
        kind = kinds.find(delivery.kind)
        if kind and kind.on_status:
            kind.on_status(delivery)
    return delivery


def _reschedule_if_early(delivery_id: int) -> None:
    """A task that ran before its delivery was due (an ETA firing a little early) hands it back to
    Celery for the remaining time instead of leaving it to the periodic redrive."""
    due = (
        Delivery.objects.filter(pk=delivery_id, status__in=(Status.QUEUED, Status.RETRYING))
        .values_list("next_attempt_at", flat=True)
        .first()
    )
    if due is not None:
        wait = (due - timezone.now()).total_seconds()
        if wait > 0:
            dispatch.hand_over(CHANNEL, delivery_id, countdown=wait)


def send(delivery_id: int) -> str | None:
    """Send one delivery if it is due; returns the resulting status (None when skipped)."""
    from upstream.client import UpstreamClient
    from upstream.errors import (
        AuthFailed,
        Conflict,
        TransientError,
        UpstreamError,
        ValidationFailed,
    )

    delivery = claim(delivery_id)
    if delivery is None:
        _reschedule_if_early(delivery_id)
        return None
    started = time.monotonic()
    attempt = DeliveryAttempt(delivery=delivery, number=delivery.attempts, started_at=timezone.now())
    outcome: dict[str, Any]
    try:
        kind = kinds.get(delivery.kind)
    except kinds.UnknownKind as exc:  # a deploy without the kind's app: keep the write, send it once it is back
        log.error("delivery %s: %s", delivery.pk, exc)
        outcome = {"status": Status.RETRYING, "code": None, "error": f"{exc}; not sent"}
        return _record(delivery, kinds.DeliveryKind(delivery.kind), attempt, outcome)
    try:
        with UpstreamClient(delivery.organization, max_attempts=settings.OUTBOX_CLIENT_ATTEMPTS) as client:
            response = client.request(
                delivery.method,
                delivery.path,
                body=delivery.body_bytes,
                idempotency_key=delivery.idempotency_key,
            )
        outcome = {"status": Status.SUCCEEDED, "code": response.status, "body": response.data}
    except ValidationFailed as exc:
        outcome = {"status": Status.REJECTED, "code": exc.status, "errors": exc.field_errors, "error": str(exc)}
    except Conflict as exc:
        outcome = {
            "status": Status.CONFLICT,
            "code": exc.status,
            "existing": exc.existing,
            "errors": exc.field_errors,
            "error": str(exc),
        }
    except AuthFailed as exc:
        # Wrong credentials are an ops problem, not the buyer's: keep the write and retry.
        outcome = {
            "status": Status.RETRYING,
            "code": exc.status,
            "error": f"{exc} (check the organization's upstream token and secret, and both clocks)",
        }
    except TransientError as exc:
        outcome = {
            "status": Status.RETRYING,
            "code": exc.status,
            "error": str(exc),
            "retry_after": getattr(exc, "retry_after", None),
        }
    except UpstreamError as exc:
        outcome = {"status": Status.REJECTED, "code": exc.status, "errors": None, "error": str(exc)}
    except Exception as exc:  # a bug or an unexpected failure: never lose the write
        log.exception("delivery %s: unexpected error", delivery.pk)
        outcome = {"status": Status.RETRYING, "code": None, "error": f"{exc.__class__.__name__}: {exc}"}
    attempt.duration_ms = int((time.monotonic() - started) * 1000)
    return _record_surely(delivery, kind, attempt, outcome)


def _record_surely(delivery: Delivery, kind: kinds.DeliveryKind, attempt: DeliveryAttempt, outcome: dict) -> str:
    """`_record()`, waiting out a database outage: the upstream's answer is in hand (the write may
    be committed there), so keep trying while this process still holds the delivery's lease
    instead of dropping the answer and leaving the delivery "sending" until the lease ends."""
    delay = 0.5
    while True:
        try:
            return _record(delivery, kind, attempt, outcome)
        except (OperationalError, InterfaceError) as exc:
            left = (delivery.lease_until - timezone.now()).total_seconds() if delivery.lease_until else 0
            if left <= delay:
                raise
            log.warning(
                "delivery %s: the database is unreachable (%s); keeping the upstream's answer (%s) "
                "and recording it again in %.1fs",
                delivery.pk,
                exc.__class__.__name__,
                outcome.get("code"),
                delay,
            )
            if not connection.in_atomic_block:  # (a test's transaction holds it open)
                connection.close()  # the next try connects afresh
            time.sleep(delay)
            delay = min(delay * 2, 5.0)


def _record(delivery: Delivery, kind: kinds.DeliveryKind, attempt: DeliveryAttempt, outcome: dict) -> str:
    now = timezone.now()
    status = outcome["status"]
    with transaction.atomic():
        delivery = Delivery.objects.select_for_update().get(pk=delivery.pk)
        if delivery.attempts > attempt.number:
            # Taken over while this attempt was thought dead: the new sender records the answer.
            log.warning(
                "delivery %s: attempt %s was taken over (now attempt %s, %s); its outcome (%s) is not recorded",
                delivery.pk,
                attempt.number,
                delivery.attempts,
                delivery.status,
                status,
            )
            return delivery.status
        delivery.last_status_code = outcome.get("code")
        delivery.lease_until = None
        delivery.claimed_by = ""
        if status == Status.CONFLICT:
            existing = (
                kind.on_conflict(delivery, outcome.get("existing") or {}, outcome.get("errors") or {})
                if kind.on_conflict
                else None
            )
            if existing:
                status = Status.SUCCEEDED
                outcome["body"] = existing
                outcome["error"] = "reconciled with the existing upstream object (409)"
            else:
                status = Status.REJECTED
        if status == Status.SUCCEEDED:
            body = outcome.get("body") or {}
            delivery.status = Status.SUCCEEDED
            delivery.response = body
            delivery.field_errors = None
            delivery.last_error = outcome.get("error", "")
            delivery.completed_at = now
            if isinstance(body, dict) and str(body.get("id", "")).isdigit():
                delivery.upstream_id = int(body["id"])
            if kind.on_success:
                kind.on_success(delivery, body)
        elif status == Status.REJECTED:
            delivery.status = Status.REJECTED
            delivery.field_errors = outcome.get("errors") or {}
            delivery.response = {"errors": delivery.field_errors}
            delivery.last_error = outcome.get("error", "")
            delivery.completed_at = now
            if kind.on_rejected:
                kind.on_rejected(delivery, delivery.field_errors)
        else:
            give_up_at = delivery.created_at + timedelta(seconds=settings.OUTBOX_GIVE_UP_AFTER)
            delay = max(backoff_seconds(delivery.attempts), float(outcome.get("retry_after") or 0))
            if now + timedelta(seconds=delay) > give_up_at:
                delivery.status = Status.FAILED
                delivery.completed_at = now
                delivery.last_error = f"gave up after {delivery.attempts} attempts: {outcome.get('error', '')}"
            else:
                delivery.status = Status.RETRYING
                delivery.next_attempt_at = now + timedelta(seconds=delay)
                delivery.last_error = outcome.get("error", "")
                if kind.on_retrying:
                    kind.on_retrying(delivery)
        delivery.save()
        if kind.on_status:
            kind.on_status(delivery)
        attempt.outcome = delivery.status
        attempt.status_code = outcome.get("code")
        attempt.error = "" if delivery.status == Status.SUCCEEDED else delivery.last_error[:2000]
        attempt.save()
        if delivery.status == Status.RETRYING:
            dispatch.on_commit(CHANNEL, delivery.pk, countdown=(delivery.next_attempt_at - now).total_seconds())
    log.info("delivery %s %s attempt %s -> %s", delivery.pk, delivery.kind, attempt.number, delivery.status)
    return delivery.status


def due_for_redrive(limit: int) -> list[int]:
    """Deliveries that are due but not in flight: queued or retrying and untouched for the grace
    period, or sending with an expired lease or a sender known gone (the worker died mid-call)."""
    now = timezone.now()
    grace = now - timedelta(seconds=settings.OUTBOX_REDRIVE_GRACE)
    due = Delivery.objects.filter(
        status__in=(Status.QUEUED, Status.RETRYING), next_attempt_at__lte=now, updated_at__lte=grace
    ) | Delivery.objects.filter(status=Status.SENDING, lease_until__lt=now)
    ids = list(due.order_by("next_attempt_at").values_list("pk", flat=True)[:limit])
    # A whole worker killed (not only its pool process) has its task redelivered only after the
    # broker's visibility timeout: the redrive takes over what a dead process of this host held.
    held = Delivery.objects.filter(status=Status.SENDING, lease_until__gte=now).exclude(claimed_by="")
    for pk, holder in held.values_list("pk", "claimed_by")[: max(0, limit - len(ids))]:
        if holder_is_gone(holder):
            ids.append(pk)
    return ids


def retry_now(delivery: Delivery) -> None:
    """Ops/users: send an open delivery again without waiting for its back-off."""
    if delivery.status in OPEN_STATUSES and delivery.status != Status.SENDING:
        Delivery.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now())
        dispatch.on_commit(CHANNEL, delivery.pk)
