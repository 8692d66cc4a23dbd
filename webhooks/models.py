"""Order Update webhooks as received: stored raw first, applied by a worker afterwards."""

from __future__ import annotations

from django.db import models

from accounts.scoping import OrgOwned


class WebhookDelivery(OrgOwned):
    class Status(models.TextChoices):
        RECEIVED = "received", "Received"
        PROCESSED = "processed", "Processed"
        IGNORED = "ignored", "Ignored (duplicate or older than the stored state)"
        FAILED = "failed", "Failed"

    kind = models.CharField(max_length=30, default="order.update")
    received_at = models.DateTimeField(auto_now_add=True, db_index=True)
    headers = models.JSONField(default=dict, help_text="a subset: date, content type, user agent (no signature)")
    body = models.TextField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.RECEIVED)
    error = models.TextField(blank=True)
    outcome = models.CharField(max_length=20, blank=True, help_text="created, updated, duplicate or stale")
    order_upstream_id = models.BigIntegerField("order upstream id", null=True, blank=True, db_index=True)
    order_status = models.CharField(max_length=20, blank=True)
    order_updated_at = models.DateTimeField("order updated_at", null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    processed_at = models.DateTimeField(null=True, blank=True)
    signature_sha256 = models.CharField(
        "signature's SHA-256",
        max_length=64,
        blank=True,
        editable=False,
        help_text="SHA-256 of the request's X-MBX-Signature (never the signature itself): the same signed "
        "request again is a replay, refused",
    )

    class Meta:
        verbose_name_plural = "webhook deliveries"
        ordering = ["-received_at"]
        indexes = [models.Index(fields=["status", "received_at"], name="webhooks_due")]
        constraints = [
            # Each signed request is accepted once per organization: a replay (same date, same
            # signature) within the 300 s window is refused. Rows from before this have none.
            models.UniqueConstraint(
                fields=["organization", "signature_sha256"],
                condition=~models.Q(signature_sha256=""),
                name="webhooks_signature_once",
            )
        ]

    def __str__(self) -> str:
        return f"{self.kind} #{self.pk} order {self.order_upstream_id} ({self.status})"
