"""The invoices list's table: one row per mirrored invoice, kept where the data changes.

An `InvoiceRow` is a present mirrored invoice with the order it bills copied onto it (the mirror
order's pk for the link, its customer order and purchase order for display and search): the
shared rules of `portal.rowtables.RowTable`, without local submissions (invoices are never
created here). `refresh()` runs in the caller's transaction:

- every sync page of invoices and every vanish pass (`on_invoices_page`, `on_invoices_vanish`,
  listened to by `invoices.hooks`), which also recount the months the changed rows were and
  are billed in (`invoices.tallies`);
- every sync page of orders, or applied order payload (`on_orders_page`): an order mirrored after
  its invoice, or whose customer order or purchase order changed, refreshes the rows of the
  invoices that bill it (only those whose copy differs).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from mirror.models import Invoice, Order
from portal.rowtables import RowTable, RowValues

from . import tallies
from .models import InvoiceRow, to_cents

# The columns a refresh writes (everything but the id).
ROW_FIELDS = (
    "organization_id",
    "invoice_id",
    "upstream_id",
    "billed_at",
    "total_cents",
    "updated_at",
    "order_upstream_id",
    "order_pk",
    "customer_order",
    "purchase_order",
    "search_text",
)
SEARCHED = ("upstream_id", "customer_order", "purchase_order")

INVOICE_VALUES = (
    "pk",
    "organization_id",
    "upstream_id",
    "order_id",
    "billed_at",
    "total",
    "updated_upstream_at",
    "changed_at",
    "vanished_at",
)
ORDER_VALUES = ("pk", "upstream_id", "customer_order", "purchase_order")


def _orders(organization_id: int, upstream_ids: set[int]) -> dict[int, dict[str, Any]]:
    if not upstream_ids:
        return {}
    return {
        o["upstream_id"]: o
        for o in Order.objects.filter(organization_id=organization_id, upstream_id__in=upstream_ids).values(
            *ORDER_VALUES
        )
    }


def _invoice_rows(invoices: list[dict[str, Any]], linked: list[int | None]) -> list[RowValues]:
    organization_id = invoices[0]["organization_id"]
    orders = _orders(organization_id, {i["order_id"] for i in invoices if i["order_id"] is not None})
    rows = []
    for i in invoices:
        order = orders.get(i["order_id"]) or {}
        rows.append(
            {
                "organization_id": i["organization_id"],
                "invoice_id": i["pk"],
                "upstream_id": i["upstream_id"],
                "billed_at": i["billed_at"],
                "total_cents": to_cents(i["total"]),
                "updated_at": i["updated_upstream_at"] or i["changed_at"],
                "order_upstream_id": i["order_id"],
                "order_pk": order.get("pk"),
                "customer_order": order.get("customer_order", ""),
                "purchase_order": order.get("purchase_order", ""),
            }
        )
    return rows


TABLE = RowTable(
    InvoiceRow,
    mirror=Invoice,
    submissions=None,
    link="invoice",
    fields=ROW_FIELDS,
    searched=SEARCHED,
    mirror_fields=INVOICE_VALUES,
    mirrored_rows=_invoice_rows,
)
row_values = TABLE.row_values


def _billed_months(organization_id: int, invoice_ids: Sequence[int]) -> set[date]:
    """The months the rows of these invoices are billed in now."""
    billed = InvoiceRow.objects.filter(organization_id=organization_id, invoice_id__in=invoice_ids).values_list(
        "billed_at", flat=True
    )
    return {tallies.month_of(moment) for moment in billed if moment is not None}


def refresh(organization_id: int, invoice_ids: Sequence[int]) -> None:
    """Recompute the rows of these mirrored invoices of one organization, and the months they were and are
    billed in."""
    if not invoice_ids:
        return
    months = _billed_months(organization_id, invoice_ids)
    TABLE.refresh(organization_id, object_ids=invoice_ids)
    months |= _billed_months(organization_id, invoice_ids)
    tallies.recount(organization_id, months)


def vanished(organization_id: int) -> int:
    """After a complete sync pass: the rows of invoices gone upstream go, and their months are recounted.
    Returns how many rows went."""
    ids = list(
        InvoiceRow.objects.filter(organization_id=organization_id, invoice__vanished_at__isnull=False).values_list(
            "invoice_id", flat=True
        )
    )
    refresh(organization_id, ids)
    return len(ids)


def rebuild(organization_id: int, batch: int = 1000) -> int:
    """Every row and month of one organization, from the mirror (after a migration, or to repair). Returns
    the row count."""
    count = TABLE.rebuild(organization_id, batch=batch)
    tallies.rebuild(organization_id)
    return count


def on_invoices_page(organization, client, changed, run) -> None:
    """A sync page changed these mirrored invoices: their rows and months follow."""
    if changed:
        refresh(organization.pk, [pk for pk, _upstream_id, _raw in changed])


def on_invoices_vanish(organization, run) -> None:
    vanished(organization.pk)


def on_orders_page(organization, client, changed, run) -> None:
    """A sync page (or one applied payload) changed these mirrored orders: the rows of the invoices that
    bill them follow, where the copy of the order differs (an order mirrored after its invoice, or a
    changed customer order or purchase order). Totals and billed dates do not change: no month does."""
    if not changed:
        return
    orders = _orders(organization.pk, {upstream_id for _pk, upstream_id, _raw in changed})
    copies = InvoiceRow.objects.filter(organization_id=organization.pk, order_upstream_id__in=list(orders))
    stale = [
        invoice_id
        for invoice_id, order_upstream_id, *copy in copies.values_list(
            "invoice_id", "order_upstream_id", "order_pk", "customer_order", "purchase_order"
        )
        if order_upstream_id is not None
        and tuple(copy) != tuple(orders[order_upstream_id][k] for k in ("pk", "customer_order", "purchase_order"))
    ]
    if stale:
        TABLE.refresh(organization.pk, object_ids=stale)
