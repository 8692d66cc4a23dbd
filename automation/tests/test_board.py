"""The automation board: its rows (attempts, retries, pending and refused actions, stuck), tabs, filters,
sorts by index, the live refresh that redraws only what changed, and tenancy."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from automation import rows
from automation.lists import BoardView, versions_text
from automation.models import ROW_SORTS, QueueRow, QueueSubmission, StuckLimit, TaskAction
from outbox.models import Delivery
from portal.tests.listchecks import no_sort_step, plan_of, queries_of

from .conftest import mirrored_queue, mirrored_task, task_types

pytestmark = pytest.mark.django_db


def ago(**kwargs):
    return timezone.now() - timedelta(**kwargs)


def build(org, upstream_id: int, serial: str, tasks, **queue) -> QueueRow:
    """A mirrored queue with tasks given as (sequence, type, started, completed, failed) and its board row."""
    q = mirrored_queue(org, upstream_id, **queue)
    for n, (seq, type_id, started, completed, failed) in enumerate(tasks):
        mirrored_task(
            org,
            upstream_id * 100 + n,
            upstream_id,
            seq,
            type_id=type_id,
            serial=serial,
            started=started,
            completed=completed,
            failed=failed,
        )
    rows.refresh(org.pk, queue_ids=[q.pk])
    return QueueRow.objects.get(queue=q)


def action(org, row: QueueRow, sequence: int, kind: str, status: str, **delivery) -> TaskAction:
    d = Delivery.objects.create(
        organization=org,
        kind="automation.task",
        method="PUT",
        path="/v2/automation_tasks",
        body="{}",
        status=status,
        **delivery,
    )
    return TaskAction.objects.create(
        organization=org,
        queue_upstream_id=row.upstream_id,
        manufacturer_serial=row.manufacturer_serial,
        ip_address=row.ip_address,
        sequence=sequence,
        message_type=kind,
        delivery=d,
    )


# -- the rows ------------------------------------------------------------------------------------------
def test_a_row_draws_every_attempt_in_sequence_with_the_retry_after_a_fail(org_a):
    task_types(org_a)
    row = build(
        org_a,
        7001,
        "FG-A",
        [
            (1, 1, ago(hours=5), ago(hours=4), False),
            (2, 2, ago(hours=4), ago(hours=3), True),  # failed: the upstream added the retry below
            (2, 2, ago(hours=2), None, False),
            (3, 3, None, None, False),
        ],
        work_order=555,
    )
    assert [(a["seq"], a["failed"], bool(a["started"])) for a in row.tasks] == [
        (1, False, True),
        (2, True, True),
        (2, False, True),
        (3, False, False),
    ]
    assert (row.tasks_total, row.tasks_done, row.failed_count, row.has_failures) == (3, 1, 1, True)
    assert row.current_sequence == 2 and row.current_type_id == 2 and row.status == "in_progress"
    assert row.work_order_id == 555 and row.manufacturer_serial == "FG-A" and not row.finished
    assert row.last_failed_at is not None and abs((row.last_failed_at - ago(hours=3)).total_seconds()) < 5
    # A fail whose retry the sync has not brought yet: the retry shows as expected.
    row = build(org_a, 7002, "FG-B", [(1, 1, ago(hours=1), ago(minutes=5), True)])
    assert [(a["failed"], a["expected"]) for a in row.tasks] == [(True, ""), (False, "retry")]
    assert row.current_sequence == 1 and row.tasks_done == 0


def test_pending_actions_show_their_effect_at_once_and_refused_ones_their_reason(org_a):
    task_types(org_a)
    row = build(org_a, 7010, "FG-P", [(1, 1, None, None, False), (2, 2, None, None, False), (3, 3, None, None, False)])
    action(org_a, row, 1, "start", "queued")
    action(org_a, row, 2, "fail", "sending")
    action(org_a, row, 3, "start", "rejected", field_errors={"sequence": ["no task with sequence 3 for serial FG-P"]})
    rows.refresh(org_a.pk, queue_ids=[row.queue_id])
    row.refresh_from_db()
    first, second, retry, third = row.tasks
    assert first["pending"] == "start" and first["started"] and not first["completed"]
    assert second["pending"] == "fail" and second["failed"] and retry["expected"] == "retry"
    assert third["refused"] == "Start refused: sequence: no task with sequence 3 for serial FG-P"
    assert third["started"] is None and third["pending"] == ""
    assert row.pending_actions == 2 and row.has_failures
    # A later action on the task clears the refusal.
    action(org_a, row, 3, "notify", "queued")
    rows.refresh(org_a.pk, queue_ids=[row.queue_id])
    row.refresh_from_db()
    assert row.tasks[-1]["refused"] == "" and row.tasks[-1]["pending"] == "notify"


def test_a_task_is_stuck_after_its_types_limit_and_a_manager_can_change_the_limit(org_a, client_alice, settings):
    settings.AUTOMATION_STUCK_MINUTES = 60
    task_types(org_a)
    row = build(org_a, 7020, "FG-S", [(1, 1, ago(minutes=45), None, False)])
    assert row.stuck_at is not None and row.stuck_at > timezone.now()  # 45 of 60 minutes
    response = client_alice.post("/automation/limits/", {"task_type": "1", "minutes": "30"})
    assert response.status_code == 302
    assert StuckLimit.objects.get(organization=org_a, task_type_id=1).minutes == 30
    row.refresh_from_db()
    assert row.stuck_at < timezone.now()  # now past 30 minutes: stuck
    board = client_alice.get("/automation/", {"tab": "stuck"})
    assert [r[0]["value"] for r in board.context["rows"]] == ["FG-S"]
    # Out of range: a message next to the field, nothing saved.
    response = client_alice.post("/automation/limits/", {"task_type": "1", "minutes": "0"})
    assert response.status_code == 200 and "between 1 and 43,200" in response.context["form"].errors["minutes"][0]
    assert StuckLimit.objects.get(organization=org_a, task_type_id=1).minutes == 30


def test_only_managers_set_stuck_limits(org_a, client):
    from conftest import make_member

    client.force_login(make_member("olga", org_a, roles=["operator"]))
    assert client.post("/automation/limits/", {"task_type": "1", "minutes": "30"}).status_code == 403
    assert not StuckLimit.objects.exists()


def test_a_finished_queue_is_never_stuck(org_a):
    row = build(org_a, 7030, "FG-F", [(1, 1, ago(days=3), ago(days=2), False)], finished=True)
    assert row.finished and row.stuck_at is None and row.status == "finished" and row.tasks_done == 1


# -- the board -----------------------------------------------------------------------------------------
def serials(response) -> list[str]:
    return [r[0]["value"] for r in response.context["rows"]]


@pytest.fixture
def line(org_a):
    task_types(org_a)
    return {
        "running": build(org_a, 8001, "FG-RUN", [(1, 1, ago(minutes=10), None, False)], work_order=71),
        "stuck": build(org_a, 8002, "FG-STUCK", [(1, 3, ago(hours=5), None, False)], work_order=72),
        "failing": build(org_a, 8003, "FG-FAIL", [(1, 2, ago(hours=2), ago(hours=1), True), (1, 2, None, None, False)]),
        "done": build(org_a, 8004, "FG-DONE", [(1, 1, ago(days=9), ago(days=8), False)], finished=True),
        "old_fail": build(
            org_a,
            8005,
            "FG-OLDFAIL",
            [(1, 2, ago(days=3), ago(days=3), True), (1, 2, ago(days=2), ago(days=2), False)],
            finished=True,
        ),
    }


def test_tabs_count_and_show_in_progress_stuck_failures_and_finished(client_alice, line):
    response = client_alice.get("/automation/")
    counts = {t["label"]: t["count"] for t in response.context["tabs"]}
    assert counts == {"All": "5", "In progress": "3", "Stuck": "1", "Has failures": "2", "Finished": "2"}
    assert set(serials(client_alice.get("/automation/", {"tab": "in_progress"}))) == {"FG-RUN", "FG-STUCK", "FG-FAIL"}
    assert serials(client_alice.get("/automation/", {"tab": "stuck"})) == ["FG-STUCK"]
    assert set(serials(client_alice.get("/automation/", {"tab": "failures"}))) == {"FG-FAIL", "FG-OLDFAIL"}
    assert set(serials(client_alice.get("/automation/", {"tab": "finished"}))) == {"FG-DONE", "FG-OLDFAIL"}


@pytest.mark.parametrize(
    "params, expected",
    [
        ({"serial": "stuck"}, {"FG-STUCK"}),
        ({"work_order": "71"}, {"FG-RUN"}),
        ({"task_type": "3"}, {"FG-STUCK"}),
        ({"task_type": "2"}, {"FG-FAIL"}),
        ({"q": "8004"}, {"FG-DONE"}),
        ({"q": "fg-old"}, {"FG-OLDFAIL"}),
    ],
)
def test_each_filter_keeps_the_queues_it_names(client_alice, line, params, expected):
    assert set(serials(client_alice.get("/automation/", params))) == expected


def test_the_home_pages_links_show_the_same_queues_as_its_counts(client_alice, line, org_a):
    from automation.tallies import line_status

    status = line_status(org_a.pk)
    in_progress = client_alice.get("/automation/", {"tab": "in_progress"})
    assert len(in_progress.context["rows"]) == status["queues_in_progress"] == 3
    failed = client_alice.get("/automation/", {"failed_since": status["failed_since"]})
    assert serials(failed) == ["FG-FAIL"] and status["tasks_failed"] == 1


@pytest.mark.parametrize(
    "params, field",
    [
        ({"failed_since": "yesterday"}, "failed_since"),
        ({"failed_since": "0001-01-01T00:00:00+05:00"}, "failed_since"),
        ({"failed_since": "9" * 5000}, "failed_since"),
        ({"work_order": "9" * 30}, "work_order"),
        ({"work_order": "-4"}, "work_order"),
        ({"task_type": "not-a-type"}, "task_type"),
    ],
)
def test_bad_filter_values_are_messages_next_to_the_filter(client_alice, line, params, field):
    response = client_alice.get("/automation/", params)
    assert response.status_code == 200 and not response.context["valid"]
    assert response.context["filter"].form.errors[field]


def test_the_board_draws_progress_tasks_flags_and_time_in_the_current_task(client_alice, line):
    html = client_alice.get("/automation/").content.decode()
    stuck = re.search(rf'<tr[^>]*id="queue-row-{line["stuck"].pk}"[^>]*>(.*?)</tr>', html, re.S)
    assert stuck is not None
    cells = stuck.group(1)
    assert '<progress max="1" value="0">' in cells and "Run-In" in cells
    assert re.search(r'class="badge warn stuck-flag" data-stuck-at="[^"]+">Stuck<', cells)  # not hidden: past it
    assert re.search(r"<time [^>]*data-elapsed>5 h 0\d min</time>", cells)
    failing = re.search(rf'<tr[^>]*id="queue-row-{line["failing"].pk}"[^>]*>(.*?)</tr>', html, re.S).group(1)
    assert "1 failed" in failing and 'class="task failed"' in failing and 'class="task waiting"' in failing


@pytest.mark.parametrize("descending", [False, True])
def test_every_sortable_column_has_an_index_that_serves_its_sort(org_a, line, descending):
    sortable = [c.name for c in BoardView.columns if c.sortable]
    assert set(sortable) == set(ROW_SORTS)
    for name in sortable:
        qs = QueueRow.objects.filter(organization=org_a).order_by(*BoardView._order(name, descending))[:51]
        plan = plan_of(qs)
        assert re.search(r"automation_row_", plan) and no_sort_step(plan), (name, plan)


def test_a_page_costs_the_same_queries_at_5_and_at_300_queues(client_alice, org_a, line):
    client_alice.get("/automation/")
    small = queries_of(client_alice, "/automation/")
    for k in range(300):
        mirrored_queue(org_a, 20_000 + k)
        mirrored_task(org_a, 3_000_000 + k, 20_000 + k, 1, serial=f"FG-BULK-{k}", started=ago(minutes=k))
    rows.rebuild(org_a.pk)
    assert queries_of(client_alice, "/automation/") == small


def test_another_organizations_queues_never_appear(client_bob, line, org_b):
    response = client_bob.get("/automation/")
    assert serials(response) == []
    assert client_bob.get("/automation/", {"q": "FG-RUN"}).context["rows"] == []


# -- the live refresh ------------------------------------------------------------------------------------
def changes(client, rows_, newest=0, **params):
    return client.get("/automation/changes/", {"rows": versions_text(rows_), "newest": newest, **params})


def shown(org, *names) -> list[dict[str, Any]]:
    found = QueueRow.objects.filter(organization=org, manufacturer_serial__in=names)
    return [{"id": r.pk, "version": r.version, "submission_id": r.submission_id} for r in found]


def test_a_refresh_redraws_only_the_rows_whose_version_moved(client_alice, org_a, line):
    page = shown(org_a, "FG-RUN", "FG-STUCK", "FG-DONE")
    newest = client_alice.get("/automation/").context["newest_id"]
    unchanged = changes(client_alice, page, newest)
    assert unchanged.status_code == 200 and unchanged.context["redrawn"] == [] and unchanged.context["new"] == 0
    # The running queue's task completes upstream: only its row comes back, in place of the old one.
    mirrored_task(org_a, 9_000_001, 8001, 2, type_id=2, serial="FG-RUN", started=ago(minutes=1))
    rows.refresh_upstream(org_a.pk, [8001])
    response = changes(client_alice, page, newest)
    redrawn = response.context["redrawn"]
    assert [old for old, _ in redrawn] == [line["running"].pk]
    html = response.content.decode()
    assert f'hx-swap-oob="outerHTML:#queue-row-{line["running"].pk}"' in html and "Imaging" in html
    assert html.count("<tr") == 1
    # The page's versions come back updated, so the next refresh redraws nothing.
    versions = re.search(r'id="board-versions" value="([^"]*)"', html).group(1)
    again = client_alice.get("/automation/changes/", {"rows": versions, "newest": newest})
    assert again.context["redrawn"] == []


def test_a_queue_sent_from_here_keeps_its_place_when_the_mirror_takes_it_over(client_alice, org_a, alice):
    task_types(org_a)
    submission = QueueSubmission.objects.create(
        organization=org_a, manufacturer_serial="FG-LOCAL", ip_address="10.0.0.1"
    )
    rows.refresh(org_a.pk, submission_ids=[submission.pk])
    local = shown(org_a, "FG-LOCAL")
    assert local[0]["submission_id"] == submission.pk
    submission.upstream_id = 8100
    submission.save()
    queue = mirrored_queue(org_a, 8100)
    rows.refresh(org_a.pk, queue_ids=[queue.pk])
    mirrored_row = QueueRow.objects.get(queue=queue)
    assert mirrored_row.pk != local[0]["id"]  # a new row: found by its submission
    response = changes(client_alice, local)
    assert [old for old, _ in response.context["redrawn"]] == [local[0]["id"]]
    assert f'id="queue-row-{mirrored_row.pk}"' in response.content.decode()


def test_a_refresh_says_how_many_queues_of_its_filters_are_new(client_alice, org_a, line):
    # The page sends the newest row of the organization when it loaded, not the newest row it shows.
    board = client_alice.get("/automation/", {"tab": "stuck"})
    newest = board.context["newest_id"]
    assert newest == QueueRow.objects.filter(organization=org_a).order_by("-id").first().pk
    assert f'id="board-newest" value="{newest}"' in board.content.decode()
    page = shown(org_a, "FG-STUCK")
    assert changes(client_alice, page, newest, tab="stuck").context["new"] == 0
    build(org_a, 8200, "FG-NEW", [(1, 1, None, None, False)])  # not stuck: not new on the Stuck tab
    assert changes(client_alice, page, newest, tab="stuck").context["new"] == 0
    response = changes(client_alice, page, newest)
    assert response.context["new"] == 1 and "1 new queue since this page loaded" in response.content.decode()
    assert changes(client_alice, page, newest, serial="FG-NEW").context["new"] == 1
    assert changes(client_alice, page, newest, serial="FG-RUN").context["new"] == 0


@pytest.mark.parametrize("text", ["", "x", "1.2", ",,,", "1.ab!.3", "9" * 40 + ".ab.0", "1.a-b.0", "１.ab.0"])
def test_odd_refresh_input_is_ignored_never_an_error(client_alice, line, text):
    response = client_alice.get("/automation/changes/", {"rows": text, "newest": "nope"})
    assert response.status_code == 200 and response.context["redrawn"] == []


def test_a_refresh_never_redraws_another_organizations_rows(client_bob, org_a, line):
    stale = [{**r, "version": "stale"} for r in shown(org_a, "FG-RUN", "FG-STUCK")]
    response = changes(client_bob, stale)
    assert response.context["redrawn"] == [] and "FG-RUN" not in response.content.decode()


def test_the_queues_csv_says_each_queues_progress_and_the_tasks_csv_has_every_attempt(client_alice, org_a, line):
    queues = b"".join(client_alice.get("/automation/", {"export": "csv", "sort": "upstream_id"}).streaming_content)
    lines = queues.decode().splitlines()
    assert lines[0].startswith("Serial,Queue,Status,Tasks")
    assert any(line.startswith("FG-FAIL,8003,In progress,0/1 done") for line in lines), lines
    assert lines[-1] == "# 5 rows"
    mirrored_task(org_a, 9_100_000, 8001, 2, type_id=2, serial="FG-RUN", message="=HYPERLINK(evil)")
    response = client_alice.get("/automation/", {"export": "tasks", "work_order": "71"})
    assert response["Content-Disposition"].startswith('attachment; filename="automation-tasks-')
    rows_ = b"".join(response.streaming_content).decode().splitlines()
    assert rows_[0] == (
        "id,automation_queue_id,automation_task_type_id,task_type_name,sequence,started_at,completed_at,failed,"
        "message,assignee_name,work_order_id,item_id,manufacturer_serial"
    )
    body = rows_[1:-1]
    assert [r.split(",")[:5] for r in body] == [
        ["800100", "8001", "1", "Burn-in", "1"],
        ["9100000", "8001", "2", "Imaging", "2"],
    ]
    assert "'=HYPERLINK(evil)" in body[1]  # a formula is neutralised
    assert rows_[-1] == "# 2 tasks"
    other = b"".join(client_alice.get("/automation/", {"export": "tasks", "tab": "stuck"}).streaming_content).decode()
    assert other.splitlines()[1].split(",")[1] == "8002" and other.splitlines()[-1] == "# 1 tasks"
