"""Every field rule of the automation forms (a message next to the field, nothing saved, nothing sent), the
exact payloads, operator-only writes (403 and no call), and the serial page's tenancy."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from automation import rows
from automation.models import QueueRow, QueueSubmission, SerialDatumSubmission, TaskAction
from conftest import make_member
from outbox.models import Delivery
from upstream import limits

from .conftest import mirrored_queue, mirrored_task, queue_data, task_types

pytestmark = pytest.mark.django_db


@pytest.fixture
def operator(org_a):
    task_types(org_a)
    client = Client()
    client.force_login(make_member("olga", org_a, roles=["operator"]))
    return client


@pytest.fixture
def viewer(org_a):
    client = Client()
    client.force_login(make_member("vera", org_a, roles=["viewer", "buyer", "service"]))
    return client


def errors_of(response) -> dict:
    form, formset = response.context["form"], response.context["formset"]
    out = {name: list(errs) for name, errs in form.errors.items()}
    for n, f in enumerate(formset.forms):
        for name, errs in f.errors.items():
            out[f"tasks-{n}-{name}"] = list(errs)
    if formset.non_form_errors():
        out["tasks"] = list(formset.non_form_errors())
    return out


def test_a_valid_queue_is_saved_with_its_tasks_and_its_exact_payload(operator, org_a):
    response = operator.post("/automation/queues/new/", queue_data(tasks=((2, 20, ""), (1, 10, "48134"), (3, 30, ""))))
    assert response.status_code == 302
    submission = QueueSubmission.objects.get(organization=org_a)
    assert [(t.sequence, t.task_type_id, t.task_type_name) for t in submission.tasks.all()] == [
        (10, 1, "Burn-in"),
        (20, 2, "Imaging"),
        (30, 3, "Run-In"),
    ]
    delivery = submission.delivery
    assert (delivery.kind, delivery.method, delivery.path) == ("automation.queue", "POST", "/v2/automation_queues")
    assert json.loads(delivery.body) == {
        "manufacturer_serial": "FG-NEW-1",
        "ip_address": "10.1.2.3",
        "automation_tasks": [
            {"task_type_id": 1, "sequence": 10, "assignee_id": 48134},
            {"task_type_id": 2, "sequence": 20},
            {"task_type_id": 3, "sequence": 30},
        ],
    }
    row = QueueRow.objects.get(submission=submission)  # on the board at once, as queued
    assert row.status == "queued" and row.tasks_total == 3 and row.manufacturer_serial == "FG-NEW-1"


@pytest.mark.parametrize(
    "overrides, field, message",
    [
        ({"manufacturer_serial": "   "}, "manufacturer_serial", "This field is required."),
        ({"manufacturer_serial": "S" * 257}, "manufacturer_serial", "at most 256 characters"),
        ({"manufacturer_serial": "FG\x00X"}, "manufacturer_serial", "Null characters are not allowed"),
        ({"ip_address": "999.1.1.1"}, "ip_address", "valid IPv4 or IPv6"),
        ({"ip_address": "hello"}, "ip_address", "valid IPv4 or IPv6"),
        ({"ip_address": "10.0.0"}, "ip_address", "valid IPv4 or IPv6"),
        ({"ip_address": "fe80::1::2"}, "ip_address", "valid IPv4 or IPv6"),
        ({"ip_address": ""}, "ip_address", "required"),
        ({"tasks-0-sequence": "-1"}, "tasks-0-sequence", "from 0 to 2,147,483,647"),
        ({"tasks-0-sequence": str(2**31)}, "tasks-0-sequence", "from 0 to 2,147,483,647"),
        ({"tasks-0-sequence": "1.5"}, "tasks-0-sequence", "whole number"),
        ({"tasks-0-sequence": "9" * 5000}, "tasks-0-sequence", "whole number"),
        ({"tasks-1-sequence": "1"}, "tasks-1-sequence", "Sequence 1 is already task 1"),
        ({"tasks-0-task_type": "42"}, "tasks-0-task_type", "Choose one of your task types"),
        ({"tasks-0-task_type": ""}, "tasks-0-task_type", "required"),
        ({"tasks-0-assignee": "0"}, "tasks-0-assignee", "from 1 to"),
        ({"tasks-0-assignee": str(2**63)}, "tasks-0-assignee", "from 1 to"),
    ],
)
def test_each_field_rule_is_a_message_next_to_its_field_and_nothing_is_sent(operator, overrides, field, message):
    response = operator.post("/automation/queues/new/", queue_data(**overrides))
    assert response.status_code == 200
    errors = errors_of(response)
    assert any(message in e for e in errors.get(field, [])), errors
    assert not QueueSubmission.objects.exists() and not Delivery.objects.exists()


def test_ipv4_and_ipv6_addresses_are_accepted_and_ipv6_stored_in_its_short_form(operator, org_a):
    operator.post("/automation/queues/new/", queue_data(serial="FG-V6", ip="2001:0db8:0000:0000:0000:0000:0000:0001"))
    assert QueueSubmission.objects.get(manufacturer_serial="FG-V6").ip_address == "2001:db8::1"
    operator.post("/automation/queues/new/", queue_data(serial="FG-V4", ip="192.168.10.20"))
    assert json.loads(QueueSubmission.objects.get(manufacturer_serial="FG-V4").delivery.body)["ip_address"] == (
        "192.168.10.20"
    )


def test_a_queue_needs_one_task_and_holds_at_most_a_hundred(operator):
    response = operator.post("/automation/queues/new/", queue_data(tasks=()))
    assert "Add at least one task." in errors_of(response)["tasks"]
    many = tuple((1, n, "") for n in range(limits.TASKS_PER_QUEUE + 1))
    response = operator.post("/automation/queues/new/", queue_data(tasks=many))
    assert response.status_code == 200 and not QueueSubmission.objects.exists()
    assert any("at most 100" in e for e in errors_of(response)["tasks"])
    deleted = queue_data(
        tasks=((1, 1, ""), (2, 1, "")), **{"tasks-1-DELETE": "on"}
    )  # a removed row's duplicate is fine
    assert operator.post("/automation/queues/new/", deleted).status_code == 302


def test_only_operators_create_queues_and_nothing_is_saved_for_others(viewer):
    assert viewer.get("/automation/queues/new/").status_code == 403
    assert viewer.post("/automation/queues/new/", queue_data()).status_code == 403
    assert not QueueSubmission.objects.exists() and not Delivery.objects.exists()


# -- actions -----------------------------------------------------------------------------------------------
@pytest.fixture
def queue_row(org_a):
    task_types(org_a)
    queue = mirrored_queue(org_a, 91001, ip="10.9.9.9")
    mirrored_task(org_a, 6000001, 91001, 1, serial="FG-ACT")
    mirrored_task(org_a, 6000002, 91001, 2, serial="FG-ACT", type_id=2)
    rows.refresh(org_a.pk, queue_ids=[queue.pk])
    return QueueRow.objects.get(queue=queue)


def post_action(client, row, **data):
    return client.post(f"/automation/rows/{row.pk}/act/", data)


def test_an_action_sends_the_vendors_put_and_shows_pending_at_once(operator, queue_row, org_a):
    response = post_action(operator, queue_row, sequence="1", action="start", message="  Run-In started ")
    assert response.status_code == 302
    action = TaskAction.objects.get(organization=org_a)
    delivery = action.delivery
    assert (delivery.kind, delivery.method, delivery.path) == ("automation.task", "PUT", "/v2/automation_tasks")
    assert json.loads(delivery.body) == {
        "manufacturer_serial": "FG-ACT",
        "ip_address": "10.9.9.9",
        "sequence": 1,
        "message": "Run-In started",
        "message_type": "start",
    }
    queue_row.refresh_from_db()
    assert queue_row.tasks[0]["pending"] == "start" and queue_row.pending_actions == 1


@pytest.mark.parametrize(
    "data, message",
    [
        ({"sequence": "1", "action": "start", "message": "m" * 257}, "at most 256 characters (it has 257)"),
        ({"sequence": "1", "action": "notify", "message": ""}, "Notify sends a message"),
        ({"sequence": "1", "action": "explode"}, "Choose start, complete, fail or notify"),
        ({"sequence": "7", "action": "start"}, "no task with sequence 7"),
        ({"sequence": "-1", "action": "start"}, "from 0 to"),
        ({"sequence": "1", "action": "start", "message": "a\x00b"}, "Null characters are not allowed"),
    ],
)
def test_a_bad_action_is_a_message_and_nothing_is_sent(operator, queue_row, data, message):
    response = post_action(operator, queue_row, **data)
    assert response.status_code == 302
    page = operator.get(response.url).content.decode()
    assert message in page.replace("&#x27;", "'")
    assert not TaskAction.objects.exists() and not Delivery.objects.exists()


def test_an_htmx_action_with_an_error_shows_it_next_to_the_task_and_keeps_the_message(operator, queue_row):
    response = operator.post(
        f"/automation/rows/{queue_row.pk}/act/",
        {"sequence": "1", "action": "notify", "message": ""},
        headers={"HX-Request": "true"},
    )
    html = response.content.decode()
    assert response.status_code == 200 and f'id="action-error-{queue_row.pk}-1"' in html
    assert "Notify sends a message" in html and not TaskAction.objects.exists()


def test_an_action_the_task_state_rules_out_is_refused_before_sending(operator, queue_row, org_a):
    assert post_action(operator, queue_row, sequence="1", action="start").status_code == 302
    response = post_action(operator, queue_row, sequence="1", action="start")
    assert "this task has already started" in operator.get(response.url).content.decode()
    assert TaskAction.objects.count() == 1


def test_an_action_on_a_queue_not_at_the_integrator_yet_is_refused(operator, org_a):
    operator.post("/automation/queues/new/", queue_data(serial="FG-LOCAL"))
    row = QueueRow.objects.get(manufacturer_serial="FG-LOCAL")
    response = post_action(operator, row, sequence="1", action="start")
    assert "not at the integrator yet" in operator.get(response.url).content.decode()
    assert not TaskAction.objects.exists()


def test_a_viewer_gets_403_on_an_action_and_no_call_is_sent(viewer, queue_row):
    response = post_action(viewer, queue_row, sequence="1", action="start")
    assert response.status_code == 403
    assert not TaskAction.objects.exists() and not Delivery.objects.exists()
    page = viewer.get("/automation/serial/", {"serial": "FG-ACT"}).content.decode()
    assert "FG-ACT" in page and 'name="action"' not in page  # no action buttons for a viewer


def test_another_organizations_queue_row_is_a_404_and_nothing_is_sent(queue_row, client_bob):
    assert post_action(client_bob, queue_row, sequence="1", action="start").status_code == 404
    assert not TaskAction.objects.exists() and not Delivery.objects.exists()


# -- serial data ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "data, field, message",
    [
        ({"serial_data_type_id": "0"}, "serial_data_type_id", "from 1 to"),
        ({"serial_data_type_id": "abc"}, "serial_data_type_id", "whole number"),
        ({"serial_data_type_id": str(2**63)}, "serial_data_type_id", "from 1 to"),
        ({"value": " "}, "value", "required"),
        ({"value": "v" * 257}, "value", "at most 256"),
        ({"metadata": "m" * 257}, "metadata", "at most 256"),
        ({"manufacturer_serial": ""}, "manufacturer_serial", "required"),
    ],
)
def test_each_serial_datum_rule_is_a_message_next_to_its_field(operator, data, field, message):
    base = {"manufacturer_serial": "FG-D", "serial_data_type_id": "3", "metadata": "", "value": "ok"}
    response = operator.post("/automation/serial-data/new/", {**base, **data})
    assert response.status_code == 200
    assert any(message in e for e in response.context["form"].errors[field]), response.context["form"].errors
    assert not SerialDatumSubmission.objects.exists() and not Delivery.objects.exists()


def test_a_serial_datum_is_sent_as_the_vendors_post(operator, org_a):
    data = {"manufacturer_serial": "FG-D", "serial_data_type_id": "3", "metadata": "", "value": "A1"}
    assert operator.post("/automation/serial-data/new/", data).status_code == 302
    datum = SerialDatumSubmission.objects.get(organization=org_a)
    assert json.loads(datum.delivery.body) == {
        "manufacturer_serial": "FG-D",
        "serial_data_type_id": 3,
        "metadata": None,
        "value": "A1",
    }
    page = operator.get("/automation/serial/", {"serial": "FG-D"}).content.decode()
    assert "A1" in page and "Queued" in page


# -- the serial page -----------------------------------------------------------------------------------------
def test_the_serial_page_is_a_404_for_another_organization_and_for_an_unknown_serial(queue_row, client_bob, operator):
    assert client_bob.get("/automation/serial/", {"serial": "FG-ACT"}).status_code == 404
    assert operator.get("/automation/serial/", {"serial": "NO-SUCH"}).status_code == 404
    assert operator.get("/automation/serial/", {"serial": "X" * 5000}).status_code == 404
    assert operator.get("/automation/serial/", {"serial": "FG-ACT"}).status_code == 200


def test_the_serial_page_answers_204_to_its_refresh_while_nothing_changed(operator, queue_row, org_a):
    first = operator.get("/automation/serial/", {"serial": "FG-ACT"})
    version = first.context["page"].version
    same = operator.get("/automation/serial/", {"serial": "FG-ACT", "live": "1", "v": version})
    assert same.status_code == 204
    mirrored_task(
        org_a, 6000003, 91001, 3, serial="FG-ACT", started=timezone.now() - timedelta(minutes=2), message="Booting"
    )
    rows.refresh_upstream(org_a.pk, [91001])
    moved = operator.get("/automation/serial/", {"serial": "FG-ACT", "live": "1", "v": version})
    assert moved.status_code == 200 and "Booting" in moved.content.decode()
    assert 'id="serial-live"' in moved.content.decode() and "<html" not in moved.content.decode()


def test_the_serial_page_tells_the_whole_history_with_the_order_and_its_rmas(operator, org_a, alice):
    from rmas.serials import rebuild
    from rmas.tests.conftest import mirrored_rma

    task_types(org_a)
    queue = mirrored_queue(org_a, 92001)
    t0 = timezone.now() - timedelta(hours=3)
    mirrored_task(org_a, 7000001, 92001, 1, serial="FG-HIST", started=t0, completed=t0 + timedelta(minutes=30))
    mirrored_task(
        org_a,
        7000002,
        92001,
        2,
        type_id=2,
        serial="FG-HIST",
        started=t0 + timedelta(hours=1),
        completed=t0 + timedelta(hours=1, minutes=5),
        failed=True,
        message="checksum",
    )
    mirrored_task(org_a, 7000003, 92001, 2, type_id=2, serial="FG-HIST")
    rows.refresh(org_a.pk, queue_ids=[queue.pk])
    mirrored_rma(org_a, 50077, serial="FG-HIST")
    rebuild(org_a.pk)
    client = Client()
    client.force_login(alice)  # every role: the Request RMA action too
    response = client.get("/automation/serial/", {"serial": "FG-HIST"})
    page = response.context["page"]
    whats = [e.what for e in page.events]
    assert whats[:3] == ["Failed 2. Imaging", "Started 2. Imaging", "Completed 1. Burn-in"]
    assert any(w.startswith("RMA 50077") for w in whats)
    attempts = page.queues[0]["attempts"]
    assert [(a["seq"], a["state"], a["retry"]) for a in attempts] == [
        (1, "done", False),
        (2, "failed", False),
        (2, "waiting", True),
    ]
    html = response.content.decode()
    assert 'id="request-rma" href="/rmas/new/?serial=FG-HIST"' in html and "checksum" in html


def test_an_operator_acts_from_the_board_and_gets_the_row_redrawn_with_the_action_pending(operator, queue_row):
    board = operator.get("/automation/").content.decode()
    assert f'action="/automation/rows/{queue_row.pk}/act/?from=board"' in board and "action-start" in board
    response = operator.post(
        f"/automation/rows/{queue_row.pk}/act/?from=board",
        {"sequence": "1", "action": "start"},
        headers={"HX-Request": "true"},
    )
    html = response.content.decode()
    assert response.status_code == 200 and f'hx-swap-oob="outerHTML:#queue-row-{queue_row.pk}"' in html
    assert 'class="task running pending"' in html and "1 pending" in html
    assert "action-start" not in html and "action-complete" in html  # started: complete or fail next
    assert TaskAction.objects.get().message_type == "start"


def test_a_viewer_sees_no_actions_on_the_board(viewer, queue_row):
    board = viewer.get("/automation/").content.decode()
    assert "FG-ACT" in board and "board-act" not in board


def test_a_serial_of_the_longest_length_keeps_its_page(operator, org_a):
    serial = "S" * limits.AUTOMATION_SERIAL
    assert operator.post("/automation/queues/new/", queue_data(serial=serial)).status_code == 302
    assert QueueRow.objects.get(organization=org_a).manufacturer_serial == serial
    assert operator.get("/automation/serial/", {"serial": serial}).status_code == 200
