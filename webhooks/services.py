"""Receive (verify, store raw) and process (apply to the mirror) Order Update webhooks."""

from __future__ import annotations

import hashlib
import logging
from datetime import timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.models import Organization
from portal import dispatch
from upstream import signing
from upstream.records import order_status, to_datetime, to_int

from . import schema
from .models import WebhookDelivery

log = logging.getLogger("webhooks")

KEPT_HEADERS = ("X-MBX-Token", "X-MBX-Date", "Content-Type", "User-Agent", "Content-Length")
STUCK_AFTER = 30  # seconds a delivery may sit in "received" before the redrive hands it over again
CHANNEL = "webhooks"


class Refused(Exception):
    """The request is not a genuine, fresh webhook of a known organization, or it is one
    received already (a replay): answer 401, write nothing."""


def authenticate(request) -> Organization:
    """The organization whose token signed this request, or Refused. Never logs a secret."""
    token = request.headers.get(signing.TOKEN_HEADER, "")
    date = request.headers.get(signing.DATE_HEADER, "")
    signature = request.headers.get(signing.SIGNATURE_HEADER, "")
    if not (token and date and signature):
        raise Refused("missing X-MBX-Token, X-MBX-Date or X-MBX-Signature")
    if not signing.date_within_window(date):
        raise Refused("X-MBX-Date is malformed or more than 300 seconds from our clock")
    path = request.get_full_path()
    for org in Organization.objects.filter(upstream_token=token, is_active=True):
        if signing.verify(org.get_upstream_secret(), "POST", path, request.body, date, signature):
            return org
    raise Refused("unknown token or signature mismatch")


def headers_subset(request) -> dict:
    return {k: request.headers[k] for k in KEPT_HEADERS if k in request.headers}


def signature_digest(request) -> str:
    """SHA-256 of the request's signature as verified (stripped, lower case): what a replay repeats.
    The signature itself is never stored."""
    signature = request.headers.get(signing.SIGNATURE_HEADER, "").strip().lower()
    return hashlib.sha256(signature.encode("utf-8", "replace")).hexdigest()


def store(organization, request) -> WebhookDelivery:
    """Keep the raw delivery; hand it to a worker once committed. Refused when this signed
    request (its signature) was received already for the organization: a replay writes nothing."""
    raw = request.body
    # What is kept: at most the cap. Bytes that are not UTF-8 are kept as \xNN escapes, which
    # JSON does not allow, so a stored body never parses into something that was not sent.
    body = raw[: schema.limits.JSON_BYTES].decode("utf-8", errors="backslashreplace")[: schema.limits.JSON_BYTES]
    fields = {
        "organization": organization,
        "headers": headers_subset(request),
        "body": body,
        "signature_sha256": signature_digest(request),
    }
    try:
        payload = schema.parse(raw)
        schema.validate_order(payload)
    except schema.Invalid as exc:
        fields.update(status=WebhookDelivery.Status.FAILED, error=f"the order is not valid: {exc}"[:2000])
    except ValueError as exc:
        fields.update(status=WebhookDelivery.Status.FAILED, error=f"the body is not a JSON order object: {exc}"[:2000])
    else:
        fields.update(
            order_upstream_id=to_int(payload.get("id")),
            order_status=order_status(payload.get("status")),
            order_updated_at=to_datetime(payload.get("updated_at")),
        )
    try:
        # A savepoint: a replay's unique violation (webhooks_signature_once) leaves the request's
        # transaction usable, and two copies sent at once store one row between them.
        with transaction.atomic():
            delivery = WebhookDelivery.objects.create(**fields)
    except IntegrityError:
        if WebhookDelivery.objects.filter(
            organization=organization, signature_sha256=fields["signature_sha256"]
        ).exists():
            raise Refused(
                "replayed: this signed request (X-MBX-Date and X-MBX-Signature) was received already"
            ) from None
        raise
    if delivery.status == WebhookDelivery.Status.RECEIVED:
        dispatch.on_commit(CHANNEL, delivery.pk)
    return delivery


def process(delivery_id: int, *, force: bool = False) -> str | None:
    """Apply one stored delivery to the mirror. Returns its new status (None when skipped)."""
    from orders.mirror_apply import Outcome, apply_order_payload

    with transaction.atomic():
        delivery = (
            WebhookDelivery.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("organization")
            .filter(pk=delivery_id)
            .first()
        )
        if delivery is None:
            return None
        wanted = (
            (WebhookDelivery.Status.RECEIVED, WebhookDelivery.Status.FAILED)
            if force
            else (WebhookDelivery.Status.RECEIVED,)
        )
        if delivery.status not in wanted:
            return None
        delivery.attempts += 1
        try:
            with transaction.atomic():
                payload = schema.parse(delivery.body.encode())
                schema.validate_order(payload)  # stored before this check existed, or edited: never trusted
                applied = apply_order_payload(delivery.organization, payload, source="webhook", partial=True)
        except Exception as exc:
            log.warning("webhook delivery %s failed: %s", delivery.pk, exc.__class__.__name__)
            delivery.status = WebhookDelivery.Status.FAILED
            delivery.error = f"{exc.__class__.__name__}: {exc}"[:2000]
        else:
            delivery.outcome = applied.outcome
            delivery.error = ""
            delivery.status = WebhookDelivery.Status.PROCESSED if applied.changed else WebhookDelivery.Status.IGNORED
            if applied.outcome == Outcome.STALE:
                delivery.error = "older than the stored state (updated_at); nothing changed"
            elif applied.outcome == Outcome.DUPLICATE:
                delivery.error = "same as the stored state; nothing changed"
        delivery.processed_at = timezone.now()
        delivery.save()
    return delivery.status


def reprocess(queryset) -> int:
    """Admin: put failed deliveries back in the queue."""
    ids = list(queryset.filter(status=WebhookDelivery.Status.FAILED).values_list("pk", flat=True))
    WebhookDelivery.objects.filter(pk__in=ids).update(status=WebhookDelivery.Status.RECEIVED, error="")
    for pk in ids:
        dispatch.on_commit(CHANNEL, pk)
    return len(ids)


def due_for_redrive(limit: int, stuck_after: float = STUCK_AFTER) -> list[int]:
    """Deliveries stuck in "received" (their task was lost)."""
    cutoff = timezone.now() - timedelta(seconds=stuck_after)
    return list(
        WebhookDelivery.objects.filter(status=WebhookDelivery.Status.RECEIVED, received_at__lt=cutoff)
        .order_by("received_at")
        .values_list("pk", flat=True)[:limit]
    )
