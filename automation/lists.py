"""The automation board: every queue with its tasks, filtered, sorted, live.

The list pattern (portal.lists) over one table (`QueueRow`, kept by `automation.rows`): every
sortable column has (organization, column, id); the tabs read (organization, flag,
last_activity_at, id), Stuck a range of `stuck_at`; serial and search read `search_text`
(trigram-indexed on PostgreSQL); work order and current task type are equalities on their
indexes; "failed since" a range of `last_failed_at`.

While the board is open, `changes` answers its refresh every few seconds: the page sends the
id and version of each row it shows; the answer redraws only the rows whose version moved
(htmx out-of-band swaps), in one query by primary key, and says how many queues are new.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from html import escape  # the standard library's: Django's lazy-aware one costs 4x for 500 chips a page
from typing import Any

import django_filters as df
from django.conf import settings
from django.db.models import CharField, Q, QuerySet, Value
from django.db.models.functions import Cast, Concat
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.middleware.csrf import get_token
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.functional import cached_property
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe
from django.views.decorators.http import require_GET

from accounts.access import member_required
from accounts.scoping import scoped
from mirror.models import AutomationTask
from portal.lists import (
    EXPORT_CHUNK,
    Column,
    IsoSecondsUTC,
    OrgListView,
    SearchFilter,
    SinceFilter,
    SubstringFilter,
    Tab,
    UpstreamIdFilter,
    as_is,
    export_cell,
)

from .models import QueueRow, TaskAction, serial_url
from .reports import format_duration
from .rows import EXPECTED_RETRY, STATUS_LABELS, Status
from .services import ALLOWED, task_types

TONES = {
    Status.FINISHED: "ok",
    Status.IN_PROGRESS: "",
    "retrying": "warn",
    "rejected": "bad",
    "failed": "bad",
}
MAX_REFRESHED = 250  # rows one refresh looks at (the largest page)
NEW_CAP = 99


def elapsed(since: datetime | None, now: datetime) -> str:
    """'3 h 05 min' since a moment (the time spent in the current task; static/js/automation.js keeps it going)."""
    return format_duration(now - since, seconds=False) if since is not None else ""


def attempt_state(a: dict[str, Any]) -> str:
    if a.get("refused"):
        return "refused"
    if a.get("failed"):
        return "failed"
    if a.get("completed"):
        return "done"
    if a.get("started"):
        return "running"
    if a.get("expected") == EXPECTED_RETRY:
        return "expected"
    return "waiting"


STATE_WORDS = {
    "refused": "refused",
    "failed": "failed",
    "done": "completed",
    "running": "running",
    "expected": "retry, arriving with the next sync",
    "waiting": "not started",
}


def attempt_title(a: dict[str, Any], names: dict[int, str]) -> str:
    name = names.get(a["type"]) or f"task type {a['type']}"
    parts = [f"{a['seq']}. {name}: {STATE_WORDS[attempt_state(a)]}"]
    if a.get("pending"):
        parts.append(f"{a['pending']} pending (not confirmed by the integrator yet)")
    if a.get("assignee"):
        parts.append(f"assignee {a['assignee']}")
    for key, word in (("started", "started"), ("completed", "completed")):
        if a.get(key):
            parts.append(f"{word} {a[key][:16].replace('T', ' ')}")
    if a.get("message"):
        parts.append(f"“{a['message']}”")
    if a.get("refused"):
        parts.append(a["refused"])
    return " · ".join(parts)


PENDING = ' <span class="visually-hidden">(pending)</span>'


def _chip(a: dict[str, Any], names: dict[int, str]) -> str:
    """One attempt's chip. Every text escaped (html.escape, as format_html does), written with an f-string:
    a page has some 500 chips, and a format_html call each took 18.6 ms of a 50-row page (3 ms this way)."""
    name = names.get(a["type"]) or f"#{a['type']}"
    pending = " pending" if a.get("pending") else ""
    return (
        f'<li class="task {attempt_state(a)}{pending}" title="{escape(attempt_title(a, names))}">'
        f'<span class="seq">{int(a["seq"])}</span> {escape(name[:24])}{PENDING if pending else ""}</li>'
    )


def task_strip(row: dict[str, Any], names: dict[int, str], now: datetime) -> SafeString:
    """A queue's tasks as the board draws them: a progress bar and one chip per attempt in sequence."""
    total, done = row["tasks_total"], row["tasks_done"]
    # Every text escaped (html.escape, as format_html does), written with f-strings: a page has some 500
    # chips, and a format_html call per chip took 18.6 ms of a 50-row page (3 ms this way; bench/lists.py).
    chips = "".join([_chip(a, names) for a in row["tasks"] or []])
    stuck_at = row.get("stuck_at")
    flags = []
    if row.get("has_failures"):
        flags.append(format_html('<span class="badge bad">{} failed</span>', row["failed_count"]))
    if stuck_at and not row.get("finished"):
        flags.append(
            format_html(
                '<span class="badge warn stuck-flag" data-stuck-at="{}"{}>Stuck</span>',
                stuck_at.isoformat(),
                mark_safe("") if stuck_at <= now else mark_safe(" hidden"),  # nosec B308  # constant markup
            )
        )
    if row.get("pending_actions"):
        flags.append(format_html('<span class="badge">{} pending</span>', row["pending_actions"]))
    return format_html(
        '<div class="task-strip"><progress max="{}" value="{}">{} of {}</progress> <span class="muted">{}/{}</span> {}'
        '<ol class="tasks" aria-label="Tasks">{}</ol></div>',
        max(total, 1),
        done,
        done,
        total,
        done,
        total,
        mark_safe(" ".join(flags)),  # nosec B308 B703  # format_html outputs
        mark_safe(chips),  # nosec B308 B703  # every text escaped in _chip
    )


# The board's quick actions on a queue's current task (a message, or anything else, on the serial's page).
QUICK_ACTIONS = (TaskAction.Type.START, TaskAction.Type.COMPLETE, TaskAction.Type.FAIL)


def quick_actions(row: dict[str, Any], csrf_token: str, act_url: str = "") -> SafeString:
    """Start, complete or fail the current task of a queue at the integrator, from its board row."""
    if not (row.get("queue_id") and row.get("ip_address")) or row.get("current_sequence") is None:
        return mark_safe("")  # nosec B308  # empty
    current = [a for a in row["tasks"] or [] if a["seq"] == row["current_sequence"]]
    if not current:
        return mark_safe("")  # nosec B308  # empty
    allowed = [kind for kind in QUICK_ACTIONS if ALLOWED[kind](current[-1])]
    if not allowed:
        return mark_safe("")  # nosec B308  # empty
    # `act_url`: the URL of row 0's actions, reversed once a page ("/automation/rows/0/act/").
    url = act_url.replace("/0/", f"/{int(row['id'])}/") if act_url else reverse("automation:act", args=[row["id"]])
    url += "?from=board"
    return format_html(
        '<form method="post" action="{}" hx-post="{}" hx-swap="none" class="board-act">'
        '<input type="hidden" name="csrfmiddlewaretoken" value="{}"><input type="hidden" name="sequence" value="{}">{}'
        "</form>",
        url,
        url,
        csrf_token,
        row["current_sequence"],
        format_html_join(
            "",
            '<button type="submit" name="action" value="{}" class="link action-{}">{}'
            '<span class="visually-hidden"> task {}</span></button>',
            ((kind.value, kind.value, kind.label, row["current_sequence"]) for kind in allowed),
        ),
    )


def request_task_types(request) -> list[tuple[int, str]]:
    """The organization's task types, read once per request (the filter's choices and the chips' names)."""
    if request is None or getattr(request, "organization", None) is None:
        return []
    if not hasattr(request, "_automation_task_types"):
        request._automation_task_types = task_types(request.organization)
    return request._automation_task_types


class QueueFilter(df.FilterSet):
    q = SearchFilter(label="Search", number_label="a queue number")
    serial = SubstringFilter(field_name="manufacturer_serial", label="Serial")
    work_order = UpstreamIdFilter(field_name="work_order_id", label="Work order")
    task_type = df.TypedChoiceFilter(field_name="current_type_id", label="Current task type", choices=[], coerce=int)
    failed_since = SinceFilter(field_name="last_failed_at", label="Failed since")

    class Meta:
        model = QueueRow
        fields: list[str] = []

    def __init__(self, *args, request=None, **kwargs):
        super().__init__(*args, request=request, **kwargs)
        types = request_task_types(request)
        self.filters["task_type"].extra["choices"] = types
        self.form.fields["task_type"].choices = [("", "Any"), *types]


class BoardView(OrgListView):
    model = QueueRow
    filterset_class = QueueFilter
    template_name = "automation/board.html"
    export_filename = "automation-queues"
    list_key = "automation"
    title = "Automation"
    default_sort = "-last_activity_at"
    columns = (
        Column("manufacturer_serial", "Serial", sortable=True, kind="link", required=True),
        Column("upstream_id", "Queue", sortable=True, numeric=True),
        Column("status", "Status", kind="status"),
        Column("tasks", "Tasks", kind="html", required=True),
        Column("current_started_at", "In current task", sortable=True, kind="html"),
        Column("work_order_id", "Work order", sortable=True, numeric=True),
        Column("ip_address", "IP address"),
        Column("last_activity_at", "Last activity", sortable=True, kind="datetime"),
        Column("failed_count", "Failures", numeric=True, default=False),
    )

    @property
    def tabs(self) -> tuple[Tab, ...]:  # type: ignore[override]  # Stuck depends on the moment
        now = timezone.now()
        return (
            Tab("", "All"),
            Tab("in_progress", "In progress", Q(finished=False)),
            Tab("stuck", "Stuck", Q(stuck_at__lte=now, finished=False)),
            Tab("failures", "Has failures", Q(has_failures=True)),
            Tab("finished", "Finished", Q(finished=True)),
        )

    def setup(self, request, *args, **kwargs):
        super().setup(request, *args, **kwargs)
        self.now = timezone.now()
        self._names: dict[int, str] | None = None
        membership = getattr(request, "membership", None)
        self.can_operate = bool(membership and membership.has_role("operator"))

    @property
    def names(self) -> dict[int, str]:
        if self._names is None:
            self._names = dict(request_task_types(self.request))
        return self._names

    def row_fields(self) -> tuple[str, ...]:
        return (
            "version",
            "submission_id",
            "tasks_total",
            "tasks_done",
            "has_failures",
            "failed_count",
            "pending_actions",
            "stuck_at",
            "finished",
            "status",
            "tasks",
            "current_started_at",
            "current_sequence",
            "upstream_id",
            "queue_id",
            "ip_address",
        )

    def fetch_fields(self, columns) -> list[str]:
        return list(dict.fromkeys(["id", *(c.name for c in columns), *self.row_fields()]))

    @cached_property
    def csrf_token(self) -> str:
        return get_token(self.request)  # once a page: each call masks the token anew (32 random choices)

    @cached_property
    def act_url(self) -> str:
        return reverse("automation:act", args=[0])

    @cached_property
    def serial_base(self) -> str:
        return reverse("automation:serial")

    def row_url(self, row: dict[str, Any]) -> str:
        # A queue whose tasks (which name its serial) are not mirrored yet has no page to lead to.
        if not row["manufacturer_serial"]:
            return ""
        return serial_url(row["manufacturer_serial"], row["upstream_id"], base=self.serial_base)

    def row_attrs(self, row: dict[str, Any]) -> dict[str, Any]:
        return {"id": f"queue-row-{row['id']}", "data-version": row["version"]}

    def row_mark(self, row: dict[str, Any]) -> tuple[str, str]:
        if row["status"] in ("rejected", "failed"):
            return "bad", "Refused"
        if row["has_failures"] and not row["finished"]:
            return "warn", "Has failures"
        return "", ""

    def cell(self, column: Column, row: dict[str, Any]) -> dict[str, Any]:
        cell = super().cell(column, row)
        if column.name == "manufacturer_serial":
            cell["value"] = row["manufacturer_serial"] or "(no serial yet)"
        elif column.kind == "status":
            cell["label"] = STATUS_LABELS.get(row["status"], row["status"])
            cell["tone"] = TONES.get(row["status"], "")
        elif column.name == "tasks":
            cell["value"] = task_strip(row, self.names, self.now)
            if self.can_operate:
                cell["value"] += quick_actions(row, self.csrf_token, self.act_url)
        elif column.name == "current_started_at":
            since = row["current_started_at"]
            cell["value"] = (
                format_html('<time datetime="{}" data-elapsed>{}</time>', since.isoformat(), elapsed(since, self.now))
                if since and not row["finished"]
                else ""
            )
        return cell

    def export_converter(self, column: Column):
        if column.name == "status":
            return lambda value: export_cell(str(STATUS_LABELS.get(value, value)))
        if column.name == "tasks":
            return as_is  # "3/5 done", written by the database (the tasks CSV has every attempt)
        return super().export_converter(column)

    def export_expression(self, column: Column) -> Any:
        if column.name == "tasks":
            # Formatted by the database from two integers: decoding each row's tasks JSON in Python held
            # the export at 11,700 rows/s (bench/lists.py).
            text: CharField = CharField()
            return Concat(
                Cast("tasks_done", text), Value("/"), Cast("tasks_total", text), Value(" done"), output_field=text
            )
        return super().export_expression(column)

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any):
        if request.GET.get("export") == "tasks":
            return self.export_tasks()
        return super().get(request, *args, **kwargs)

    def get_context_data(self, **context: Any) -> dict[str, Any]:
        membership = self.request.membership  # type: ignore[attr-defined]
        context["can_operate"] = membership.has_role("operator")
        context["can_manage"] = membership.has_role("manager")
        context["table_id"] = "board-table"
        context["empty_text"] = "No queues match."
        context["refresh_seconds"] = settings.AUTOMATION_REFRESH_SECONDS
        context["versions"] = versions_text(context["page"].rows)
        context["newest_id"] = newest_row_id(self.request)
        context["tasks_export_link"] = self.link(export="tasks", keep_sort=True)
        return context

    # -- the automation tasks CSV of the filtered queues ----------------------------------------
    def export_tasks(self) -> HttpResponse | StreamingHttpResponse:
        qs = self.filtered().rows
        if qs is None:
            return HttpResponse("Correct the filters before downloading.", status=400, content_type="text/plain")
        response = StreamingHttpResponse(
            stream_tasks(self.request.organization.pk, qs, self.names),  # type: ignore[attr-defined]
            content_type="text/csv; charset=utf-8",
        )
        stamp = timezone.now().strftime("%Y%m%d-%H%M")
        response["Content-Disposition"] = f'attachment; filename="automation-tasks-{stamp}.csv"'
        return response


# The vendor's automation tasks report columns, and the task type's name after its id.
TASK_COLUMNS = (
    "id",
    "automation_queue_id",
    "automation_task_type_id",
    "task_type_name",
    "sequence",
    "started_at",
    "completed_at",
    "failed",
    "message",
    "assignee_name",
    "work_order_id",
    "item_id",
    "manufacturer_serial",
)


def stream_tasks(organization_id: int, rows: QuerySet, names: dict[int, str]) -> Iterator[str]:
    """The tasks of the queues in `rows`, queue by queue (by queue number), in chunks: memory stays flat."""
    import csv
    import io

    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(TASK_COLUMNS)
    written = 0
    last = 0
    queue_ids = rows.filter(upstream_id__isnull=False).order_by("upstream_id").values_list("upstream_id", flat=True)
    while True:
        chunk = list(queue_ids.filter(upstream_id__gt=last)[: EXPORT_CHUNK // 10])
        if not chunk:
            break
        last = chunk[-1]
        tasks = (
            AutomationTask.objects.filter(
                organization_id=organization_id, automation_queue_id__in=chunk, vanished_at__isnull=True
            )
            .order_by("automation_queue_id", "sequence", "upstream_id")
            .annotate(started_text=IsoSecondsUTC("started_at"), completed_text=IsoSecondsUTC("completed_at"))
            .values_list(
                "upstream_id",
                "automation_queue_id",
                "automation_task_type_id",
                "sequence",
                "started_text",
                "completed_text",
                "failed",
                "message",
                "assignee_name",
                "work_order_id",
                "item_id",
                "manufacturer_serial",
            )
        )
        for t in tasks:
            cells = [
                t[0],
                t[1],
                t[2],
                export_cell(names.get(t[2], "")),
                t[3],
                export_cell(t[4]),
                export_cell(t[5]),
                "" if t[6] is None else ("true" if t[6] else "false"),
                export_cell(t[7]),
                export_cell(t[8]),
                t[9],
                t[10],
                export_cell(t[11]),
            ]
            writer.writerow(cells)
            written += 1
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
    writer.writerow([f"# {written} tasks"])
    yield buffer.getvalue()


# -- the live refresh ------------------------------------------------------------------------------
def versions_text(rows: list[dict[str, Any]]) -> str:
    """What the page sends back on each refresh: every shown row's id, version and submission."""
    return ",".join(f"{r['id']}.{r['version']}.{r.get('submission_id') or 0}" for r in rows)


def _parse_versions(text: str) -> list[tuple[int, str, int]]:
    out = []
    for part in (text or "").split(",")[:MAX_REFRESHED]:
        bits = part.split(".")
        if len(bits) != 3 or not all(b.isascii() and b.isalnum() for b in bits):
            continue
        if not (bits[0].isdigit() and bits[2].isdigit()) or len(bits[0]) > 18 or len(bits[2]) > 18:
            continue
        out.append((int(bits[0]), bits[1][:32], int(bits[2])))
    return out


def newest_row_id(request) -> int:
    """The organization's newest board row when the page loaded: rows after it are new (one index probe)."""
    return scoped(request, QueueRow.objects.all()).order_by("-id").values_list("id", flat=True).first() or 0


def new_rows(request, view: BoardView, newest: int, replaced: list[int]) -> int:
    """How many rows of the page's filters and tab are newer than the page (up to NEW_CAP + 1), not counting
    the mirrored rows of queues the page shows as sent from here."""
    rows = view.filtered().rows
    if rows is None:
        return 0
    rows = rows.filter(pk__gt=newest).exclude(submission_id__in=replaced)
    return rows.order_by().values("pk")[: NEW_CAP + 1].count()


def redrawn_row(request, row_pk: int) -> HttpResponse:
    """One row of the board redrawn in place (the answer to a quick action from the board)."""
    view = BoardView()
    view.setup(request)
    columns = view.visible_columns()
    row = scoped(request, QueueRow.objects.all()).filter(pk=row_pk).values(*view.fetch_fields(columns)).first()
    redrawn = [(row_pk, view.row(columns, row))] if row else []
    return render(request, "automation/_board_changes.html", {"redrawn": redrawn, "partial": True})


@require_GET
@member_required()
def changes(request):
    """The board's refresh: the rows whose version moved, redrawn in place; the page's versions; new queues."""
    view = BoardView()
    view.setup(request)
    shown = _parse_versions(request.GET.get("rows", ""))
    ids = [i for i, _, _ in shown]
    subs = [s for _, _, s in shown if s]
    columns = view.visible_columns()
    fields = view.fetch_fields(columns)
    current = scoped(request, QueueRow.objects.all()).filter(Q(pk__in=ids) | Q(submission_id__in=subs))
    by_id: dict[int, dict[str, Any]] = {}
    by_submission: dict[int, dict[str, Any]] = {}
    for row in current.values(*fields):
        by_id[row["id"]] = row
        if row["submission_id"]:
            by_submission[row["submission_id"]] = row
    redrawn = []
    page_rows = []
    for row_id, version, submission_id in shown:
        row = by_id.get(row_id) or (by_submission.get(submission_id) if submission_id else None)
        if row is None:
            continue
        page_rows.append(row)
        if row["id"] != row_id or row["version"] != version:
            redrawn.append((row_id, view.row(columns, row)))
    newest = request.GET.get("newest", "")
    new = 0
    if newest.isascii() and newest.isdigit() and len(newest) <= 18:
        new = new_rows(request, view, int(newest), subs)
    return render(
        request,
        "automation/_board_changes.html",
        {"redrawn": redrawn, "versions": versions_text(page_rows), "new": new, "new_cap": NEW_CAP},
    )
