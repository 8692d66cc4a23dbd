"""Every HTTP attempt to the upstream is a row ops can browse (never a secret or signature)."""

from django.db import models


class UpstreamCall(models.Model):
    organization = models.ForeignKey(
        "accounts.Organization", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    method = models.CharField(max_length=6)
    path = models.CharField(max_length=500, help_text="path and query string as sent")
    status = models.PositiveSmallIntegerField(null=True, blank=True, help_text="empty when no answer came")
    duration_ms = models.PositiveIntegerField(default=0)
    attempt = models.PositiveSmallIntegerField(default=1)
    error = models.CharField(max_length=500, blank=True)
    idempotency_key = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["organization", "-created_at"], name="upstream_call_org")]

    def __str__(self) -> str:
        return f"{self.method} {self.path} -> {self.status or self.error or '?'}"
