"""Counts of the automation line that other pages show (the home dashboard, from a worker)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.utils import timezone

from mirror.models import AutomationQueue, AutomationTask

FAILED_WINDOW = timedelta(hours=24)


def line_status(organization_id: int) -> dict[str, Any]:
    """Automation queues in progress (not finished), and tasks failed within the last 24 hours (by the
    time they failed: a failed task's completion). The window's start is kept with the count, so a link
    to the tasks failed since then shows the same tasks."""
    since = timezone.now() - FAILED_WINDOW
    queues = AutomationQueue.objects.for_org(organization_id).present()
    tasks = AutomationTask.objects.for_org(organization_id).present()
    return {
        "queues_in_progress": queues.filter(finished=False).count(),
        "failed_since": since.isoformat(timespec="seconds"),
        "tasks_failed": tasks.filter(failed=True, completed_at__gte=since).count(),
    }
