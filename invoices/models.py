"""The invoices list's tables: one row per mirrored invoice, and one row per organization and month.

Both are derived from the mirror (`mirror.Invoice`, and `mirror.Order` for the order an invoice
bills) and kept by `invoices.rows` in the transaction that changes them, so that the list, its
sums and its month chart read small indexed ranges whatever the invoice count.

Money is kept in whole cents (a 64-bit integer): sums are exact on every database (SQLite keeps a
decimal column as a binary float, and its SUM of a million of them is not exact to the cent).
It reaches people as a `Decimal` with 2 places (`money()`), in the upstream's currency, which
neither the upstream's docs nor its payloads name: the portal shows no currency symbol.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from django.db import models

from upstream import limits

CENT = Decimal(1).scaleb(-limits.MONEY_PLACES)  # 0.01


def to_cents(amount: Decimal | None) -> int | None:
    """An upstream amount in cents (rounded half up to 2 places), or None when absent or outside
    `limits.INVOICE_TOTAL`."""
    if amount is None:
        return None
    try:
        rounded = amount.quantize(CENT, rounding=ROUND_HALF_UP)
    except (InvalidOperation, AttributeError):
        return None
    if rounded not in limits.INVOICE_TOTAL:
        return None
    return int(rounded.scaleb(limits.MONEY_PLACES))


def money(cents: int | None) -> Decimal | None:
    """Cents as a Decimal with 2 places (None stays None)."""
    return None if cents is None else Decimal(cents).scaleb(-limits.MONEY_PLACES).quantize(CENT)


def _sorted_by(*columns: str, include: tuple[str, ...] = ()) -> list[models.Index]:
    """One index per sortable column: (organization, column, id) serves its sort both ways and its keyset."""
    return [
        models.Index(fields=["organization", c, "id"], name=f"invoices_row_{c[:17]}", include=include or None)
        for c in columns
    ]


# The list sorts by these columns (each has its index). billed_at's also covers the month sums.
ROW_SORTS = ("upstream_id", "billed_at", "customer_order", "total_cents")


class InvoiceRow(models.Model):
    """One row of the invoices list: a mirrored invoice, with the order it bills copied onto it.

    Kept by `invoices.rows` (a `portal.rowtables.RowTable` without local submissions) on every
    sync page and vanish pass of invoices, and on every orders page that changes an order an
    invoice bills.
    """

    ORG_LOOKUP = "organization"

    organization = models.ForeignKey(
        "accounts.Organization", on_delete=models.CASCADE, related_name="+", db_index=False
    )
    invoice = models.OneToOneField("mirror.Invoice", on_delete=models.CASCADE, related_name="list_row")
    upstream_id = models.BigIntegerField("invoice number")
    billed_at = models.DateTimeField("billed", null=True, blank=True)
    total_cents = models.BigIntegerField("total (cents)", null=True, blank=True)
    updated_at = models.DateTimeField("updated")
    # The order it bills: the upstream's order id, and (once mirrored) the mirror order's pk and texts.
    order_upstream_id = models.BigIntegerField("upstream order id", null=True, blank=True)
    order_pk = models.BigIntegerField("mirror order", null=True, blank=True, help_text="mirror.Order pk (the link)")
    customer_order = models.CharField(max_length=255, blank=True)
    purchase_order = models.CharField(max_length=255, blank=True)
    search_text = models.TextField(blank=True, help_text="what a search reads: casefolded, trigram-indexed")

    class Meta:
        ordering = ["-billed_at", "-id"]
        verbose_name = "invoice list row"
        indexes = [
            *_sorted_by("upstream_id", "customer_order", "total_cents"),
            # The default sort, its keyset, and every sum over a billed range (an index-only scan).
            *_sorted_by("billed_at", include=("total_cents",)),
            models.Index(fields=["organization", "order_upstream_id"], name="invoices_row_order"),
        ]

    def __str__(self) -> str:
        return f"invoice {self.upstream_id}"

    @property
    def total(self) -> Decimal | None:
        return money(self.total_cents)


class InvoiceMonth(models.Model):
    """One organization's invoices billed in one calendar month (in settings.TIME_ZONE): how many and
    their total. Recomputed from `InvoiceRow` for the months a refresh touches (`invoices.tallies`)."""

    ORG_LOOKUP = "organization"

    organization = models.ForeignKey(
        "accounts.Organization", on_delete=models.CASCADE, related_name="+", db_index=False
    )
    month = models.DateField(help_text="its first day")
    invoices = models.PositiveIntegerField()
    total_cents = models.BigIntegerField("total (cents)")

    class Meta:
        ordering = ["-month"]
        verbose_name = "invoice month"
        constraints = [models.UniqueConstraint(fields=["organization", "month"], name="invoices_month_unique")]

    def __str__(self) -> str:
        return f"{self.month:%Y-%m}: {self.invoices} invoices"

    @property
    def total(self) -> Decimal | None:
        return money(self.total_cents)
