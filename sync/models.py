"""Every sync run is a row: who, what, when, how many, and what went wrong."""

from __future__ import annotations

from django.db import models
from django.db.models import Q

from accounts.scoping import OrgOwned


class SyncRun(OrgOwned):
    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        WORKING = "working", "Working"
        SUCCESS = "success", "Success"
        FAILED = "failed", "Failed"

    class Trigger(models.TextChoices):
        SCHEDULE = "schedule", "Schedule"
        MANUAL = "manual", "Manual"
        WEBHOOK = "webhook", "Webhook"

    resource = models.CharField(max_length=50, db_index=True)
    trigger = models.CharField(max_length=10, choices=Trigger.choices, default=Trigger.SCHEDULE)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    # The process running it (portal.processes.this_process): a run whose process is known gone
    # (a worker killed mid-sync) is reaped at once instead of after SYNC_STALE_AFTER.
    claimed_by = models.CharField(max_length=200, blank=True, default="")
    pages = models.PositiveIntegerField(default=0)
    rows_fetched = models.PositiveIntegerField(default=0)
    created = models.PositiveIntegerField(default=0)
    updated = models.PositiveIntegerField(default=0)
    unchanged = models.PositiveIntegerField(default=0)
    vanished = models.PositiveIntegerField(default=0)
    details_fetched = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            # At most one active run per organization and resource, across every worker.
            models.UniqueConstraint(
                fields=["organization", "resource"],
                condition=Q(status__in=["pending", "working"]),
                name="one_active_sync_per_resource",
            ),
        ]
        indexes = [models.Index(fields=["organization", "resource", "-created_at"], name="sync_run_latest")]

    def __str__(self) -> str:
        return f"{self.resource} for {self.organization_id} ({self.status})"

    @property
    def duration(self):
        if self.started_at and self.finished_at:
            return self.finished_at - self.started_at
        return None

    @property
    def rows_per_second(self) -> float | None:
        d = self.duration
        return self.rows_fetched / d.total_seconds() if d and d.total_seconds() else None
