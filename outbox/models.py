"""Outbound writes to the upstream, persisted before they are sent ("persist, then call").

A Delivery is saved in the same transaction as the local record it belongs to (an order
submission, an RMA request, an automation action). A worker sends it with its
idempotency key; every attempt is a DeliveryAttempt row. Nothing is lost: a delivery
whose task never ran, or whose worker died mid-call, is picked up by the periodic
redrive; nothing is sent twice: every retry carries the same key and the same bytes.
"""

from __future__ import annotations

import json
import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone

from accounts.scoping import OrgOwned


def new_idempotency_key() -> str:
    return f"portal-{uuid.uuid4().hex}"


class Delivery(OrgOwned):
    class Kind(models.TextChoices):
        """What a write does. Each kind has its hooks registered (outbox.kinds); a kind without them
        stops start-up (system check outbox.E001), so no answer is ever dropped unhandled."""

        ORDER_CREATE = "order.create", "Create an order"
        RMA_CREATE = "rma.create", "Request an RMA"
        QUEUE_CREATE = "automation.queue", "Create an automation queue"
        TASK_ACTION = "automation.task", "Act on an automation task"
        SERIAL_DATUM = "automation.serial_datum", "Submit a serial datum"

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        SENDING = "sending", "Sending"
        RETRYING = "retrying", "Retrying"
        SUCCEEDED = "succeeded", "Submitted"
        REJECTED = "rejected", "Rejected"
        FAILED = "failed", "Failed"
        # The answer of one attempt only, never a delivery's lasting status: a 409 is our own
        # earlier write (the delivery succeeds with it) or a true duplicate (it is rejected).
        CONFLICT = "conflict", "Conflict (409)"

    kind = models.CharField(max_length=50, choices=Kind.choices, db_index=True)
    method = models.CharField(max_length=6)
    path = models.CharField(max_length=300)
    body = models.TextField(help_text="the exact JSON body sent on every attempt")
    idempotency_key = models.CharField(max_length=255, unique=True, default=new_idempotency_key)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    lease_until = models.DateTimeField(null=True, blank=True, help_text="a SENDING row past this is retried")
    claimed_by = models.CharField(
        max_length=300,
        blank=True,
        help_text="the process sending it (host, pid, start time): once it is known gone, "
        "another worker may take the delivery over before its lease ends",
    )
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    response = models.JSONField(null=True, blank=True, help_text="the upstream's answer (object or errors)")
    field_errors = models.JSONField(null=True, blank=True)
    upstream_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name_plural = "deliveries"
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["status", "next_attempt_at"], name="outbox_due"),
            models.Index(fields=["organization", "kind", "-created_at"], name="outbox_org_kind"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} #{self.pk} ({self.status})"

    @property
    def body_bytes(self) -> bytes:
        return self.body.encode()

    @property
    def payload(self) -> dict:
        return json.loads(self.body)

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    @property
    def is_undelivered(self) -> bool:
        return self.status in UNDELIVERED_STATUSES


# Still on its way (a worker sends it now or later); done for good without reaching the upstream.
OPEN_STATUSES = (Delivery.Status.QUEUED, Delivery.Status.SENDING, Delivery.Status.RETRYING)
UNDELIVERED_STATUSES = (Delivery.Status.REJECTED, Delivery.Status.FAILED)


class Submission(OrgOwned):
    """Abstract base of a local record the upstream is asked to create (an order, an RMA):
    what a member submitted, exactly, and the delivery that carries it.

    The submission's state is its current delivery's status; a rejected or failed one can be
    corrected and sent again as a new delivery (the earlier ones stay linked). Once the
    upstream has it, `upstream_id` names the object and the mirror is the truth about it.
    `outbox.services.send_submission` and `reopen_submission` are the only writers of these
    fields.
    """

    delivery = models.OneToOneField(
        Delivery,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="%(app_label)s_%(class)s",
        help_text="the current delivery",
    )
    previous_deliveries = models.ManyToManyField(
        Delivery, blank=True, related_name="+", help_text="rejected deliveries this one corrected"
    )
    upstream_id = models.BigIntegerField("upstream id", null=True, blank=True, db_index=True)
    upstream_status = models.CharField(max_length=100, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True
        ordering = ["-created_at"]

    @property
    def state(self) -> Delivery.Status:
        """Where the submission is on its way to the upstream: its current delivery's status."""
        return Delivery.Status(self.delivery.status) if self.delivery else Delivery.Status.QUEUED

    @property
    def state_label(self) -> str:
        return self.state.label

    @property
    def can_resubmit(self) -> bool:
        return self.state in UNDELIVERED_STATUSES

    @property
    def deliveries(self) -> list[Delivery]:
        """The current delivery and the ones it corrected."""
        return [d for d in [self.delivery, *self.previous_deliveries.all()] if d]


class DeliveryAttempt(models.Model):
    ORG_LOOKUP = "delivery__organization"

    delivery = models.ForeignKey(Delivery, on_delete=models.CASCADE, related_name="attempt_rows")
    number = models.PositiveIntegerField()
    started_at = models.DateTimeField(default=timezone.now)
    duration_ms = models.PositiveIntegerField(null=True, blank=True)
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    outcome = models.CharField(max_length=10, choices=Delivery.Status.choices)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["delivery", "number"]

    def __str__(self) -> str:
        return f"attempt {self.number} of delivery #{self.delivery_id}: {self.outcome}"
