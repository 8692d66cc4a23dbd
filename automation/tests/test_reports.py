"""The automation reports page: first-pass yield, failures and the slowest task types over a period."""

from __future__ import annotations

import json
import re
from datetime import date, datetime, timedelta
from decimal import Decimal
from itertools import count

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from automation import reports
from automation.tests.conftest import _common, mirrored_task, task_types
from mirror.models import AutomationTask

URL = reverse("automation:reports")
PERIOD = {"from": "2026-03-01", "to": "2026-03-07"}
IMAGING, BURN_IN, RUN_IN, FLASH = 10, 20, 40, 50
_ids = count(1000)


def at(day: int, hour: int = 0, minute: int = 0, second: int = 0, month: int = 3) -> datetime:
    """A moment of 2026 in the portal's time zone."""
    return timezone.make_aware(datetime(2026, month, day, hour, minute, second))


def task_type(org, upstream_id: int, name: str) -> None:
    task_types(org, types=((upstream_id, name),))


def attempt(
    org,
    *,
    queue: int,
    seq: int,
    type_id: int = IMAGING,
    started: datetime | None = None,
    completed: datetime | None = None,
    failed: bool = False,
    vanished: bool = False,
) -> AutomationTask:
    """One attempt of the unit (queue, seq); each new one gets a larger upstream id, as the upstream's retries do."""
    upstream_id = next(_ids)
    return mirrored_task(
        org,
        upstream_id,
        queue,
        seq,
        type_id=type_id,
        started=started,
        completed=completed,
        failed=failed,
        vanished=timezone.now() if vanished else None,
    )


def success(org, *, queue: int, seq: int, completed: datetime, took=timedelta(minutes=1), **kw) -> AutomationTask:
    return attempt(org, queue=queue, seq=seq, started=completed - took, completed=completed, **kw)


def failure(org, *, queue: int, seq: int, completed: datetime, **kw) -> AutomationTask:
    return attempt(
        org, queue=queue, seq=seq, started=completed - timedelta(minutes=1), completed=completed, failed=True, **kw
    )


@pytest.fixture
def crafted(org_a, org_b):
    """Acme's Imaging units in 1..7 March 2026: 6 units, 4 of them first pass, 1 failure in the period;
    Burn-in: one failure in the period and its retry not run yet. Globex's rows would change every figure."""
    task_type(org_a, IMAGING, "Imaging")
    task_type(org_a, BURN_IN, "Burn-in")
    # Passed first time.
    success(org_a, queue=1, seq=1, completed=at(3, 10, 4, 5))
    # Failed once in the period, then passed.
    failure(org_a, queue=1, seq=2, completed=at(3, 11))
    success(org_a, queue=1, seq=2, completed=at(3, 12))
    # Failed before the period (not a failure of the period), passed in it: not first pass all the same.
    failure(org_a, queue=2, seq=1, completed=at(20, 9, month=2))
    success(org_a, queue=2, seq=1, completed=at(4, 9))
    # Passed first time.
    success(org_a, queue=2, seq=2, completed=at(5, 9))
    # A vanished failed attempt is no failure: this unit passed first time.
    failure(org_a, queue=3, seq=1, completed=at(5, 10), vanished=True)
    success(org_a, queue=3, seq=1, completed=at(5, 11))
    # A vanished success is no unit.
    success(org_a, queue=4, seq=1, completed=at(5, 12), vanished=True)
    # The period's first moment is in it, the first moment after its last day is not.
    success(org_a, queue=6, seq=1, completed=at(1))
    success(org_a, queue=6, seq=2, completed=at(8))
    failure(org_a, queue=6, seq=3, completed=at(8))
    failure(org_a, queue=6, seq=4, completed=at(28, 23, 59, 59, month=2))
    # Not completed yet: no unit.
    attempt(org_a, queue=7, seq=1, started=at(7, 9))
    # Burn-in failed in the period; its new attempt has not started.
    failure(org_a, queue=5, seq=1, type_id=BURN_IN, completed=at(6, 8))
    attempt(org_a, queue=5, seq=1, type_id=BURN_IN)

    # Globex: the same upstream ids for queues and types, a failed attempt of "its" unit (1, 1), and a type of its own.
    task_type(org_b, IMAGING, "Imaging")
    task_type(org_b, 30, "Globex Secret Soak")
    failure(org_b, queue=1, seq=1, completed=at(2, 8))
    success(org_b, queue=1, seq=1, completed=at(2, 9))
    for n in range(5):
        success(org_b, queue=9, seq=n, completed=at(4, 9))
        failure(org_b, queue=9, seq=10 + n, type_id=30, completed=at(4, 9))
    success(org_b, queue=9, seq=99, type_id=30, completed=at(4, 10), took=timedelta(hours=50))
    return org_a


def test_yields_count_units_first_pass_and_failures_of_the_period(crafted):
    figures = reports.build(crafted, *reports.bounds(date(2026, 3, 1), date(2026, 3, 7)))
    by_name = {y.name: y for y in figures.yields}

    assert set(by_name) == {"Imaging", "Burn-in"}
    imaging = by_name["Imaging"]
    assert (imaging.units, imaging.first_pass, imaging.failures) == (6, 4, 1)
    assert imaging.fpy == Decimal("66.7")
    burn_in = by_name["Burn-in"]
    assert (burn_in.units, burn_in.first_pass, burn_in.failures) == (0, 0, 1)
    assert burn_in.fpy is None


def test_a_type_with_neither_units_nor_failures_in_the_period_is_not_shown(crafted):
    figures = reports.build(crafted, *reports.bounds(date(2026, 3, 6), date(2026, 3, 6)))

    assert [(y.name, y.units, y.failures) for y in figures.yields] == [("Burn-in", 0, 1)]
    assert figures.slowest == []


def table_rows(html: str, table_id: str) -> list[tuple[str, str, list[str]]]:
    """The rows of one table of the page: (link, label, the number cells)."""
    table = html[html.index(f'id="{table_id}"') :]
    table = table[: table.index("</table>")]
    rows = re.findall(r'<tr><th scope="row">(?:<a href="([^"]*)">)?([^<]+)(?:</a>)?</th>(.*?)</tr>', table)
    return [(url, label, re.findall(r'<td class="num">([^<]*)</td>', cells)) for url, label, cells in rows]


def test_page_shows_fpy_chart_and_table_linked_to_the_board(crafted, client_alice):
    response = client_alice.get(URL, PERIOD)
    html = response.content.decode()

    assert response.status_code == 200
    board = reverse("automation:list")
    # FPY %, units, first pass, failures
    assert table_rows(html, "chart-automation-fpy-table") == [
        (f"{board}?task_type={BURN_IN}", "Burn-in", ["–", "0", "0", "1"]),
        (f"{board}?task_type={IMAGING}", "Imaging", ["66.7", "6", "4", "1"]),
    ]
    data_script = re.search(r'id="chart-automation-fpy-data"[^>]*>(.*?)</script>', html)
    assert data_script is not None
    data = json.loads(data_script.group(1))
    assert data["labels"] == ["Burn-in", "Imaging"]
    assert data["datasets"][0]["data"] == [None, 66.7]
    assert "No tasks completed in this period." not in html


def test_page_does_not_show_another_organizations_task_types(crafted, client_alice, client_bob):
    alice_page = client_alice.get(URL, PERIOD).content.decode()
    bob_page = client_bob.get(URL, PERIOD).content.decode()

    assert "Globex Secret Soak" not in alice_page
    assert "Globex Secret Soak" in bob_page  # the same request shows it to its own organization
    assert "Burn-in" not in bob_page


def test_another_organizations_figures_are_their_own(crafted, org_b):
    figures = reports.build(org_b, *reports.bounds(date(2026, 3, 1), date(2026, 3, 7)))
    by_name = {y.name: y for y in figures.yields}

    assert (by_name["Imaging"].units, by_name["Imaging"].first_pass, by_name["Imaging"].failures) == (6, 5, 1)
    assert (by_name["Globex Secret Soak"].units, by_name["Globex Secret Soak"].failures) == (1, 5)


@pytest.fixture
def durations(org_a, org_b):
    """Run-in: 10 successes of 1..10 minutes; Flash: 1 s, 2 h and 3 h; plus attempts that must not count."""
    task_type(org_a, RUN_IN, "Run-in")
    task_type(org_a, FLASH, "Flash")
    for n, minutes in enumerate([7, 3, 10, 1, 5, 9, 2, 8, 6, 4]):
        success(org_a, queue=20, seq=n, type_id=RUN_IN, completed=at(2, 9 + n), took=timedelta(minutes=minutes))
    for n, took in enumerate([timedelta(hours=3), timedelta(seconds=1), timedelta(hours=2)]):
        success(org_a, queue=21, seq=n, type_id=FLASH, completed=at(3, 12 + n), took=took)
    # Not counted: a failed attempt, a success without a start, one completed after the period, a vanished one,
    # another organization's.
    failure(org_a, queue=22, seq=1, type_id=RUN_IN, completed=at(2, 20))
    attempt(org_a, queue=22, seq=2, type_id=RUN_IN, completed=at(2, 21))
    success(org_a, queue=22, seq=3, type_id=RUN_IN, completed=at(9), took=timedelta(days=3))
    success(org_a, queue=22, seq=4, type_id=RUN_IN, completed=at(2, 22), took=timedelta(days=3), vanished=True)
    success(org_b, queue=20, seq=99, type_id=RUN_IN, completed=at(2, 22), took=timedelta(days=3))
    return org_a


def test_median_and_p90_are_nearest_rank_per_type_slowest_p90_first(durations):
    figures = reports.build(durations, *reports.bounds(date(2026, 3, 1), date(2026, 3, 7)))

    assert [(d.name, d.count, d.median, d.p90) for d in figures.slowest] == [
        ("Flash", 3, timedelta(hours=2), timedelta(hours=3)),
        ("Run-in", 10, timedelta(minutes=5), timedelta(minutes=9)),
    ]


def test_a_single_duration_is_its_own_median_and_p90(org_a):
    task_type(org_a, RUN_IN, "Run-in")
    success(org_a, queue=1, seq=1, type_id=RUN_IN, completed=at(2), took=timedelta(seconds=42))

    [only] = reports.build(org_a, *reports.bounds(date(2026, 3, 1), date(2026, 3, 7))).slowest

    assert (only.count, only.median, only.p90) == (1, timedelta(seconds=42), timedelta(seconds=42))


def test_page_shows_slowest_types_with_readable_durations(durations, client_alice):
    html = client_alice.get(URL, PERIOD).content.decode()

    board = reverse("automation:list")
    # median, p90, count
    assert table_rows(html, "slowest-table") == [
        (f"{board}?task_type={FLASH}", "Flash", ["2 h 00 min", "3 h 00 min", "3"]),
        (f"{board}?task_type={RUN_IN}", "Run-in", ["5 min 00 s", "9 min 00 s", "10"]),
    ]


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (timedelta(seconds=42), "42 s"),
        (timedelta(minutes=4, seconds=5, microseconds=900_000), "4 min 05 s"),
        (timedelta(hours=1, minutes=12, seconds=59), "1 h 12 min"),
        (timedelta(hours=47, minutes=5), "47 h 05 min"),
        (timedelta(days=3, hours=4, minutes=30), "3 d 4 h"),
        (timedelta(seconds=-5), "0 s"),
    ],
)
def test_durations_read_as_people_say_them(value, text):
    assert reports.format_duration(value) == text


@pytest.mark.parametrize(
    ("n", "median", "p90"), [(1, 1, 1), (2, 1, 2), (3, 2, 3), (10, 5, 9), (11, 6, 10), (20, 10, 18)]
)
def test_nearest_rank_is_the_ceiling_of_the_share(n, median, p90):
    assert (reports.nearest_rank(n, 50), reports.nearest_rank(n, 90)) == (median, p90)


def test_the_page_costs_four_queries_of_the_mirror(crafted, client_alice):
    with CaptureQueriesContext(connection) as captured:
        assert client_alice.get(URL, PERIOD).status_code == 200
    mirror = [q["sql"] for q in captured.captured_queries if "mirror_automationtask" in q["sql"]]

    assert len(mirror) == 4
    assert all("vanished_at" in sql and "organization_id" in sql for sql in mirror)


def test_an_empty_period_says_so_in_one_query(crafted, client_alice):
    with CaptureQueriesContext(connection) as captured:
        html = client_alice.get(URL, {"from": "2025-03-01", "to": "2025-03-07"}).content.decode()
    mirror = [q["sql"] for q in captured.captured_queries if "mirror_automationtask" in q["sql"]]

    assert "No tasks completed in this period." in html
    assert 'id="chart-automation-fpy"' not in html
    assert len(mirror) == 1


def test_the_default_period_is_the_last_7_days_today_included(org_a, client_alice):
    task_type(org_a, IMAGING, "Imaging")
    today = timezone.localdate()
    first_moment = timezone.make_aware(datetime.combine(today - timedelta(days=6), datetime.min.time()))
    success(org_a, queue=1, seq=1, completed=first_moment)
    success(org_a, queue=1, seq=2, completed=timezone.now())
    success(org_a, queue=1, seq=3, completed=first_moment - timedelta(seconds=1))

    html = client_alice.get(URL).content.decode()

    assert f'value="{(today - timedelta(days=6)).isoformat()}"' in html
    assert f'value="{today.isoformat()}"' in html
    assert [row[1:] for row in table_rows(html, "chart-automation-fpy-table")] == [
        ("Imaging", ["100.0", "2", "2", "0"])
    ]


def test_a_period_of_366_days_is_allowed(crafted, client_alice):
    html = client_alice.get(URL, {"from": "2025-03-07", "to": "2026-03-07"}).content.decode()

    assert 'id="chart-automation-fpy"' in html
    assert 'class="error"' not in html


@pytest.mark.parametrize(
    ("params", "field", "message"),
    [
        ({"from": "2026-03-08", "to": "2026-03-07"}, "to", "The last day must be on or after the first day."),
        ({"from": "2025-03-06", "to": "2026-03-07"}, "to", "A period is at most 366 days."),
        ({"from": "1899-12-31", "to": "2026-03-07"}, "from", "Enter a day in the years 1900 to 2200."),
        ({"from": "2026-03-01", "to": "2201-01-01"}, "to", "Enter a day in the years 1900 to 2200."),
        ({"from": "2026-02-30", "to": "2026-03-07"}, "from", "Enter a day as YYYY-MM-DD."),
        ({"from": "yesterday", "to": "2026-03-07"}, "from", "Enter a day as YYYY-MM-DD."),
        ({"from": "2026-03-01", "to": "9" * 5000}, "to", "Enter a day as YYYY-MM-DD."),
        ({"from": "", "to": "2026-03-07"}, "from", "Enter a day."),
    ],
)
def test_a_bad_period_says_why_next_to_the_field_and_shows_no_figures(crafted, client_alice, params, field, message):
    response = client_alice.get(URL, params)
    html = response.content.decode()

    assert response.status_code == 200
    assert f'<p class="error" id="id_{field}_error">{message}</p>' in html
    assert 'aria-invalid="true"' in html
    assert "Correct the period to see the figures." in html
    assert 'id="report-fpy"' not in html
    assert "Imaging" not in html


def test_a_member_without_other_roles_may_read_it(org_a, client):
    from conftest import make_member

    client.force_login(make_member("vera", org_a, roles=["viewer"]))

    assert client.get(URL, PERIOD).status_code == 200


def test_a_visitor_is_sent_to_sign_in_and_a_post_is_refused(client, client_alice):
    from django.test import Client

    anonymous = Client().get(URL)
    assert anonymous.status_code == 302
    assert "login" in anonymous["Location"]
    assert client_alice.post(URL, PERIOD).status_code == 405


@pytest.fixture
def year_of_tasks(org_a):
    """A year of Imaging units, 10 a day, one in 20 failed once first; the planner's statistics taken."""
    task_type(org_a, IMAGING, "Imaging")
    start = at(1, month=1) - timedelta(days=300)
    rows = []
    for n in range(3650):
        completed = start + timedelta(hours=2.4 * n)
        common = {
            "automation_queue_id": n // 10,
            "sequence": n % 10,
            "automation_task_type_id": IMAGING,
            **_common(org_a),
        }
        if n % 20 == 0:
            rows.append(AutomationTask(upstream_id=2 * n, raw={}, failed=True, completed_at=completed, **common))
        rows.append(
            AutomationTask(
                upstream_id=2 * n + 1,
                raw={},
                failed=False,
                started_at=completed - timedelta(minutes=n % 50),
                completed_at=completed + timedelta(minutes=1),
                **common,
            )
        )
    AutomationTask.objects.bulk_create(rows)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE mirror_automationtask" if connection.vendor == "postgresql" else "ANALYZE")
    return org_a


def plan(sql: str) -> str:
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET enable_seqscan = off")  # a small table: ask which index serves it
            cursor.execute("EXPLAIN " + sql)
            text = "\n".join(row[0] for row in cursor.fetchall())
            cursor.execute("RESET enable_seqscan")
            return text
        cursor.execute("EXPLAIN QUERY PLAN " + sql)
        return "\n".join(str(row[-1]) for row in cursor.fetchall())


def reads_the_period_by_index(plan: str) -> bool:
    """The plan reads the tasks through (organization, completed_at), the period's range as its condition."""
    if connection.vendor == "postgresql":
        return bool(
            re.search(
                r"Index Scan (?:using|on) mirror_task_completed\b.*\n\s*Index Cond: \(\(organization_id = \d+\) "
                r"AND \(completed_at >= .*\) AND \(completed_at < ",
                plan,
            )
        )
    return "USING INDEX mirror_task_completed (organization_id=? AND completed_at>? AND completed_at<?)" in plan


def test_every_task_query_reads_the_period_through_the_completed_index(year_of_tasks, client_alice):
    with CaptureQueriesContext(connection) as captured:
        html = client_alice.get(URL, PERIOD).content.decode()
    task_queries = [q["sql"] for q in captured.captured_queries if '"mirror_automationtask"' in q["sql"]]
    plans = [plan(sql) for sql in task_queries]

    assert 'id="slowest-table"' in html  # all three ran
    assert len(plans) == 3
    assert [reads_the_period_by_index(p) for p in plans] == [True, True, True], "\n\n".join(plans)


@pytest.mark.django_db(transaction=True)
@pytest.mark.timeout(120)
def test_the_fpy_chart_draws_under_the_content_security_policy(crafted, alice, page, live_server):
    from conftest import PASSWORD

    page.goto(f"{live_server.url}/accounts/login/?next={URL}")
    page.fill("input[name=username]", "alice")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"**{URL}")
    page.goto(f"{live_server.url}{URL}?from=2026-03-01&to=2026-03-07")
    canvas = "document.querySelector('#chart-automation-fpy canvas')"
    page.wait_for_function(f"() => window.Chart && Chart.getChart({canvas})")
    drawn = page.evaluate(
        """() => {
        const chart = Chart.getChart(document.querySelector('#chart-automation-fpy canvas'));
        return {type: chart.config.type, labels: chart.data.labels, values: chart.data.datasets[0].data};
    }"""
    )

    assert drawn == {"type": "bar", "labels": ["Burn-in", "Imaging"], "values": [None, 66.7]}
