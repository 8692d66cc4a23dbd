"""The orders list's table: one row per order, kept where the data changes.

An `OrderRow` is a mirrored order (with the submission that placed it, if it was placed
here), or a local submission the mirror has not got yet: the shared rules of
`portal.rowtables.RowTable`. `refresh()` recomputes the rows of the orders and submissions it
is given; it runs in the caller's transaction wherever those change:

- the sync writer's page hook and vanish hook (`orders.hooks`), for the orders of a page;
- the webhook and submission-answer apply (`orders.mirror_apply`, through the same page hook);
- the outbox hook of "order.create" on every status of a submission's delivery.

The child rows a list filters on (product codes, tracking numbers) are copied onto the row,
so every filter and sort of the list reads this one table through its own indexes.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from mirror.models import Order, OrderLine, OrderTrackingNumber
from portal.rowtables import RowTable, RowValues, joined

from .models import OrderRow, OrderSubmission, OrderSubmissionLine

# The columns a refresh writes (everything but the id).
ROW_FIELDS = (
    "organization_id",
    "order_id",
    "submission_id",
    "upstream_id",
    "customer_order",
    "purchase_order",
    "status",
    "ship_method_id",
    "ship_method",
    "recipient_name",
    "recipient_country",
    "created_at",
    "updated_at",
    "product_codes",
    "tracking_numbers",
    "search_text",
)
SEARCHED = ("customer_order", "purchase_order", "recipient_name", "ship_method", "product_codes", "tracking_numbers")

ORDER_VALUES = (
    "pk",
    "organization_id",
    "upstream_id",
    "customer_order",
    "purchase_order",
    "status",
    "ship_method_id",
    "ship_method",
    "recipient_name",
    "recipient_country",
    "created_upstream_at",
    "first_seen_at",
    "updated_upstream_at",
    "changed_at",
    "vanished_at",
)


def _order_rows(orders: list[dict[str, Any]], linked: list[int | None]) -> list[RowValues]:
    ids = [o["pk"] for o in orders]
    codes = joined(
        OrderLine.objects.filter(order_id__in=ids)
        .order_by("order_id", "position")
        .values_list("order_id", "product_code")
    )
    tracking = joined(
        OrderTrackingNumber.objects.filter(order_id__in=ids)
        .order_by("order_id", "id")
        .values_list("order_id", "tracking_number")
    )
    return [
        {
            "organization_id": o["organization_id"],
            "order_id": o["pk"],
            "submission_id": submission_id,
            "upstream_id": o["upstream_id"],
            "customer_order": o["customer_order"],
            "purchase_order": o["purchase_order"],
            "status": o["status"],
            "ship_method_id": o["ship_method_id"],
            "ship_method": o["ship_method"],
            "recipient_name": o["recipient_name"],
            "recipient_country": o["recipient_country"],
            "created_at": o["created_upstream_at"] or o["first_seen_at"],
            "updated_at": o["updated_upstream_at"] or o["changed_at"],
            "product_codes": codes.get(o["pk"], ""),
            "tracking_numbers": tracking.get(o["pk"], ""),
        }
        for o, submission_id in zip(orders, linked, strict=True)
    ]


def _local_rows(submissions: list[OrderSubmission]) -> list[RowValues]:
    codes = joined(
        OrderSubmissionLine.objects.filter(submission_id__in=[s.pk for s in submissions])
        .order_by("submission_id", "position")
        .values_list("submission_id", "product_code")
    )
    rows = []
    for s in submissions:
        delivery = s.delivery
        rows.append(
            {
                "organization_id": s.organization_id,
                "order_id": None,
                "submission_id": s.pk,
                "upstream_id": s.upstream_id,
                "customer_order": s.customer_order,
                "purchase_order": s.purchase_order,
                "status": delivery.status if delivery else s.state,
                "ship_method_id": s.ship_method_id,
                "ship_method": s.ship_method_name,
                "recipient_name": getattr(s, "recipient_name"),  # noqa: B009  (added to the model by orders.models._party)
                "recipient_country": getattr(s, "recipient_country"),  # noqa: B009
                "created_at": s.created_at,
                "updated_at": max(s.updated_at, delivery.updated_at) if delivery else s.updated_at,
                "product_codes": codes.get(s.pk, ""),
                "tracking_numbers": "",
            }
        )
    return rows


TABLE = RowTable(
    OrderRow,
    mirror=Order,
    submissions=OrderSubmission,
    link="order",
    fields=ROW_FIELDS,
    searched=SEARCHED,
    mirror_fields=ORDER_VALUES,
    mirrored_rows=_order_rows,
    local_rows=_local_rows,
)
row_values = TABLE.row_values
search_text = TABLE.search_text
vanished = TABLE.vanished
rebuild = TABLE.rebuild


def refresh(organization_id: int, *, order_ids: Sequence[int] = (), submission_ids: Sequence[int] = ()) -> None:
    """Recompute the list rows of these mirror orders and local submissions of one organization."""
    TABLE.refresh(organization_id, object_ids=order_ids, submission_ids=submission_ids)
