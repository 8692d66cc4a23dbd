"""Orders as buyers submit them, their status history and the e-mails sent about them.

An OrderSubmission is the buyer's order exactly as submitted; its outbox Delivery carries it
to the upstream ("persist, then call"). Once the upstream has it, the mirror's Order (kept
fresh by webhooks and the periodic sync) is the truth about its progress.
"""

from __future__ import annotations

from decimal import Decimal

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models.functions import Coalesce, Lower

from accounts.scoping import OrgOwned
from outbox.models import Delivery, Submission
from portal.notifications import Notification
from upstream import limits
from upstream.records import OrderStatus

PARTY_FIELDS = (
    "name",
    "company",
    "email",
    "phone",
    "address_1",
    "address_2",
    "address_3",
    "city",
    "state",
    "zip",
    "country",
)
PARTY_REQUIRED = ("name", "phone", "address_1", "city", "zip", "country")
ADDRESS_MAX = limits.ADDRESS_LINE


def _party(prefix: str, label: str) -> dict[str, models.CharField]:
    fields: dict[str, models.CharField] = {}
    for key in PARTY_FIELDS:
        max_length = (
            ADDRESS_MAX if key.startswith("address") else (limits.COUNTRY_CODE if key == "country" else limits.NAME)
        )
        fields[f"{prefix}_{key}"] = models.CharField(
            f"{label} {key.replace('_', ' ')}", max_length=max_length, blank=key not in PARTY_REQUIRED
        )
    return fields


class OrderSubmission(Submission):
    purchase_order = models.CharField(max_length=limits.ORDER_NUMBER)
    customer_order = models.CharField(
        max_length=limits.ORDER_NUMBER, help_text="unique in the organization, whatever the letter case"
    )
    ship_method_id = models.BigIntegerField("ship method id (upstream)")
    ship_method_name = models.CharField(max_length=255, blank=True, help_text="name when submitted")
    ship_account = models.CharField(max_length=limits.CODE, blank=True)
    notes = models.TextField(blank=True, max_length=limits.NOTES)
    customer_rma_case = models.CharField("customer RMA case", max_length=limits.CODE, blank=True)
    duties_and_taxes_account = models.CharField(max_length=limits.CODE, blank=True)
    importer_same_as_recipient = models.BooleanField(default=False)

    class Meta(Submission.Meta):
        constraints = [
            # One rule for the form, the upload and concurrent submits: case does not make a new number.
            models.UniqueConstraint(
                "organization", Lower("customer_order"), name="orders_submission_unique_customer_order"
            )
        ]

    def __str__(self) -> str:
        return self.customer_order

    @property
    def url(self) -> str:
        from django.urls import reverse

        return reverse("orders:submission", args=[self.pk])

    def party(self, prefix: str) -> dict:
        return {key: getattr(self, f"{prefix}_{key}") for key in PARTY_FIELDS}

    @property
    def total(self) -> Decimal:
        return sum((line.line_value for line in self.lines.all()), Decimal("0"))


for _prefix, _label in (("recipient", "recipient"), ("importer", "importer of record")):
    for _name, _field in _party(_prefix, _label).items():
        OrderSubmission.add_to_class(_name, _field)


class OrderSubmissionLine(models.Model):
    ORG_LOOKUP = "submission__organization"

    submission = models.ForeignKey(OrderSubmission, on_delete=models.CASCADE, related_name="lines")
    position = models.PositiveIntegerField(default=0)
    product_code = models.CharField(max_length=limits.CODE)
    quantity = models.PositiveIntegerField(
        validators=[MinValueValidator(limits.QUANTITY.low), MaxValueValidator(limits.QUANTITY.high)]
    )
    customs_declared_value = models.DecimalField(
        "unit customs declared value",
        max_digits=limits.MONEY_DIGITS,
        decimal_places=limits.MONEY_PLACES,
        validators=[MinValueValidator(limits.MONEY.low), MaxValueValidator(limits.MONEY.high)],
    )

    class Meta:
        ordering = ["submission", "position"]

    def __str__(self) -> str:
        return f"{self.quantity} x {self.product_code}"

    @property
    def line_value(self) -> Decimal:
        return self.customs_declared_value * self.quantity


class OrderEvent(OrgOwned):
    """One status an upstream order reached, first seen from a submission answer, webhook or sync."""

    class Source(models.TextChoices):
        SUBMISSION = "submission", "Submission answer"
        WEBHOOK = "webhook", "Order Update webhook"
        SYNC = "sync", "Sync"

    upstream_id = models.BigIntegerField("upstream order id", db_index=True)
    status = models.CharField(max_length=20)
    upstream_updated_at = models.DateTimeField(null=True, blank=True)
    source = models.CharField(max_length=20, choices=Source.choices)
    recorded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        # When the upstream reached it, or, where its payload had no date, when the portal saw it: the
        # same order on SQLite and PostgreSQL (which sort a NULL first and last).
        ordering = [Coalesce("upstream_updated_at", "recorded_at").asc(), "recorded_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "upstream_id", "status"], name="orders_event_once_per_status"
            )
        ]

    def __str__(self) -> str:
        return f"order {self.upstream_id}: {self.status}"


class OrderNotification(Notification):
    """An e-mail to the submitting buyer about one status of one order: sent at most once."""

    submission = models.ForeignKey(OrderSubmission, on_delete=models.CASCADE, related_name="notifications")

    class Meta(Notification.Meta):
        constraints = [models.UniqueConstraint(fields=["submission", "status"], name="orders_notify_once_per_status")]


# The orders list's statuses: the upstream's for a mirrored order, the delivery's for a submission
# the mirror has not got yet. Derived from those two enums; never spelled again.
ROW_STATUSES = [
    *OrderStatus.choices,
    *((s.value, s.label) for s in Delivery.Status if s != Delivery.Status.CONFLICT),
]


def _sorted_by(*columns: str) -> list[models.Index]:
    """One index per sortable column: (organization, column, id) serves its sort both ways and its keyset."""
    return [models.Index(fields=["organization", c, "id"], name=f"orders_row_{c[:20]}") for c in columns]


# The orders list sorts by these columns (each has its index; a test checks with EXPLAIN).
ROW_SORTS = (
    "customer_order",
    "purchase_order",
    "status",
    "ship_method",
    "recipient_name",
    "recipient_country",
    "created_at",
    "updated_at",
)


class OrderRow(models.Model):
    """One row of the orders list: a mirror order, or a local submission the mirror has not got yet.

    A table, kept by `orders.rows.refresh()` in the transaction that changes an order or a
    submission, so that every filter, sort and page of the list is one indexed query.
    """

    ORG_LOOKUP = "organization"

    organization = models.ForeignKey(
        "accounts.Organization", on_delete=models.CASCADE, related_name="+", db_index=False
    )
    order = models.OneToOneField(
        "mirror.Order", null=True, blank=True, on_delete=models.CASCADE, related_name="list_row"
    )
    submission = models.OneToOneField(
        OrderSubmission, null=True, blank=True, on_delete=models.SET_NULL, related_name="list_row"
    )
    upstream_id = models.BigIntegerField("upstream id", null=True, blank=True)
    customer_order = models.CharField(max_length=255)
    purchase_order = models.CharField(max_length=255)
    status = models.CharField(max_length=20, choices=ROW_STATUSES)
    ship_method_id = models.BigIntegerField(null=True, blank=True)
    ship_method = models.CharField(max_length=255)
    recipient_name = models.CharField("recipient", max_length=255)
    recipient_country = models.CharField("country", max_length=10)
    created_at = models.DateTimeField("created")
    updated_at = models.DateTimeField("updated")
    product_codes = models.TextField(blank=True, help_text="of its lines, space-separated (for the filter)")
    tracking_numbers = models.TextField(blank=True, help_text="space-separated (for the filter)")
    search_text = models.TextField(blank=True, help_text="what a search reads: casefolded, trigram-indexed")

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = "order list row"
        indexes = [
            *_sorted_by(*ROW_SORTS),
            models.Index(fields=["organization", "upstream_id"], name="orders_row_upstream_id"),
        ]

    def __str__(self) -> str:
        return self.customer_order

    @property
    def status_label(self) -> str:
        return self.get_status_display()

    @property
    def url(self) -> str:
        return row_url(self.order_id, self.submission_id)


def row_url(order_id: int | None, submission_id: int | None) -> str:
    from django.urls import reverse

    if order_id:
        return reverse("orders:detail", args=[order_id])
    return reverse("orders:submission", args=[submission_id])
