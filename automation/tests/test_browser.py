"""Issue 14's browser walk: an operator creates a queue with three tasks, starts and completes the first and
fails the second (the upstream adds a new unstarted task). The board, open in a second tab, and the serial's
timeline show each step without a reload.

And the live refresh's two races, made certain by holding its answers in the browser.

Real Chromium (the `page` fixture fails on any CSP violation), Django's live_server, a real Celery worker
sending every write to the real sandbox with real signing.
"""

from __future__ import annotations

import re

import pytest

from automation import rows
from automation.models import QueueRow, TaskAction
from conftest import PASSWORD, make_member
from mirror.models import AutomationTask, AutomationTaskType
from sync.engine import run_sync

from .conftest import mirrored_queue, mirrored_task, task_types

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.timeout(180)]


def test_an_operator_drives_a_queue_and_the_board_and_timeline_follow_without_a_reload(
    page, live_server, sandbox, sandbox_org, celery_worker, fast_outbox, settings
):
    from playwright.sync_api import expect

    settings.AUTOMATION_REFRESH_SECONDS = 1
    org = sandbox_org
    assert run_sync(org, "automation_task_types").status == "success"
    names = list(AutomationTaskType.objects.for_org(org).order_by("name").values_list("name", flat=True)[:3])
    operator = make_member("otis", org, roles=["operator", "viewer"])

    page.goto(live_server.url + "/accounts/login/?next=/automation/queues/new/")
    page.fill("input[name=username]", operator.username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/automation/queues/new/")

    # The form: a serial, an IP address and three task rows (two added without a reload).
    page.fill("#id_manufacturer_serial", "FG-BROWSER-1")
    page.fill("#id_ip_address", "not an address")
    for n, name in enumerate(names):
        if n:
            page.click("#add-task")
        page.select_option(f"#id_tasks-{n}-task_type", label=name)
        page.fill(f"#id_tasks-{n}-sequence", str(n + 1))
    expect(page.locator("#task-rows tr[data-task]")).to_have_count(3)
    page.click("#submit-queue")
    expect(page.locator("#id_ip_address_error")).to_contain_text("Enter a valid IPv4 or IPv6 address")
    expect(page.locator("#task-rows tr[data-task]")).to_have_count(3)  # the rows survive the error
    page.fill("#id_ip_address", "10.20.30.40")
    page.click("#submit-queue")
    page.wait_for_url(re.compile(r".*/automation/serial/\?serial=FG-BROWSER-1"))

    # The board in a second tab, opened once.
    board = page.context.new_page()
    board.goto(live_server.url + "/automation/")
    row = board.locator("#board-table tbody tr", has_text="FG-BROWSER-1")
    expect(row).to_have_count(1)

    # The queue reaches the integrator: the serial page and the board follow.
    queue = page.locator("article.queue").first
    expect(queue.locator("h3")).to_have_text(re.compile(r"Queue \d+"), timeout=30000)
    expect(row.locator("td").nth(1)).to_have_text(re.compile(r"\d+"), timeout=15000)
    expect(row.locator("li.task")).to_have_count(3)

    def attempt(seq: int):
        return queue.locator(f"tr.attempt.current[data-seq='{seq}']")

    # Start the first task: pending at once, then confirmed.
    attempt(1).locator("input[name=message]").fill("Run-In started")
    attempt(1).locator("button.action-start").click()
    expect(queue.locator("tr.attempt[data-seq='1']")).to_have_attribute("data-state", "running")
    expect(page.locator("#timeline")).to_contain_text(f"Started 1. {names[0]}")
    expect(row.locator("li.task.running")).to_have_count(1, timeout=15000)
    expect(row.locator("li.task.running")).to_contain_text(names[0])

    # Complete it.
    attempt(1).locator("button.action-complete").click()
    expect(queue.locator("tr.attempt[data-seq='1']")).to_have_attribute("data-state", "done")
    expect(page.locator("#timeline")).to_contain_text(f"Completed 1. {names[0]}")
    expect(row.locator("progress")).to_have_attribute("value", "1", timeout=15000)
    expect(row.locator("li.task.done")).to_have_count(1)

    # Fail the second: it shows failed, and a new unstarted task of the same sequence appears.
    attempt(2).locator("input[name=message]").fill("Imaging checksum mismatch")
    attempt(2).locator("button.action-fail").click()
    expect(queue.locator("tr.attempt[data-seq='2']")).to_have_count(2)
    expect(queue.locator("tr.attempt[data-seq='2']").first).to_have_attribute("data-state", "failed")
    expect(queue.locator("tr.attempt[data-seq='2']").last).to_have_attribute(
        "data-state", re.compile("expected|waiting")
    )
    expect(page.locator("#timeline")).to_contain_text(f"Failed 2. {names[1]}")
    expect(page.locator("#timeline")).to_contain_text("Imaging checksum mismatch")
    expect(row.locator("li.task.failed")).to_have_count(1, timeout=15000)
    expect(row.locator("li.task")).to_have_count(4)
    expect(row).to_contain_text("1 failed")

    # Every action confirmed by the integrator; the next sync brings the real retry, and both pages follow.
    expect(queue.locator(".pending-mark")).to_have_count(0, timeout=20000)
    assert run_sync(org, "automation_tasks").status == "success"
    expect(queue.locator("tr.attempt[data-seq='2']").last).to_have_attribute("data-state", "waiting", timeout=15000)
    expect(row.locator("li.task.expected")).to_have_count(0, timeout=15000)
    expect(row.locator("li.task.waiting")).to_have_count(2)
    assert board.evaluate("performance.getEntriesByType('navigation').length") == 1  # never reloaded
    assert page.url.endswith("serial=FG-BROWSER-1")
    stored = QueueRow.objects.get(organization=org, manufacturer_serial="FG-BROWSER-1")
    assert (stored.tasks_done, stored.failed_count, stored.current_sequence) == (1, 1, 2)


def test_the_serial_pages_refresh_never_redraws_over_what_an_operator_types_or_sends(
    page, live_server, org_a, settings
):
    """The two races of the live refresh, made certain by holding its answers (the first browser walk
    lost a typed message to a refresh that was already on its way when the operator began to type)."""
    from playwright.sync_api import expect

    settings.AUTOMATION_REFRESH_SECONDS = 1
    task_types(org_a)
    queue = mirrored_queue(org_a, 91001, ip="10.9.9.9")
    mirrored_task(org_a, 6000001, 91001, 1, serial="FG-LIVE")
    second = mirrored_task(org_a, 6000002, 91001, 2, serial="FG-LIVE", type_id=2)
    rows.refresh(org_a.pk, queue_ids=[queue.pk])
    row = QueueRow.objects.get(queue=queue)
    operator = make_member("olga", org_a, roles=["operator"])

    def change_second_task(message: str) -> None:
        AutomationTask.objects.filter(pk=second.pk).update(message=message)
        rows.refresh(org_a.pk, queue_ids=[queue.pk])

    page.goto(live_server.url + "/accounts/login/?next=/automation/serial/%3Fserial%3DFG-LIVE")
    page.fill("input[name=username]", operator.username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/automation/serial/?serial=FG-LIVE")
    second_message = page.locator("tr.attempt[data-seq='2'] td").nth(6)
    message = page.locator(f"#message-{row.pk}-1")

    held = []
    page.route(re.compile(r".*[?&]live=1"), lambda route: held.append(route))
    page.route(re.compile(rf".*/automation/rows/{row.pk}/act/"), lambda route: held.append(route))

    def hold_next(kind: str, since: int | None = None):
        count = len(held) if since is None else since
        deadline = 50
        while len(held) == count and deadline:
            page.wait_for_timeout(100)
            deadline -= 1
        assert len(held) > count, f"the page sent no {kind}"
        return held[-1]

    # 1. A refresh already on its way when the operator starts typing: its redraw is dropped.
    poll = hold_next("refresh")
    message.fill("Run-In started")
    change_second_task("Imaging queued")
    answer = poll.fetch()
    assert answer.status == 200  # a redraw: the second task's message changed since the page was drawn
    with page.expect_response(lambda r: "live=1" in r.url):
        poll.fulfill(response=answer)
    page.wait_for_timeout(300)
    expect(message).to_have_value("Run-In started")
    expect(second_message).to_have_text("")  # not redrawn under the operator's hands

    # While the message holds text, no refresh is even sent; once it is cleared, the page catches up.
    page.wait_for_timeout(2500)
    assert len(held) == 1
    message.fill("")
    page.locator("h1").click()
    poll = hold_next("refresh")
    poll.continue_()
    expect(second_message).to_have_text("Imaging queued")

    # 2. A refresh answered while the operator's action is on its way: the action's answer wins.
    poll = hold_next("refresh")
    change_second_task("Imaging ready")
    stale = poll.fetch()
    assert stale.status == 200
    sent = len(held)
    page.locator("tr.attempt[data-seq='1'] button.action-start").click()
    action = hold_next("action", since=sent)
    assert action.request.method == "POST"
    with page.expect_response(lambda r: "live=1" in r.url):
        poll.fulfill(response=stale)
    page.wait_for_timeout(300)
    expect(page.locator("tr.attempt[data-seq='1'] .pending-mark")).to_have_count(0)
    expect(second_message).to_have_text("Imaging queued")  # the stale answer was not drawn
    action.continue_()
    expect(page.locator("tr.attempt[data-seq='1'] .pending-mark")).to_have_text("Start pending")
    expect(second_message).to_have_text("Imaging ready")
    assert TaskAction.objects.filter(organization=org_a, sequence=1, message_type="start").count() == 1
