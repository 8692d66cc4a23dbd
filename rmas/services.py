"""Requesting RMAs: the vendor payload and persist-then-call.

`submit()` saves an RmaSubmission and its outbox Delivery in one transaction; the outbox
worker sends it with its idempotency key (never lost, never sent twice). What the upstream's
answer does to the request is in `rmas.hooks` (the hooks of the delivery kind "rma.create").
"""

from __future__ import annotations

from django.db import transaction

from outbox import services as outbox
from outbox.models import Delivery
from upstream.api import COLLECTION_PATHS

from . import rows
from .models import RmaSubmission

KIND = Delivery.Kind.RMA_CREATE
PATH = COLLECTION_PATHS["rmas"]


def build_payload(submission: RmaSubmission) -> dict:
    """The request in the vendor's POST /v2/rmas shape."""
    return {
        "problem": submission.problem,
        "request_type_id": int(submission.request_type),
        "manufacturer_serial": submission.manufacturer_serial,
        "replacement_name": submission.replacement_name,
        "replacement_phone": submission.replacement_phone or None,
        "replacement_addr": submission.replacement_addr or None,
    }


def submit(organization, user, submission: RmaSubmission) -> RmaSubmission:
    """Save a new request and queue its delivery, in one transaction."""
    with transaction.atomic():
        submission.organization = organization
        submission.created_by = user
        submission.save()
        _enqueue(user, submission)
    return submission


def resubmit(organization, user, submission: RmaSubmission) -> RmaSubmission:
    """A corrected rejected (or failed) request goes out as a new delivery with a new key."""
    with transaction.atomic():
        outbox.reopen_submission(submission)
        submission.save()
        _enqueue(user, submission)
    return submission


def _enqueue(user, submission: RmaSubmission) -> None:
    outbox.send_submission(submission, KIND, "POST", PATH, build_payload(submission), user=user)
    rows.refresh(submission.organization_id, submission_ids=[submission.pk])
