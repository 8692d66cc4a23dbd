from django.contrib import admin

from outbox.admin_bases import SubmissionAdmin
from portal.admin import ReadOnlyAdmin, ReadOnlyInline

from .models import QueueRow, QueueSubmission, QueueTaskRequest, SerialDatumSubmission, StuckLimit, TaskAction


class QueueTaskRequestInline(ReadOnlyInline):
    model = QueueTaskRequest
    fields = ("sequence", "task_type_id", "task_type_name", "assignee_id")
    readonly_fields = fields


@admin.register(QueueSubmission)
class QueueSubmissionAdmin(SubmissionAdmin):
    noun = "queue submissions"
    list_display = [
        "manufacturer_serial",
        "ip_address",
        "organization",
        "upstream_id",
        "delivery",
        "created_by",
        "created_at",
    ]
    list_filter = ["organization", "delivery__status", "created_at"]
    search_fields = ["manufacturer_serial", "=upstream_id"]
    list_select_related = ["organization", "delivery", "created_by"]
    inlines = [QueueTaskRequestInline]


@admin.register(TaskAction)
class TaskActionAdmin(SubmissionAdmin):
    noun = "task actions"
    list_display = [
        "manufacturer_serial",
        "sequence",
        "message_type",
        "organization",
        "queue_upstream_id",
        "delivery",
        "created_by",
        "created_at",
    ]
    list_filter = ["organization", "message_type", "delivery__status", "created_at"]
    search_fields = ["manufacturer_serial", "=queue_upstream_id"]
    list_select_related = ["organization", "delivery", "created_by"]


@admin.register(SerialDatumSubmission)
class SerialDatumSubmissionAdmin(SubmissionAdmin):
    noun = "serial data submissions"
    list_display = ["manufacturer_serial", "serial_data_type_id", "value", "organization", "upstream_id", "delivery"]
    list_filter = ["organization", "delivery__status", "created_at"]
    search_fields = ["manufacturer_serial", "=upstream_id"]
    list_select_related = ["organization", "delivery"]


@admin.register(QueueTaskRequest)
class QueueTaskRequestAdmin(ReadOnlyAdmin):
    """The task rows of submitted queues, as submitted."""

    deletable = False
    list_display = ["submission", "sequence", "task_type_id", "task_type_name", "assignee_id"]
    list_filter = ["submission__organization"]
    search_fields = ["submission__manufacturer_serial", "task_type_name", "=task_type_id"]
    list_select_related = ["submission"]


@admin.register(StuckLimit)
class StuckLimitAdmin(ReadOnlyAdmin):
    """Managers set these on the automation limits page; shown here for ops."""

    list_display = ["organization", "task_type_id", "minutes", "updated_by", "updated_at"]
    list_filter = ["organization"]
    search_fields = ["=task_type_id", "organization__name"]


@admin.register(QueueRow)
class QueueRowAdmin(ReadOnlyAdmin):
    """The automation board as staff see it (a table kept by automation.rows)."""

    deletable = False
    list_display = ["manufacturer_serial", "upstream_id", "status", "tasks_done", "tasks_total", "organization"]
    list_filter = ["finished", "has_failures", "organization"]
    search_fields = ["manufacturer_serial", "=upstream_id"]
