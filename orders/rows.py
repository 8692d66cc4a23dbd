"""The orders list's table: one row per order, kept where the data changes.

An `OrderRow` is a mirrored order (with the submission that placed it, if it was placed
here), or a local submission the mirror has not got yet. `refresh()` recomputes the rows of
the orders and submissions it is given; it runs in the caller's transaction wherever those
change:

- the sync writer's page hook and vanish hook (`orders.hooks`), for the orders of a page;
- the webhook and submission-answer apply (`orders.mirror_apply`, through the same page hook);
- the outbox hook of "order.create" on every status of a submission's delivery.

Search reads one casefolded text column (`search_text`) with a trigram index on PostgreSQL;
the child rows a list filters on (product codes, tracking numbers) are copied onto the row,
so every filter and sort of the list reads this one table through its own indexes.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from django.db import models
from django.db.models import Min

from mirror.models import Order, OrderLine, OrderTrackingNumber

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
_MAX: dict[str, int] = {
    f.name: f.max_length for f in OrderRow._meta.concrete_fields if isinstance(f, models.CharField) and f.max_length
}


def search_text(values: dict[str, Any]) -> str:
    """What a search reads: the searched columns, casefolded, one per line (a term never spans two)."""
    return "\n".join(str(values[name] or "") for name in SEARCHED).casefold()


def row_values(**values: Any) -> dict[str, Any]:
    """Complete a row's values: strings cut to their column, the search text derived."""
    for name, limit in _MAX.items():
        value = values.get(name)
        if isinstance(value, str) and len(value) > limit:
            values[name] = value[:limit]
    values["search_text"] = search_text(values)
    return values


def _joined(pairs: Iterable[tuple[int, str]]) -> dict[int, str]:
    out: dict[int, list[str]] = {}
    for key, text in pairs:
        if text and text not in out.setdefault(key, []):
            out[key].append(text)
    return {key: " ".join(texts) for key, texts in out.items()}


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


def _order_row(o: dict, submission_id: int | None, codes: str, tracking: str) -> dict[str, Any]:
    return row_values(
        organization_id=o["organization_id"],
        order_id=o["pk"],
        submission_id=submission_id,
        upstream_id=o["upstream_id"],
        customer_order=o["customer_order"],
        purchase_order=o["purchase_order"],
        status=o["status"],
        ship_method_id=o["ship_method_id"],
        ship_method=o["ship_method"],
        recipient_name=o["recipient_name"],
        recipient_country=o["recipient_country"],
        created_at=o["created_upstream_at"] or o["first_seen_at"],
        updated_at=o["updated_upstream_at"] or o["changed_at"],
        product_codes=codes,
        tracking_numbers=tracking,
    )


def _local_row(s: OrderSubmission, codes: str) -> dict[str, Any]:
    delivery = s.delivery
    return row_values(
        organization_id=s.organization_id,
        order_id=None,
        submission_id=s.pk,
        upstream_id=s.upstream_id,
        customer_order=s.customer_order,
        purchase_order=s.purchase_order,
        status=delivery.status if delivery else s.state,
        ship_method_id=s.ship_method_id,
        ship_method=s.ship_method_name,
        recipient_name=getattr(s, "recipient_name"),  # noqa: B009  (added to the model by orders.models._party)
        recipient_country=getattr(s, "recipient_country"),  # noqa: B009
        created_at=s.created_at,
        updated_at=max(s.updated_at, delivery.updated_at) if delivery else s.updated_at,
        product_codes=codes,
        tracking_numbers="",
    )


def refresh(organization_id: int, *, order_ids: Sequence[int] = (), submission_ids: Sequence[int] = ()) -> None:
    """Recompute the list rows of these mirror orders and local submissions of one organization.

    A present mirror order has a row (linked to the first submission with its upstream id);
    a vanished one has none. A submission whose order is mirrored has no row of its own; one
    that is not mirrored yet has a local row with its delivery's status.
    """
    if not order_ids and not submission_ids:
        return
    orders = list(Order.objects.filter(organization_id=organization_id, pk__in=order_ids).values(*ORDER_VALUES))
    submissions = list(
        OrderSubmission.objects.filter(organization_id=organization_id, pk__in=submission_ids).select_related(
            "delivery"
        )
    )
    upstream_ids = {o["upstream_id"] for o in orders} | {s.upstream_id for s in submissions if s.upstream_id}
    # Orders the given submissions have reached, and the first submission of every order involved.
    mirrored = {o["upstream_id"]: o for o in orders}
    wanted = {s.upstream_id for s in submissions if s.upstream_id} - set(mirrored)
    if wanted:
        for o in Order.objects.filter(organization_id=organization_id, upstream_id__in=wanted).values(*ORDER_VALUES):
            mirrored[o["upstream_id"]] = o
            orders.append(o)
    first_submission = dict(
        OrderSubmission.objects.filter(organization_id=organization_id, upstream_id__in=upstream_ids)
        .values("upstream_id")
        .annotate(first=Min("pk"))
        .values_list("upstream_id", "first")
    )
    present = [o for o in orders if o["vanished_at"] is None]
    gone = [o["pk"] for o in orders if o["vanished_at"] is not None]
    # Submissions that need a local row: given ones whose order is not (or no longer) mirrored,
    # and the submissions of orders that vanished.
    present_upstream = {o["upstream_id"] for o in present}
    local = [s for s in submissions if not (s.upstream_id and s.upstream_id in present_upstream)]
    vanished_upstream = {o["upstream_id"] for o in orders if o["vanished_at"] is not None} - present_upstream
    if vanished_upstream:
        known = {s.pk for s in local}
        local += [
            s
            for s in OrderSubmission.objects.filter(
                organization_id=organization_id, upstream_id__in=vanished_upstream
            ).select_related("delivery")
            if s.pk not in known
        ]

    present_ids = [o["pk"] for o in present]
    codes = _joined(
        OrderLine.objects.filter(order_id__in=present_ids)
        .order_by("order_id", "position")
        .values_list("order_id", "product_code")
    )
    tracking = _joined(
        OrderTrackingNumber.objects.filter(order_id__in=present_ids)
        .order_by("order_id", "id")
        .values_list("order_id", "tracking_number")
    )
    local_codes = _joined(
        OrderSubmissionLine.objects.filter(submission_id__in=[s.pk for s in local])
        .order_by("submission_id", "position")
        .values_list("submission_id", "product_code")
    )

    # Rows that must go: of vanished orders, and the local rows of submissions now mirrored.
    linked = [first_submission.get(o["upstream_id"]) for o in present]
    linked_ids = [pk for pk in linked if pk]
    mirrored_submissions = [s.pk for s in submissions if s.upstream_id and s.upstream_id in present_upstream]
    OrderRow.objects.filter(
        models.Q(order_id__in=gone)
        | models.Q(order_id__isnull=True, submission_id__in=linked_ids + mirrored_submissions)
    ).delete()
    _upsert(
        [
            _order_row(o, sub, codes.get(o["pk"], ""), tracking.get(o["pk"], ""))
            for o, sub in zip(present, linked, strict=True)
        ],
        unique="order",
    )
    _upsert([_local_row(s, local_codes.get(s.pk, "")) for s in local], unique="submission")


def _upsert(rows: list[dict[str, Any]], unique: str) -> None:
    if not rows:
        return
    OrderRow.objects.bulk_create(
        [OrderRow(**values) for values in rows],
        update_conflicts=True,
        unique_fields=[unique],
        update_fields=[f for f in ROW_FIELDS if f != "organization_id"],
        batch_size=500,
    )


def vanished(organization_id: int) -> int:
    """After a complete sync pass: the rows of orders that vanished upstream go (their local submissions,
    if any, come back as local rows). Returns how many orders' rows were recomputed."""
    ids = list(
        OrderRow.objects.filter(organization_id=organization_id, order__vanished_at__isnull=False).values_list(
            "order_id", flat=True
        )
    )
    refresh(organization_id, order_ids=[pk for pk in ids if pk is not None])
    return len(ids)


def rebuild(organization_id: int, batch: int = 1000) -> int:
    """Recompute every row of one organization (after a migration, or to repair). Returns the row count."""
    OrderRow.objects.filter(organization_id=organization_id).delete()
    order_ids = Order.objects.filter(organization_id=organization_id, vanished_at__isnull=True).values_list(
        "pk", flat=True
    )
    chunk: list[int] = []
    for pk in order_ids.iterator(chunk_size=batch):
        chunk.append(pk)
        if len(chunk) >= batch:
            refresh(organization_id, order_ids=chunk)
            chunk = []
    if chunk:
        refresh(organization_id, order_ids=chunk)
    local = OrderSubmission.objects.filter(organization_id=organization_id).values_list("pk", flat=True)
    ids = list(local)
    for start in range(0, len(ids), batch):
        refresh(organization_id, submission_ids=ids[start : start + batch])
    return OrderRow.objects.filter(organization_id=organization_id).count()
