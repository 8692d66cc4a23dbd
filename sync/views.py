from __future__ import annotations

from django.contrib import messages
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from accounts.access import member_required
from accounts.roles import Role
from accounts.scoping import scoped

from . import registry
from .models import SyncRun
from .tasks import enqueue_organization_sync


def freshness_rows(request):
    """Per resource: the latest run and the latest success (two index probes each).

    Rows are those the last success fetched: counting mirror tables of millions of rows on
    every view would take seconds.
    """
    now = timezone.now()
    runs = scoped(request, SyncRun)
    rows = []
    for resource in registry.REGISTRY.values():
        mine = runs.filter(resource=resource.name)
        last = mine.first()
        success = (
            last
            if last and last.status == SyncRun.Status.SUCCESS
            else (mine.filter(status=SyncRun.Status.SUCCESS).first())
        )
        finished = success.finished_at if success else None
        rows.append(
            {
                "resource": resource,
                "last": last,
                "success": success,
                "finished": finished,
                "stale": finished is None or (now - finished).total_seconds() > 3 * resource.schedule_seconds,
                "count": success.rows_fetched if success else None,
                "working": bool(last and last.status == SyncRun.Status.WORKING),
                "failed": bool(last and last.status == SyncRun.Status.FAILED),
            }
        )
    return rows


@member_required()
def freshness(request):
    return render(
        request,
        "sync/freshness.html",
        {
            "rows": freshness_rows(request),
            "can_sync": request.membership.has_role(Role.MANAGER),
        },
    )


@member_required(Role.MANAGER)
@require_POST
def sync_now(request):
    enqueue_organization_sync(request.organization, trigger=SyncRun.Trigger.MANUAL)
    messages.success(request, "A sync of every resource is queued; this page shows the results as they land.")
    return redirect("sync:freshness")
