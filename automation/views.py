"""Automation pages: a serial's timeline, a new queue (and the correction of a refused one), actions on
tasks, serial data, the managers' stuck limits.

Reading needs membership; creating queues, acting on tasks and submitting serial data need the
operator role, the stuck limits the manager role. Every object is looked up through
accounts.scoping: another organization's queue, row or submission is a 404.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.db import transaction
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.views.decorators.http import require_GET, require_POST

from accounts.access import member_required
from accounts.roles import Role
from accounts.scoping import get_scoped_or_404, scoped
from mirror.models import AutomationQueue, SerialDatum
from outbox.forms import add_upstream_errors
from rmas import serials as serial_index
from upstream import limits

from . import rows as board_rows
from . import services
from .forms import (
    DATUM_FIELDS,
    QUEUE_FIELDS,
    TASK_FIELDS,
    ActionForm,
    QueueForm,
    SerialDatumForm,
    StuckLimitForm,
    task_formset,
)
from .lists import STATUS_LABELS, attempt_state, elapsed, redrawn_row
from .models import QueueRow, QueueSubmission, SerialDatumSubmission, StuckLimit, TaskAction, serial_url

MAX_QUEUES_SHOWN = 50  # queues of one serial on its page (newest first)
MAX_DATA_SHOWN = 200


def _serial_param(request) -> str:
    text = " ".join((request.GET.get("serial") or "").split())
    return text if len(text) <= limits.AUTOMATION_SERIAL and "\x00" not in text else ""


# -- the serial page -----------------------------------------------------------------------------------
@dataclass
class Event:
    at: datetime
    what: str
    detail: str = ""
    tone: str = ""
    queue: int | None = None
    pending: bool = False


@dataclass
class SerialPage:
    serial: str
    queues: list[dict[str, Any]] = field(default_factory=list)
    data: list[dict[str, Any]] = field(default_factory=list)
    facts: Any = None
    events: list[Event] = field(default_factory=list)
    version: str = ""

    @property
    def known(self) -> bool:
        return bool(self.queues or self.data or (self.facts is not None and self.facts.known))


def _moment(value: str | None) -> datetime | None:
    return parse_datetime(value) if value else None


def _day_moment(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


def serial_page(request, serial: str) -> SerialPage:
    """Everything the portal knows about one serial of the request's organization."""
    page = SerialPage(serial=serial)
    if not serial:
        return page
    names = dict(services.task_types(request.organization))
    now = timezone.now()
    rows = list(
        scoped(request, QueueRow.objects.all())
        .filter(manufacturer_serial=serial)
        .order_by("-last_activity_at", "-id")[:MAX_QUEUES_SHOWN]
    )
    created = dict(
        scoped(request, QueueSubmission.objects.all())
        .filter(pk__in=[r.submission_id for r in rows if r.submission_id])
        .values_list("pk", "created_at")
    )
    for row in rows:
        attempts = []
        actionable = row.queue_id is not None and bool(row.ip_address)
        for n, a in enumerate(row.tasks or []):
            retry_of = n > 0 and row.tasks[n - 1]["seq"] == a["seq"] and row.tasks[n - 1]["failed"]
            latest = n == _last_index(row.tasks, a["seq"])
            attempts.append(
                {
                    **a,
                    "name": names.get(a["type"]) or f"Task type {a['type']}",
                    "state": attempt_state(a),
                    "retry": retry_of,
                    "started_at": _moment(a["started"]),
                    "completed_at": _moment(a["completed"]),
                    "current": a["seq"] == row.current_sequence and latest,
                    "actions": [(t.value, t.label) for t in TaskAction.Type if services.ALLOWED[t](a)]
                    if actionable and latest
                    else [],
                }
            )
        page.queues.append(
            {
                "row": row,
                "status": STATUS_LABELS.get(row.status, row.status),
                "attempts": attempts,
                "elapsed": elapsed(row.current_started_at, now) if row.current_started_at and not row.finished else "",
                "stuck": bool(row.stuck_at and row.stuck_at <= now and not row.finished),
                "actionable": actionable,
            }
        )
        if row.submission_id in created:
            page.events.append(
                Event(
                    created[row.submission_id],
                    "Queue submitted",
                    f"{row.tasks_total} tasks",
                    queue=row.upstream_id,
                )
            )
        for a in attempts:
            label = f"{a['seq']}. {a['name']}"
            if a["retry"]:
                label += " (retry)"
            pending = bool(a["pending"])
            if a["started_at"]:
                page.events.append(
                    Event(
                        a["started_at"],
                        f"Started {label}",
                        "" if a["completed_at"] else a["message"],
                        "",
                        row.upstream_id,
                        pending and not a["completed_at"],
                    )
                )
            if a["completed_at"]:
                if a["failed"]:
                    page.events.append(
                        Event(a["completed_at"], f"Failed {label}", a["message"], "bad", row.upstream_id, pending)
                    )
                else:
                    page.events.append(
                        Event(a["completed_at"], f"Completed {label}", a["message"], "good", row.upstream_id, pending)
                    )
            if a["refused"]:
                page.events.append(Event(row.last_activity_at, label, a["refused"], "bad", row.upstream_id))
    mirrored = list(
        scoped(request, SerialDatum.objects.present())
        .filter(manufacturer_serial=serial)
        .order_by("-first_seen_at", "-upstream_id")
        .values("upstream_id", "serial_data_type_id", "metadata", "value", "first_seen_at")[:MAX_DATA_SHOWN]
    )
    shown = {d["upstream_id"] for d in mirrored}
    for d in mirrored:
        page.data.append({**d, "state": "", "at": d["first_seen_at"]})
    for s in (
        scoped(request, SerialDatumSubmission.objects.select_related("delivery"))
        .filter(manufacturer_serial=serial)
        .order_by("-created_at")[:MAX_DATA_SHOWN]
    ):
        if s.upstream_id and s.upstream_id in shown:
            continue
        page.data.append(
            {
                "upstream_id": s.upstream_id,
                "serial_data_type_id": s.serial_data_type_id,
                "metadata": s.metadata,
                "value": s.value,
                "at": s.created_at,
                "state": s.state_label,
                "refused": s.can_resubmit,
                "errors": (s.delivery.field_errors or {}) if s.delivery else {},
            }
        )
    for d in page.data:
        page.events.append(
            Event(
                d["at"],
                f"Serial datum {d['serial_data_type_id']}",
                f"{d['metadata'] + ': ' if d['metadata'] else ''}{d['value']}",
                "",
                None,
                bool(d["state"]),
            )
        )
    page.facts = serial_index.known(request.organization, serial)
    facts = page.facts
    if facts.order and facts.order.shipped_at:
        page.events.append(
            Event(
                facts.order.shipped_at,
                f"Shipped on order {facts.order.customer_order}",
                facts.order.item or facts.order.product_code,
                "good",
            )
        )
    for rma in facts.rmas:
        if rma.start_date:
            page.events.append(
                Event(
                    _day_moment(rma.start_date),
                    f"RMA {rma.upstream_id or '(request)'}: {rma.subject}",
                    rma.status,
                    "warn",
                )
            )
        if rma.closed_date:
            page.events.append(Event(_day_moment(rma.closed_date), f"RMA {rma.upstream_id} closed", rma.status))
    page.events.sort(key=lambda e: e.at, reverse=True)
    digest = hashlib.md5(usedforsecurity=False)
    for row in rows:
        digest.update(f"{row.pk}.{row.version};".encode())
    for d in page.data:
        digest.update(f"{d['upstream_id']}.{d['state']}.{d['value']};".encode())
    for rma in facts.rmas:
        digest.update(f"{rma.upstream_id}.{rma.status};".encode())
    if facts.order:
        digest.update(f"{facts.order.upstream_id}.{facts.order.status};".encode())
    page.version = digest.hexdigest()
    return page


def _last_index(tasks: list[dict[str, Any]], seq: int) -> int:
    return max(n for n, a in enumerate(tasks) if a["seq"] == seq)


def _serial_context(request, page: SerialPage, **extra) -> dict[str, Any]:
    membership = request.membership
    return {
        "page": page,
        "title": f"Serial {page.serial}",
        "can_operate": membership.has_role(Role.OPERATOR),
        "can_service": membership.has_role(Role.SERVICE),
        "refresh_seconds": settings.AUTOMATION_REFRESH_SECONDS,
        "message_length": limits.TASK_MESSAGE,
        "action_types": TaskAction.Type.choices,
        **extra,
    }


@require_GET
@member_required()
def serial_detail(request):
    """A serial's whole history: its queues and tasks (retries after fails), serial data, the order it
    shipped on and its RMAs. Live: `?live=1` (the page's refresh) answers 204 when nothing changed."""
    serial = _serial_param(request)
    page = serial_page(request, serial)
    if not page.known:
        raise Http404("No serial of your organization matches.")
    if request.GET.get("live"):
        if request.GET.get("v") == page.version:
            return HttpResponse(status=204)
        return render(request, "automation/_serial_live.html", _serial_context(request, page))
    return render(request, "automation/serial.html", _serial_context(request, page))


@member_required()
def queue_detail(request, pk):
    """A mirrored queue: its serial's page, at the queue."""
    queue = get_scoped_or_404(request, AutomationQueue.objects.all(), pk=pk)
    row = scoped(request, QueueRow.objects.all()).filter(queue_id=queue.pk).values("manufacturer_serial").first()
    if row is None or not row["manufacturer_serial"]:
        raise Http404("This queue has no serial yet.")
    return redirect(serial_url(row["manufacturer_serial"], queue.upstream_id))


@member_required()
def submission_detail(request, pk):
    """A queue submitted here: its serial's page, at the queue."""
    submission = get_scoped_or_404(request, QueueSubmission.objects.all(), pk=pk)
    return redirect(serial_url(submission.manufacturer_serial, submission.upstream_id))


# -- a new queue ---------------------------------------------------------------------------------------
def _queue_form_context(request, form, formset, **extra) -> dict[str, Any]:
    return {
        "form": form,
        "formset": formset,
        "types": formset.types,
        "max_tasks": limits.TASKS_PER_QUEUE,
        **extra,
    }


@member_required(Role.OPERATOR)
def new_queue(request):
    org = request.organization
    if request.method == "POST":
        form = QueueForm(request.POST)
        formset = task_formset(request.POST, organization=org)
        if form.is_valid() and formset.is_valid():
            submission = services.create_queue(org, request.user, form.save(commit=False), formset.tasks())
            messages.success(request, f"The queue for {submission.manufacturer_serial} is queued for the integrator.")
            return redirect(serial_url(submission.manufacturer_serial))
    else:
        serial = _serial_param(request)
        form = QueueForm(initial={"manufacturer_serial": serial} if serial else None)
        formset = task_formset(organization=org, initial=[{"sequence": 1}])
    context = _queue_form_context(request, form, formset, title="New automation queue")
    return render(request, "automation/queue_form.html", context)


@member_required(Role.OPERATOR)
def correct_queue(request, pk):
    """A refused queue, with the integrator's reasons next to its fields, corrected and sent again."""
    org = request.organization
    submission = get_scoped_or_404(request, QueueSubmission.objects.select_related("delivery"), pk=pk)
    if not submission.can_resubmit:
        messages.info(request, "This queue is not refused: there is nothing to correct.")
        return redirect(serial_url(submission.manufacturer_serial, submission.upstream_id))
    if request.method == "POST":
        form = QueueForm(request.POST, instance=submission)
        formset = task_formset(request.POST, organization=org)
        if form.is_valid() and formset.is_valid():
            try:
                services.resubmit_queue(org, request.user, form.save(commit=False), formset.tasks())
            except ValueError:  # another request sent it meanwhile
                messages.info(request, "This queue was sent again meanwhile.")
                return redirect(serial_url(submission.manufacturer_serial))
            messages.success(request, "The corrected queue is queued again.")
            return redirect(serial_url(submission.manufacturer_serial))
    else:
        data = {"manufacturer_serial": submission.manufacturer_serial, "ip_address": submission.ip_address}
        tasks = list(submission.tasks.all())
        data.update({"tasks-TOTAL_FORMS": str(len(tasks)), "tasks-INITIAL_FORMS": "0"})
        for n, t in enumerate(tasks):
            data[f"tasks-{n}-task_type"] = str(t.task_type_id)
            data[f"tasks-{n}-sequence"] = str(t.sequence)
            data[f"tasks-{n}-assignee"] = "" if t.assignee_id is None else str(t.assignee_id)
        form = QueueForm(data, instance=submission)
        formset = task_formset(data, organization=org)
        form.is_valid()
        formset.is_valid()
        add_upstream_errors(
            form,
            submission.delivery.field_errors if submission.delivery else {},
            QUEUE_FIELDS,
            rows=("automation_tasks", formset, TASK_FIELDS),
        )
    context = _queue_form_context(request, form, formset, title="Correct the queue", submission=submission)
    return render(request, "automation/queue_form.html", context)


# -- actions on tasks ------------------------------------------------------------------------------------
@require_POST
@member_required(Role.OPERATOR)
def act(request, pk):
    """Start, complete, fail or notify one task of a queue (the row's current attempt of a sequence)."""
    row = get_scoped_or_404(request, QueueRow.objects.all(), pk=pk)
    form = ActionForm(request.POST)
    error = ""
    if form.is_valid():
        try:
            services.act(
                request.organization,
                request.user,
                row,
                form.cleaned_data["sequence"],
                form.cleaned_data["action"],
                form.cleaned_data["message"],
            )
        except services.NotActionable as exc:
            error = str(exc)
    else:
        error = " ".join(str(e) for errors in form.errors.values() for e in errors)
    if request.headers.get("HX-Request") and request.GET.get("from") == "board":
        if error:  # said next to the row's tasks, as an alert
            messages.error(request, error)
            response = HttpResponse(status=204)
            response["HX-Refresh"] = "true"
            return response
        return redrawn_row(request, row.pk)
    if request.headers.get("HX-Request"):
        page = serial_page(request, row.manufacturer_serial)
        context = _serial_context(
            request, page, action_error=error, action_row=row.pk, action_sequence=request.POST.get("sequence", "")
        )
        context["action_message"] = request.POST.get("message", "")[: limits.TASK_MESSAGE * 4] if error else ""
        return render(request, "automation/_serial_live.html", context)  # htmx swaps a 200 only: the error is in it
    if error:
        messages.error(request, error)
    else:
        messages.success(request, f"{form.cleaned_data['action'].capitalize()} is on its way to the integrator.")
    return redirect(serial_url(row.manufacturer_serial, row.upstream_id))


# -- serial data ------------------------------------------------------------------------------------------
@member_required(Role.OPERATOR)
def new_serial_datum(request):
    if request.method == "POST":
        form = SerialDatumForm(request.POST)
        if form.is_valid():
            datum = services.submit_datum(request.organization, request.user, form.save(commit=False))
            messages.success(request, f"The serial datum for {datum.manufacturer_serial} is queued for the integrator.")
            return redirect(serial_url(datum.manufacturer_serial))
    else:
        again = request.GET.get("again", "")
        if again.isascii() and again.isdigit() and len(again) <= 18:
            source = get_scoped_or_404(request, SerialDatumSubmission.objects.select_related("delivery"), pk=int(again))
            data = {f: getattr(source, f) for f in SerialDatumForm.Meta.fields}
            form = SerialDatumForm(data)
            form.is_valid()
            add_upstream_errors(form, source.delivery.field_errors if source.delivery else {}, DATUM_FIELDS)
        else:
            serial = _serial_param(request)
            form = SerialDatumForm(initial={"manufacturer_serial": serial} if serial else None)
    return render(request, "automation/datum_form.html", {"form": form, "title": "Submit serial data"})


# -- stuck limits --------------------------------------------------------------------------------------------
@member_required(Role.MANAGER)
def stuck_limits(request):
    """A manager's limit per task type: a task started longer ago than it is flagged stuck."""
    org = request.organization
    types = services.task_types(org)
    if request.method == "POST":
        form = StuckLimitForm(request.POST, types=types)
        if form.is_valid():
            type_id, minutes = form.cleaned_data["task_type"], form.cleaned_data["minutes"]
            with transaction.atomic():
                if request.POST.get("action") == "reset":
                    scoped(request, StuckLimit.objects.all()).filter(task_type_id=type_id).delete()
                else:
                    StuckLimit.objects.update_or_create(
                        organization=org,
                        task_type_id=type_id,
                        defaults={"minutes": minutes, "updated_by": request.user},
                    )
                board_rows.refresh_type(org.pk, type_id)
            messages.success(request, "The limit is saved; the board flags stuck tasks by it now.")
            return redirect("automation:limits")
    else:
        form = StuckLimitForm(types=types, initial={"minutes": settings.AUTOMATION_STUCK_MINUTES})
    set_limits = dict(scoped(request, StuckLimit.objects.all()).values_list("task_type_id", "minutes"))
    listed = [
        {"id": type_id, "name": name, "minutes": set_limits.get(type_id), "default": settings.AUTOMATION_STUCK_MINUTES}
        for type_id, name in types
    ]
    return render(
        request,
        "automation/limits.html",
        {"form": form, "types": listed, "title": "Stuck limits", "default": settings.AUTOMATION_STUCK_MINUTES},
    )
