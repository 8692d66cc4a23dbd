"""Queues, task actions and serial data to the real sandbox through the outbox and a real Celery worker:
sent once, mirrored from the answer, shown at once as pending, confirmed, and refused with the reason."""

from __future__ import annotations

import pytest
from django.test import Client

from automation.models import QueueRow, QueueSubmission, SerialDatumSubmission, TaskAction
from conftest import make_member, wait_for
from mirror.models import AutomationQueue, AutomationTask, AutomationTaskType, SerialDatum
from outbox.models import Delivery
from sync.engine import run_sync

from .conftest import queue_data

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def operator(sandbox_org):
    assert run_sync(sandbox_org, "automation_task_types").status == "success"
    user = make_member("otto", sandbox_org, roles=["operator", "service"])
    client = Client()
    client.force_login(user)
    client.org = sandbox_org
    return client


def types_of(org) -> list[int]:
    return list(AutomationTaskType.objects.for_org(org).order_by("upstream_id").values_list("upstream_id", flat=True))


def create_queue(client, serial: str, **overrides) -> QueueSubmission:
    t = types_of(client.org)
    data = queue_data(serial=serial, tasks=((t[0], 1, ""), (t[1], 2, ""), (t[2], 3, "")), **overrides)
    response = client.post("/automation/queues/new/", data)
    assert response.status_code == 302, response.context and (
        response.context["form"].errors,
        response.context["formset"].errors,
    )
    return QueueSubmission.objects.get(organization=client.org, manufacturer_serial=serial)


def row_of(org, serial: str) -> QueueRow:
    return QueueRow.objects.get(organization=org, manufacturer_serial=serial)


def act(client, row: QueueRow, sequence: int, action: str, message: str = ""):
    return client.post(f"/automation/rows/{row.pk}/act/", {"sequence": sequence, "action": action, "message": message})


def delivered(model, pk) -> bool:
    return model.objects.select_related("delivery").get(pk=pk).state == Delivery.Status.SUCCEEDED


def test_a_queue_is_created_once_and_its_tasks_move_through_start_complete_and_fail(
    operator, sandbox, celery_worker, fast_outbox
):
    org = operator.org
    submission = create_queue(operator, "FG-DLV-1")
    row = row_of(org, "FG-DLV-1")
    assert row.queue_id is None and [a["seq"] for a in row.tasks] == [1, 2, 3]  # shown at once, not sent yet
    wait_for(lambda: delivered(QueueSubmission, submission.pk), 20, message="the queue to be sent")
    submission.refresh_from_db()
    queue = AutomationQueue.objects.get(organization=org, upstream_id=submission.upstream_id)
    assert queue.ip_address == "10.1.2.3" and queue.finished is False
    row = row_of(org, "FG-DLV-1")
    assert row.queue_id == queue.pk and row.submission_id == submission.pk and row.tasks_total == 3
    assert sandbox.stats(org.upstream_token).get("automation_queues_created", 1) >= 1

    assert act(operator, row, 1, "start", "Run-In started").status_code == 302
    row = row_of(org, "FG-DLV-1")
    first = row.tasks[0]
    assert first["pending"] == "start" and first["started"] and first["message"] == "Run-In started"
    assert row.status == "in_progress" and row.current_sequence == 1
    action = TaskAction.objects.get(organization=org, sequence=1, message_type="start")
    wait_for(lambda: delivered(TaskAction, action.pk), 20, message="the start to be confirmed")
    row = row_of(org, "FG-DLV-1")
    assert row.tasks[0]["pending"] == "" and row.tasks[0]["task"]  # confirmed: the answer is in the mirror
    assert AutomationTask.objects.get(organization=org, upstream_id=row.tasks[0]["task"]).started_at is not None

    act(operator, row, 1, "complete")
    act(operator, row, 2, "fail", "Imaging checksum mismatch")
    wait_for(
        lambda: TaskAction.objects.filter(organization=org, delivery__status="succeeded").count() == 3,
        20,
        message="the complete and the fail to be confirmed",
    )
    row = row_of(org, "FG-DLV-1")
    seqs = [(a["seq"], a["failed"], a["expected"]) for a in row.tasks]
    assert seqs == [(1, False, ""), (2, True, ""), (2, False, "retry"), (3, False, "")]
    assert row.tasks_done == 1 and row.has_failures and row.failed_count == 1 and row.current_sequence == 2
    # The next sync brings the retry the upstream added: no longer "expected".
    assert run_sync(org, "automation_tasks").status == "success"
    row = row_of(org, "FG-DLV-1")
    retry = row.tasks[2]
    assert retry["seq"] == 2 and retry["task"] and retry["expected"] == "" and not retry["failed"]
    assert AutomationTask.objects.filter(organization=org, manufacturer_serial="FG-DLV-1", sequence=2).count() == 2


def test_an_action_the_upstream_refuses_shows_on_its_task_with_the_reason(
    operator, sandbox, celery_worker, fast_outbox
):
    org = operator.org
    submission = create_queue(operator, "FG-DLV-2")
    wait_for(lambda: delivered(QueueSubmission, submission.pk), 20, message="the queue to be sent")
    sandbox.set_faults(error_rate=1.0, error_status=422, path_prefix="/v2/automation_tasks", token=org.upstream_token)
    act(operator, row_of(org, "FG-DLV-2"), 1, "start")
    action = TaskAction.objects.get(organization=org, manufacturer_serial="FG-DLV-2")
    wait_for(
        lambda: TaskAction.objects.select_related("delivery").get(pk=action.pk).state == Delivery.Status.REJECTED,
        20,
        message="the start to be refused",
    )
    first = row_of(org, "FG-DLV-2").tasks[0]
    assert first["refused"].startswith("Start refused:") and "injected" in first["refused"]
    assert first["started"] is None and first["pending"] == ""  # the refused start changed nothing
    page = operator.get("/automation/serial/", {"serial": "FG-DLV-2"}).content.decode()
    assert "Start refused:" in page


def test_a_queue_the_upstream_refuses_shows_its_reasons_next_to_the_task_rows(
    operator, sandbox, celery_worker, fast_outbox
):
    org = operator.org
    now = AutomationTaskType.objects.for_org(org).first()
    assert now is not None
    # A task type the mirror has and the integrator no longer knows: the upstream refuses the queue.
    AutomationTaskType.objects.create(
        organization=org,
        upstream_id=999_999,
        name="Retired type",
        raw={"id": 999_999},
        content_hash="x",
        first_seen_at=now.first_seen_at,
        changed_at=now.changed_at,
    )
    t = types_of(org)
    response = operator.post(
        "/automation/queues/new/", queue_data(serial="FG-DLV-3", tasks=((t[0], 1, ""), (999_999, 2, "")))
    )
    assert response.status_code == 302
    submission = QueueSubmission.objects.get(organization=org, manufacturer_serial="FG-DLV-3")
    wait_for(
        lambda: (
            QueueSubmission.objects.select_related("delivery").get(pk=submission.pk).state == Delivery.Status.REJECTED
        ),
        20,
        message="the queue to be refused",
    )
    assert row_of(org, "FG-DLV-3").status == "rejected"
    page = operator.get(f"/automation/queues/submissions/{submission.pk}/correct/")
    formset = page.context["formset"]
    assert formset.forms[1].errors["task_type"] == ["The upstream refused this: unknown task type 999999"]
    assert not formset.forms[0].errors


def test_serial_data_is_sent_once_and_listed_on_its_serial(operator, sandbox, celery_worker, fast_outbox):
    org = operator.org
    response = operator.post(
        "/automation/serial-data/new/",
        {"manufacturer_serial": "FG-DATA-1", "serial_data_type_id": "2", "metadata": "bios", "value": "1.0.7"},
    )
    assert response.status_code == 302
    datum = SerialDatumSubmission.objects.get(organization=org, manufacturer_serial="FG-DATA-1")
    wait_for(lambda: delivered(SerialDatumSubmission, datum.pk), 20, message="the datum to be sent")
    datum.refresh_from_db()
    mirrored = SerialDatum.objects.get(organization=org, upstream_id=datum.upstream_id)
    assert (mirrored.value, mirrored.metadata, mirrored.serial_data_type_id) == ("1.0.7", "bios", 2)
    page = operator.get("/automation/serial/", {"serial": "FG-DATA-1"}).content.decode()
    assert "1.0.7" in page and "At the integrator" in page
