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

    class Meta:
        verbose_name_plural = "webhook deliveries"
        ordering = ["-received_at"]
        indexes = [models.Index(fields=["status", "received_at"], name="webhooks_due")]

    def __str__(self) -> str:
        return f"{self.kind} #{self.pk} order {self.order_upstream_id} ({self.status})"
