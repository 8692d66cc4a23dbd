"""The local mirror of every upstream collection, per organization.

Every mirror row keeps the raw upstream payload beside the promoted columns staff filter,
sort and join on; when it was first mirrored, last changed and (if so) vanished upstream;
and a content hash, so a row is rewritten only when its content changed. Rows are never
hard-deleted: a row gone upstream keeps `vanished_at`.
"""

from __future__ import annotations

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models.functions import Upper

from accounts.scoping import OrgOwned, OrgQuerySet
from upstream import limits
from upstream.records import OrderStatus, RmaRequestType


class MirrorQuerySet(OrgQuerySet):
    def present(self):
        return self.filter(vanished_at__isnull=True)


class MirrorModel(OrgOwned):
    # No index of its own: the unique (organization, upstream_id) index serves organization
    # lookups, and a second index would cost every row a sync writes.
    organization = models.ForeignKey(  # OrgOwned's, without its index
        "accounts.Organization", on_delete=models.CASCADE, related_name="+", db_index=False
    )
    upstream_id = models.BigIntegerField("upstream id")
    raw = models.JSONField(help_text="the upstream payload as last received")
    content_hash = models.CharField(max_length=32)
    first_seen_at = models.DateTimeField()
    changed_at = models.DateTimeField()
    vanished_at = models.DateTimeField(null=True, blank=True)

    objects = MirrorQuerySet.as_manager()  # type: ignore[misc]  # OrgOwned's manager, with present()

    class Meta:
        abstract = True
        ordering = ["upstream_id"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "upstream_id"], name="%(app_label)s_%(class)s_unique")
        ]

    def __str__(self) -> str:
        return f"{self._meta.verbose_name} {self.upstream_id}"


class Country(MirrorModel):
    iso_code = models.CharField(max_length=10)
    name = models.CharField(max_length=255)

    class Meta(MirrorModel.Meta):
        verbose_name_plural = "countries"
        ordering = ["name"]


class ShipMethod(MirrorModel):
    name = models.CharField(max_length=255)
    description = models.CharField(max_length=510, blank=True)
    carrier = models.CharField(max_length=255, blank=True)

    class Meta(MirrorModel.Meta):
        ordering = ["name"]


class Item(MirrorModel):
    name = models.CharField(max_length=510)
    description = models.CharField(max_length=510, blank=True)
    item_category_id = models.BigIntegerField(null=True, blank=True)
    serialized = models.BooleanField(null=True)
    stocked = models.BooleanField(null=True)
    manufacturer_sku = models.CharField(max_length=255, blank=True)
    archived_at = models.DateTimeField(null=True, blank=True)

    class Meta(MirrorModel.Meta):
        indexes = [models.Index(fields=["organization", "name"], name="mirror_item_name")]


class CatalogItem(MirrorModel):
    customer_sku = models.CharField(max_length=255)
    price = models.DecimalField(max_digits=14, decimal_places=4, null=True, blank=True)
    item_id = models.BigIntegerField(null=True, blank=True)

    class Meta(MirrorModel.Meta):
        verbose_name = "customer catalog item"
        indexes = [
            models.Index(fields=["organization", "customer_sku"], name="mirror_catalog_sku"),
            models.Index(fields=["organization", "item_id"], name="mirror_catalog_item"),  # an item's catalog entry
        ]


def _stock(verbose_name: str | None = None) -> models.DecimalField:
    """A quantity, level or unit cost of stock (the upstream's decimal, within upstream.limits)."""
    return models.DecimalField(
        verbose_name, max_digits=limits.STOCK_DIGITS, decimal_places=limits.STOCK_PLACES, null=True, blank=True
    )


class Inventory(MirrorModel):
    item_id = models.BigIntegerField(null=True, blank=True)
    inventory_location_id = models.BigIntegerField(null=True, blank=True)
    quantity_on_hand = _stock()
    quantity_allocated = _stock()
    quantity_on_order = _stock()
    average_cost = _stock()
    last_cost = _stock()
    reorder_level = _stock()
    order_up_to_level = _stock("order-up-to level")
    lead_time = models.IntegerField(
        "lead time (days)",
        null=True,
        blank=True,
        validators=[MinValueValidator(limits.LEAD_TIME_DAYS.low), MaxValueValidator(limits.LEAD_TIME_DAYS.high)],
    )
    updated_upstream_at = models.DateTimeField(null=True, blank=True)

    class Meta(MirrorModel.Meta):
        verbose_name_plural = "inventories"
        indexes = [
            models.Index(fields=["organization", "item_id"], name="mirror_inv_item"),
            models.Index(fields=["organization", "inventory_location_id"], name="mirror_inv_loc"),
        ]


class Invoice(MirrorModel):
    order_id = models.BigIntegerField("upstream order id", null=True, blank=True)
    billed_at = models.DateTimeField(null=True, blank=True)
    total = models.DecimalField(max_digits=18, decimal_places=4, null=True, blank=True)
    updated_upstream_at = models.DateTimeField(null=True, blank=True)

    class Meta(MirrorModel.Meta):
        indexes = [
            models.Index(fields=["organization", "order_id"], name="mirror_invoice_order"),
            models.Index(fields=["organization", "-billed_at"], name="mirror_invoice_billed"),
        ]


class Order(MirrorModel):
    purchase_order = models.CharField(max_length=255, blank=True)
    customer_order = models.CharField(max_length=255, blank=True)
    status = models.CharField(max_length=20, blank=True, choices=OrderStatus.choices)
    ship_method_id = models.BigIntegerField(null=True, blank=True)
    ship_method = models.CharField(max_length=255, blank=True)
    recipient_name = models.CharField(max_length=255, blank=True)
    recipient_company = models.CharField(max_length=255, blank=True)
    recipient_country = models.CharField(max_length=10, blank=True)
    created_upstream_at = models.DateTimeField(null=True, blank=True)
    updated_upstream_at = models.DateTimeField(null=True, blank=True)

    class Meta(MirrorModel.Meta):
        indexes = [
            models.Index(fields=["organization", "status"], name="mirror_order_status"),
            models.Index(fields=["organization", "customer_order"], name="mirror_order_co"),
            models.Index(fields=["organization", "-updated_upstream_at"], name="mirror_order_updated"),
            # "Is this customer order number taken?" compares case-insensitively (`iexact`: UPPER(...) = UPPER(...)),
            # which the index above cannot answer: without this one, a free number read every order's entry
            # (130-540 ms at a million orders, on each order form and each submission).
            models.Index(models.F("organization"), Upper("customer_order"), name="mirror_order_co_upper"),
        ]


class OrderLine(models.Model):
    ORG_LOOKUP = "order__organization"
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="lines")
    position = models.PositiveIntegerField()
    product_code = models.CharField(max_length=255)
    quantity = models.IntegerField(null=True)
    customs_declared_value = models.DecimalField(max_digits=14, decimal_places=4, null=True)
    serial_numbers = models.JSONField(default=list)

    class Meta:
        ordering = ["order", "position"]
        indexes = [models.Index(fields=["product_code"], name="mirror_orderline_code")]

    def __str__(self) -> str:
        return f"{self.quantity} x {self.product_code}"


class OrderTrackingNumber(models.Model):
    ORG_LOOKUP = "order__organization"
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="tracking_numbers")
    tracking_number = models.CharField(max_length=255, db_index=True)
    weight = models.DecimalField(max_digits=12, decimal_places=3, null=True)

    class Meta:
        ordering = ["order", "id"]

    def __str__(self) -> str:
        return self.tracking_number


class OrderInvoice(models.Model):
    ORG_LOOKUP = "order__organization"
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="invoice_refs")
    invoice_number = models.BigIntegerField(db_index=True)

    class Meta:
        ordering = ["order", "invoice_number"]

    def __str__(self) -> str:
        return f"invoice {self.invoice_number}"


class Rma(MirrorModel):
    subject = models.CharField(max_length=255, blank=True)
    order_id = models.BigIntegerField("upstream order id", null=True, blank=True)
    repair_order_id = models.BigIntegerField(null=True, blank=True)
    replacement_order_id = models.BigIntegerField(null=True, blank=True)
    manufacturer_serial = models.CharField(max_length=255, blank=True)
    start_date = models.DateField(null=True, blank=True)
    closed_date = models.DateField(null=True, blank=True)
    status_id = models.IntegerField(null=True, blank=True)
    status_name = models.CharField(max_length=100, blank=True)
    item_id = models.BigIntegerField(null=True, blank=True)
    item_name = models.CharField(max_length=255, blank=True)
    category_name = models.CharField(max_length=255, blank=True)
    request_type_id = models.IntegerField(null=True, blank=True, choices=RmaRequestType.choices)
    is_open = models.BooleanField(default=True)
    detail = models.JSONField(null=True, blank=True, help_text="GET /v2/rmas/<id> as last fetched")
    detail_hash = models.CharField(max_length=32, blank=True, default="", db_default="")
    detail_fetched_at = models.DateTimeField(null=True, blank=True)

    class Meta(MirrorModel.Meta):
        verbose_name = "RMA"
        indexes = [
            models.Index(fields=["organization", "is_open"], name="mirror_rma_open"),
            models.Index(fields=["organization", "manufacturer_serial"], name="mirror_rma_serial"),
            models.Index(fields=["organization", "item_id"], name="mirror_rma_item"),  # an item's RMAs
        ]


class RmaLine(models.Model):
    ORG_LOOKUP = "rma__organization"
    rma = models.ForeignKey(Rma, on_delete=models.CASCADE, related_name="lines")
    quantity = models.IntegerField(null=True)
    item_id = models.BigIntegerField(null=True)
    item_name = models.CharField(max_length=255, blank=True)
    category_name = models.CharField(max_length=255, blank=True)

    class Meta:
        ordering = ["rma", "id"]

    def __str__(self) -> str:
        return f"{self.quantity} x {self.item_name or self.item_id}"


class RmaNote(models.Model):
    ORG_LOOKUP = "rma__organization"

    class Kind(models.TextChoices):
        PROBLEM = "problem"
        TROUBLESHOOTING = "troubleshooting"
        RESULT = "result"

    rma = models.ForeignKey(Rma, on_delete=models.CASCADE, related_name="notes")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    upstream_id = models.BigIntegerField(null=True)
    message = models.TextField(blank=True)
    created_upstream_at = models.DateTimeField(null=True)

    class Meta:
        ordering = ["rma", "created_upstream_at", "id"]

    def __str__(self) -> str:
        return f"{self.kind}: {self.message[:60]}"


class AutomationQueue(MirrorModel):
    serial_id = models.BigIntegerField(null=True, blank=True)
    work_order_id = models.BigIntegerField(null=True, blank=True)
    finished = models.BooleanField(null=True)
    ip_address = models.CharField(max_length=255, blank=True)

    class Meta(MirrorModel.Meta):
        indexes = [
            # The home page's "queues in progress": the unfinished present queues alone.
            models.Index(
                fields=["organization"],
                name="mirror_queue_unfinished",
                condition=models.Q(finished=False, vanished_at__isnull=True),
            ),
        ]


class AutomationTaskType(MirrorModel):
    name = models.CharField(max_length=255)
    description = models.CharField(max_length=255, blank=True)


class AutomationTask(MirrorModel):
    automation_queue_id = models.BigIntegerField(null=True, blank=True)
    automation_task_type_id = models.BigIntegerField(null=True, blank=True)
    sequence = models.IntegerField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    failed = models.BooleanField(null=True)
    message = models.CharField(max_length=500, blank=True)
    assignee_name = models.CharField(max_length=255, blank=True)
    work_order_id = models.BigIntegerField(null=True, blank=True)
    item_id = models.BigIntegerField(null=True, blank=True)
    manufacturer_serial = models.CharField(max_length=255, blank=True)

    class Meta(MirrorModel.Meta):
        indexes = [
            models.Index(fields=["organization", "manufacturer_serial"], name="mirror_task_serial"),
            models.Index(fields=["organization", "automation_queue_id"], name="mirror_task_queue"),
            # Failures by when they happened (the home page's "failed in 24 h", the reports' failure counts).
            models.Index(
                fields=["organization", "completed_at"],
                name="mirror_task_failed",
                condition=models.Q(failed=True, vanished_at__isnull=True),
            ),
            # The reports: tasks completed in a period.
            models.Index(fields=["organization", "completed_at"], name="mirror_task_completed"),
        ]


class SerialDatum(MirrorModel):
    manufacturer_serial = models.CharField(max_length=255)
    serial_data_type_id = models.IntegerField(null=True, blank=True)
    metadata = models.CharField(max_length=255, blank=True)
    value = models.CharField(max_length=255, blank=True)

    class Meta(MirrorModel.Meta):
        verbose_name_plural = "serial data"
        indexes = [models.Index(fields=["organization", "manufacturer_serial"], name="mirror_serial_serial")]


class ByteOrderCharField(models.CharField):
    """A CharField compared byte by byte (code point order) on every database.

    On PostgreSQL the column gets the "C" collation, so a plain btree index on it serves a prefix
    search (`startswith`: LIKE 'ab%' becomes an index range) and ORDER BY in the index's order;
    SQLite's default collation (BINARY) already compares that way.
    """

    def db_parameters(self, connection):
        params = super().db_parameters(connection)
        if connection.vendor == "postgresql":
            params["collation"] = "C"
        return params


class KnownSerial(OrgOwned):
    """A serial the portal knows, and where from: one row per serial and mirror row it appears in.

    Kept by `rmas.serials` in the transaction of every sync page (and vanish) of orders,
    automation queues and tasks, serial data and RMAs, so that suggesting serials by prefix and
    finding what shipped a serial read this table through its indexes, never the order lines'
    JSON lists. `serial` is casefolded (the lookup key); `written` is the serial as written.
    """

    class Source(models.TextChoices):
        ORDER_LINE = "order_line", "Shipped order"
        AUTOMATION_QUEUE = "automation_queue", "Automation queue"
        SERIAL_DATUM = "serial_datum", "Serial data"
        RMA = "rma", "RMA"

    # No index of its own: the (organization, serial) index serves organization lookups.
    organization = models.ForeignKey(  # OrgOwned's, without its index
        "accounts.Organization", on_delete=models.CASCADE, related_name="+", db_index=False
    )
    serial = ByteOrderCharField(max_length=limits.NAME, help_text="casefolded: what a lookup reads")
    written = models.CharField("serial", max_length=limits.NAME)
    source = models.CharField(max_length=20, choices=Source.choices)
    source_id = models.BigIntegerField(
        help_text="the mirror row: an Order (order line), AutomationQueue, SerialDatum or Rma"
    )
    item_name = models.CharField("item", max_length=limits.NAME, blank=True)
    product_code = models.CharField(max_length=limits.NAME, blank=True)
    date = models.DateField(null=True, blank=True, help_text="shipped (order), last task (queue), started (RMA)")

    class Meta:
        indexes = [models.Index(fields=["organization", "serial"], name="mirror_known_serial")]
        constraints = [
            models.UniqueConstraint(fields=["source", "source_id", "serial"], name="mirror_known_serial_source")
        ]

    def __str__(self) -> str:
        return f"{self.written} ({self.get_source_display()} {self.source_id})"
