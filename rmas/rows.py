"""The RMA lists' table: one row per RMA, kept where the data changes.

An `RmaRow` is a mirrored RMA (with the request that asked for it, if it was requested here),
or a local request the mirror has not got yet: the shared rules of
`portal.rowtables.RowTable`, as for the orders list. `refresh()` runs in the caller's
transaction wherever an RMA or a request changes:

- every sync page of RMAs and every vanish pass (`on_page`, `on_vanish`, listened to by
  `rmas.hooks`), and every stored RMA detail;
- every status of a request's delivery, and the upstream's answer to it.

A local row shows what the request says: its request type as the subject (as the upstream
names a new RMA), its serial, its delivery's status, and the day it was requested as its
start. It counts as open until the RMA is mirrored.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.urls import reverse
from django.utils import timezone

from mirror.models import Rma
from portal.rowtables import RowTable, RowValues
from upstream.records import rma_request_type_label

from .models import RmaRow, RmaSubmission

# The columns a refresh writes (everything but the id).
ROW_FIELDS = (
    "organization_id",
    "rma_id",
    "submission_id",
    "upstream_id",
    "subject",
    "status",
    "is_open",
    "request_type",
    "manufacturer_serial",
    "item_name",
    "category_name",
    "start_date",
    "closed_date",
    "updated_at",
    "search_text",
)
SEARCHED = ("subject", "manufacturer_serial", "item_name", "category_name")

RMA_VALUES = (
    "pk",
    "organization_id",
    "upstream_id",
    "subject",
    "status_name",
    "is_open",
    "request_type_id",
    "manufacturer_serial",
    "item_name",
    "category_name",
    "start_date",
    "closed_date",
    "changed_at",
    "detail_fetched_at",
    "vanished_at",
)


def row_url(rma_id: int | None, submission_id: int | None) -> str:
    """Where a row of the lists leads: the mirrored RMA's page, else the request's."""
    if rma_id:
        return reverse("rmas:detail", args=[rma_id])
    return reverse("rmas:submission", args=[submission_id])


def _rma_rows(rmas: list[dict[str, Any]], linked: list[int | None]) -> list[RowValues]:
    # The summary rows of the collection may lack the request type: the request's own tells it.
    asked = dict(RmaSubmission.objects.filter(pk__in=[pk for pk in linked if pk]).values_list("pk", "request_type"))
    return [
        {
            "organization_id": r["organization_id"],
            "rma_id": r["pk"],
            "submission_id": submission_id,
            "upstream_id": r["upstream_id"],
            "subject": r["subject"],
            "status": r["status_name"],
            "is_open": r["is_open"],
            "request_type": r["request_type_id"] or asked.get(submission_id),
            "manufacturer_serial": r["manufacturer_serial"],
            "item_name": r["item_name"],
            "category_name": r["category_name"],
            "start_date": r["start_date"],
            "closed_date": r["closed_date"],
            "updated_at": max(t for t in (r["changed_at"], r["detail_fetched_at"]) if t is not None),
        }
        for r, submission_id in zip(rmas, linked, strict=True)
    ]


def _local_rows(submissions: list[RmaSubmission]) -> list[RowValues]:
    rows = []
    for s in submissions:
        delivery = s.delivery
        rows.append(
            {
                "organization_id": s.organization_id,
                "rma_id": None,
                "submission_id": s.pk,
                "upstream_id": s.upstream_id,
                "subject": rma_request_type_label(s.request_type),
                "status": delivery.status if delivery else s.state,
                "is_open": True,
                "request_type": s.request_type,
                "manufacturer_serial": s.manufacturer_serial,
                "item_name": "",
                "category_name": "",
                "start_date": timezone.localdate(s.created_at),
                "closed_date": None,
                "updated_at": max(s.updated_at, delivery.updated_at) if delivery else s.updated_at,
            }
        )
    return rows


TABLE = RowTable(
    RmaRow,
    mirror=Rma,
    submissions=RmaSubmission,
    link="rma",
    fields=ROW_FIELDS,
    searched=SEARCHED,
    mirror_fields=RMA_VALUES,
    mirrored_rows=_rma_rows,
    local_rows=_local_rows,
)
row_values = TABLE.row_values
vanished = TABLE.vanished
rebuild = TABLE.rebuild


def refresh(organization_id: int, *, rma_ids: Sequence[int] = (), submission_ids: Sequence[int] = ()) -> None:
    """Recompute the list rows of these mirrored RMAs and local requests of one organization."""
    TABLE.refresh(organization_id, object_ids=rma_ids, submission_ids=submission_ids)


def on_page(organization, client, changed, run) -> None:
    """A sync page (or one applied payload) changed these mirrored RMAs: their rows follow."""
    if changed:
        refresh(organization.pk, rma_ids=[pk for pk, _upstream_id, _raw in changed])


def on_vanish(organization, run) -> None:
    """After a complete pass: the rows of RMAs gone upstream go (their requests come back as local rows)."""
    vanished(organization.pk)
