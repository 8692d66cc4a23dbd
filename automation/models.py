"""The automation line (Forge) as operators drive it from the portal.

Three kinds of write, each an `outbox.models.Submission` carried by an outbox Delivery (the
orders' mechanism: persisted with the local record, sent by a worker with its idempotency key,
never lost and never sent twice):

- `QueueSubmission`: a new automation queue (POST /v2/automation_queues) with its task rows;
- `TaskAction`: start, complete, fail or notify one task (PUT /v2/automation_tasks);
- `SerialDatumSubmission`: one serial datum (POST /v2/serial_data).

`StuckLimit` is a manager's limit per task type: a task started longer ago is stuck.
`QueueRow` is the board's table (one row per queue, kept by `automation.rows`), so every
filter, sort, page and refresh of the board is one indexed query.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.urls import reverse

from accounts.scoping import OrgOwned
from outbox.models import Submission
from upstream import limits


class QueueSubmission(Submission):
    manufacturer_serial = models.CharField("serial", max_length=limits.AUTOMATION_SERIAL)
    ip_address = models.GenericIPAddressField("IP address")

    class Meta(Submission.Meta):
        verbose_name = "queue submission"
        indexes = [models.Index(fields=["organization", "manufacturer_serial"], name="automation_queuesub_serial")]

    def __str__(self) -> str:
        return f"queue for {self.manufacturer_serial}"


class QueueTaskRequest(models.Model):
    """One task row of a queue as it was submitted (its type as named then)."""

    ORG_LOOKUP = "submission__organization"

    submission = models.ForeignKey(QueueSubmission, on_delete=models.CASCADE, related_name="tasks")
    task_type_id = models.BigIntegerField("task type")
    task_type_name = models.CharField(max_length=limits.NAME, blank=True)
    sequence = models.IntegerField()
    assignee_id = models.BigIntegerField("assignee", null=True, blank=True)

    class Meta:
        ordering = ["submission", "sequence"]
        constraints = [models.UniqueConstraint(fields=["submission", "sequence"], name="automation_taskreq_seq")]

    def __str__(self) -> str:
        return f"{self.task_type_name or self.task_type_id} (sequence {self.sequence})"


class TaskAction(Submission):
    """An operator's action on one task of a queue: what was asked, exactly, and its delivery.

    The upstream finds the task by serial and sequence; the queue is kept to show the action on
    the queue's row while it is pending (or refused)."""

    class Type(models.TextChoices):
        START = "start", "Start"
        COMPLETE = "complete", "Complete"
        FAIL = "fail", "Fail"
        NOTIFY = "notify", "Notify"

    queue_upstream_id = models.BigIntegerField("queue", null=True, blank=True)
    queue_submission = models.ForeignKey(
        QueueSubmission, null=True, blank=True, on_delete=models.SET_NULL, related_name="actions"
    )
    manufacturer_serial = models.CharField("serial", max_length=limits.AUTOMATION_SERIAL)
    ip_address = models.CharField("IP address", max_length=limits.IP_ADDRESS, help_text="the queue's")
    sequence = models.IntegerField()
    message_type = models.CharField("action", max_length=10, choices=Type.choices)
    message = models.CharField(max_length=limits.TASK_MESSAGE, blank=True)

    class Meta(Submission.Meta):
        verbose_name = "task action"
        indexes = [models.Index(fields=["organization", "queue_upstream_id"], name="automation_action_queue")]

    def __str__(self) -> str:
        return f"{self.get_message_type_display()} sequence {self.sequence} of {self.manufacturer_serial}"


class SerialDatumSubmission(Submission):
    manufacturer_serial = models.CharField("serial", max_length=limits.AUTOMATION_SERIAL)
    serial_data_type_id = models.BigIntegerField("data type id")
    metadata = models.CharField(max_length=limits.SERIAL_DATA_TEXT, blank=True)
    value = models.CharField(max_length=limits.SERIAL_DATA_TEXT)

    class Meta(Submission.Meta):
        verbose_name = "serial data submission"
        indexes = [models.Index(fields=["organization", "manufacturer_serial"], name="automation_datumsub_serial")]

    def __str__(self) -> str:
        return f"serial datum {self.serial_data_type_id} of {self.manufacturer_serial}"


class StuckLimit(OrgOwned):
    """How long a task of one type may run before the board flags it stuck (a manager's setting)."""

    task_type_id = models.BigIntegerField("task type")
    minutes = models.PositiveIntegerField()
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["organization", "task_type_id"], name="automation_stuck_type")]

    def __str__(self) -> str:
        return f"task type {self.task_type_id}: {self.minutes} min"


# The board sorts by these columns (each has its index).
ROW_SORTS = ("upstream_id", "manufacturer_serial", "work_order_id", "current_started_at", "last_activity_at")


def _sorted_by(*columns: str) -> list[models.Index]:
    """One index per sortable column: (organization, column, id) serves its sort both ways and its keyset."""
    return [models.Index(fields=["organization", c, "id"], name=f"automation_row_{SHORT.get(c, c)}") for c in columns]


SHORT = {"manufacturer_serial": "serial", "current_started_at": "current", "last_activity_at": "activity"}


class QueueRow(models.Model):
    """One row of the board: a mirrored automation queue, or a queue submitted here and not mirrored yet.

    Kept by `automation.rows` (portal.rowtables.RowTable) in the transaction that changes a
    queue, one of its tasks, a task action or a submission. `tasks` holds what the board draws
    (every attempt in sequence, with pending and refused actions laid over it), `version` a
    digest of everything shown, so a refresh re-renders only the rows whose version moved.
    """

    ORG_LOOKUP = "organization"

    organization = models.ForeignKey(
        "accounts.Organization", on_delete=models.CASCADE, related_name="+", db_index=False
    )
    queue = models.OneToOneField(
        "mirror.AutomationQueue", null=True, blank=True, on_delete=models.CASCADE, related_name="board_row"
    )
    submission = models.OneToOneField(
        QueueSubmission, null=True, blank=True, on_delete=models.SET_NULL, related_name="board_row"
    )
    upstream_id = models.BigIntegerField("queue", null=True, blank=True)
    manufacturer_serial = models.CharField("serial", max_length=limits.AUTOMATION_SERIAL)
    serial_id = models.BigIntegerField("serial id", null=True, blank=True)
    work_order_id = models.BigIntegerField("work order", null=True, blank=True)
    ip_address = models.CharField("IP address", max_length=limits.IP_ADDRESS, blank=True)
    status = models.CharField(max_length=20, help_text="in_progress, finished, not_started, or the delivery's status")
    finished = models.BooleanField()
    tasks_total = models.PositiveIntegerField("tasks", default=0)
    tasks_done = models.PositiveIntegerField("done", default=0)
    failed_count = models.PositiveIntegerField("failures", default=0)
    has_failures = models.BooleanField(default=False)
    pending_actions = models.PositiveIntegerField(default=0)
    current_sequence = models.IntegerField(null=True, blank=True)
    current_type_id = models.BigIntegerField("current task type", null=True, blank=True)
    current_started_at = models.DateTimeField("in current task since", null=True, blank=True)
    stuck_at = models.DateTimeField(null=True, blank=True, help_text="when the current task counts as stuck")
    last_failed_at = models.DateTimeField(null=True, blank=True)
    last_activity_at = models.DateTimeField("last activity")
    tasks = models.JSONField(default=list, help_text="every attempt in sequence, as the board draws it")
    version = models.CharField(max_length=32, help_text="a digest of what the row shows")
    search_text = models.TextField(blank=True, help_text="what a search reads: casefolded, trigram-indexed")

    class Meta:
        ordering = ["-last_activity_at", "-id"]
        verbose_name = "board row"
        indexes = [
            *_sorted_by(*ROW_SORTS),
            # The tabs, in the default order.
            # It holds the other tabs' flags too: the tabs' capped count sample reads this index alone instead of
            # rows of 1 KB each (the tasks JSON), 1,372 heap pages for 10,001 rows (bench/lists.py).
            models.Index(
                fields=["organization", "finished", "last_activity_at", "id"],
                name="automation_row_finished",
                include=["has_failures", "stuck_at"],
            ),
            models.Index(
                fields=["organization", "has_failures", "last_activity_at", "id"], name="automation_row_failures"
            ),
            # Stuck: a range of stuck_at (only running tasks have one).
            models.Index(fields=["organization", "stuck_at"], name="automation_row_stuck", include=["finished"]),
            # The newest row when a board loads (what a refresh counts as new after it).
            models.Index(fields=["organization", "id"], name="automation_row_newest"),
            models.Index(fields=["organization", "last_failed_at"], name="automation_row_failed_at"),
            models.Index(
                fields=["organization", "current_type_id", "last_activity_at", "id"], name="automation_row_type"
            ),
        ]

    def __str__(self) -> str:
        return f"queue {self.upstream_id or '(not sent)'} of {self.manufacturer_serial}"

    @property
    def url(self) -> str:
        return serial_url(self.manufacturer_serial, self.upstream_id)


def serial_url(serial: str, queue_upstream_id: int | None = None, *, base: str = "") -> str:
    """A serial's page (at one of its queues); `base`: the page's path, when a list reversed it once."""
    from urllib.parse import urlencode

    anchor = f"#queue-{queue_upstream_id}" if queue_upstream_id else ""
    return f"{base or reverse('automation:serial')}?{urlencode({'serial': serial})}{anchor}"
