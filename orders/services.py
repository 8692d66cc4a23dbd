"""Submitting orders: the vendor payload, persist-then-call, customer order numbers.

`submit()` saves an OrderSubmission, its lines and its outbox Delivery in one transaction;
the outbox worker sends it. What the upstream's answer does to the submission is in
`orders.hooks` (the hooks of the delivery kind "order.create").
"""

from __future__ import annotations

import logging
import re
from decimal import Decimal

from django.db import transaction
from django.db.models.functions import Lower
from django.utils import timezone

from mirror.models import Order
from outbox import services as outbox
from outbox.models import Delivery
from upstream.api import COLLECTION_PATHS
from upstream.records import to_decimal, to_int, to_str

from . import rows
from .models import PARTY_FIELDS, OrderSubmission, OrderSubmissionLine

log = logging.getLogger("orders")

KIND = Delivery.Kind.ORDER_CREATE
PATH = COLLECTION_PATHS["orders"]


# -- payload ------------------------------------------------------------------------------------
def _party_payload(submission: OrderSubmission, prefix: str) -> dict:
    out = {}
    for key in PARTY_FIELDS:
        value = getattr(submission, f"{prefix}_{key}")
        if key == "country":
            value = value.upper()
        out[key] = value if value != "" else None
    return out


def build_payload(submission: OrderSubmission, lines: list[OrderSubmissionLine], organization) -> dict:
    """The order in the vendor's POST shape."""
    importer_prefix = "recipient" if submission.importer_same_as_recipient else "importer"
    return {
        "organization_id": organization.upstream_organization_id,
        "purchase_order": submission.purchase_order,
        "customer_order": submission.customer_order,
        "ship_method_id": submission.ship_method_id,
        "ship_account": submission.ship_account or None,
        "notes": submission.notes,
        "customer_rma_case": submission.customer_rma_case,
        "recipient": _party_payload(submission, "recipient"),
        "importer_of_record": _party_payload(submission, importer_prefix),
        "duties_and_taxes_account": submission.duties_and_taxes_account or None,
        "lines": [
            {
                "product_code": line.product_code,
                "quantity": int(line.quantity),
                "customs_declared_value": float(line.customs_declared_value),
            }
            for line in lines
        ],
    }


# -- submitting ---------------------------------------------------------------------------------
def _save_lines(submission: OrderSubmission, lines: list[dict]) -> list[OrderSubmissionLine]:
    submission.lines.all().delete()
    rows = [
        OrderSubmissionLine(
            submission=submission,
            position=n,
            product_code=line["product_code"],
            quantity=line["quantity"],
            customs_declared_value=line["customs_declared_value"],
        )
        for n, line in enumerate(lines)
    ]
    OrderSubmissionLine.objects.bulk_create(rows)
    return rows


def _copy_importer(submission: OrderSubmission) -> None:
    if submission.importer_same_as_recipient:
        for key in PARTY_FIELDS:
            setattr(submission, f"importer_{key}", getattr(submission, f"recipient_{key}"))


def submit(organization, user, submission: OrderSubmission, lines: list[dict]) -> OrderSubmission:
    """Save a new submission with its lines and queue its delivery, all in one transaction."""
    with transaction.atomic():
        submission.organization = organization
        submission.created_by = user
        _copy_importer(submission)
        submission.save()
        saved = _save_lines(submission, lines)
        _enqueue(organization, user, submission, saved)
    return submission


def resubmit(organization, user, submission: OrderSubmission, lines: list[dict]) -> OrderSubmission:
    """A corrected rejected (or failed) submission goes out as a new delivery with a new key."""
    with transaction.atomic():
        outbox.reopen_submission(submission)
        _copy_importer(submission)
        submission.save()
        saved = _save_lines(submission, lines)
        _enqueue(organization, user, submission, saved)
    return submission


def _enqueue(organization, user, submission: OrderSubmission, lines: list[OrderSubmissionLine]) -> None:
    outbox.send_submission(submission, KIND, "POST", PATH, build_payload(submission, lines, organization), user=user)
    rows.refresh(organization.pk, submission_ids=[submission.pk])


# -- our own earlier write? -------------------------------------------------------------------
def _normal(value) -> str:
    return re.sub(r"\s+", " ", to_str(value)).strip().lower()


def matches(payload: dict, existing: dict) -> bool:
    """Is the upstream's existing order the same order as our payload (our own earlier write)?"""
    if _normal(existing.get("customer_order")) != _normal(payload.get("customer_order")):
        return False
    if _normal(existing.get("purchase_order")) != _normal(payload.get("purchase_order")):
        return False
    if to_int(existing.get("ship_method_id")) not in (None, to_int(payload.get("ship_method_id"))):
        return False

    def lines(rows):
        return sorted(
            (
                _normal(r.get("product_code")),
                to_int(r.get("quantity")),
                (to_decimal(r.get("customs_declared_value")) or Decimal(0)).quantize(Decimal("0.01")),
            )
            for r in rows or []
        )

    if lines(existing.get("lines")) != lines(payload.get("lines")):
        return False
    ours, theirs = payload.get("recipient") or {}, existing.get("recipient") or {}
    return all(_normal(ours.get(k)) == _normal(theirs.get(k)) for k in ("name", "address_1", "zip", "country"))


# -- customer order numbers -----------------------------------------------------------------------
def customer_order_taken(organization, value: str, exclude_pk: int | None = None) -> bool:
    # LOWER(), as the unique index `orders_submission_unique_customer_order` has it: one index probe.
    subs = OrderSubmission.objects.for_org(organization).alias(co=Lower("customer_order")).filter(co=value.lower())
    if exclude_pk:
        subs = subs.exclude(pk=exclude_pk)
    return subs.exists() or _in_mirror(organization, value)


def _in_mirror(organization, value: str) -> bool:
    """UPPER(), as the index `mirror_order_co_upper` has it: one index probe."""
    return Order.objects.for_org(organization).filter(customer_order__iexact=value).exists()


def suggest_customer_order(organization) -> str:
    """<SLUG>-YYYYMMDD-NNNN, the next number free in the organization today."""
    stamp = timezone.localdate().strftime("%Y%m%d")
    prefix = f"{organization.slug.upper()}-{stamp}-"
    used = {
        number.upper()
        for number in OrderSubmission.objects.for_org(organization)
        .filter(customer_order__istartswith=prefix)
        .values_list("customer_order", flat=True)
    }
    # The mirror is asked number by number (one index probe each, `mirror_order_co_upper`): a prefix match over
    # it (LIKE) reads every order of the organization where the database's collation is not "C".
    n = len(used) + 1
    while f"{prefix}{n:04d}" in used or _in_mirror(organization, f"{prefix}{n:04d}"):
        n += 1
    return f"{prefix}{n:04d}"
