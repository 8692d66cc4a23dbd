"""The RMA lists at any size: constant queries, indexed sorts, keyset pages (empty dates too),
tabs with counts, every filter and the search, safe exports, one organization's rows only."""

from __future__ import annotations

import csv
import io
import re
from datetime import date, timedelta

import pytest
from django.db import connection
from django.db.models import Q
from django.test import Client
from django.utils import timezone

from conftest import make_member
from mirror.models import Item, Rma
from outbox.models import Delivery
from portal.lists import Cursor, capped_counts
from portal.tests.listchecks import no_sort_step, plan_of, queries_of
from rmas import rows, services
from rmas.lists import RmaListView
from rmas.models import ROW_SORTS, RmaRow, RmaSubmission
from upstream.records import RmaRequestType

STATUSES = ["Not Received", "Checked In", "In Repair", "Repaired", "Closed"]
CATEGORIES = ["Server", "Workstation"]
BASE = date(2025, 1, 1)


def make_rmas(org, n: int, *, start: int = 0, same_day_every: int = 1, serial: str = "SN", **values) -> None:
    """n mirrored RMAs and their list rows. Every fifth is closed (with a closed date); a status
    cycles; `same_day_every` > 1 gives ties in start_date."""
    now = timezone.now()
    rmas = []
    for k in range(start, start + n):
        status = STATUSES[k % 5]
        started = BASE + timedelta(days=k // same_day_every)
        fields = {
            "subject": f"Subject {k:05d}",
            "manufacturer_serial": f"{serial}-{k:05d}",
            "status_name": status,
            "is_open": status != "Closed",
            "start_date": started,
            "closed_date": started + timedelta(days=9) if status == "Closed" else None,
            "item_name": f"Item {k % 7}",
            "category_name": CATEGORIES[k % 2],
            "request_type_id": k % 5 + 1,
        }
        fields.update(values)
        rmas.append(
            Rma(
                organization=org,
                upstream_id=400000 + k,
                raw={},
                content_hash="x",
                first_seen_at=now,
                changed_at=now,
                **fields,
            )
        )
    Rma.objects.bulk_create(rmas)
    rows.rebuild(org.pk)


def request(org, user, serial: str) -> RmaSubmission:
    return services.submit(
        org,
        user,
        RmaSubmission(
            request_type=RmaRequestType.REPLACEMENT_PARTS,
            manufacturer_serial=serial,
            problem="Fan noise.",
            replacement_name="Acme Receiving",
        ),
    )


def listed(response) -> list[str]:
    return [row["subject"] for row in response.context["page"].rows]


def counts(response) -> dict[str, str]:
    return {t["label"]: t["count"] for t in response.context["tabs"]}


URLS = [
    "/rmas/",
    "/rmas/?tab=open",
    "/rmas/?tab=closed",
    "/rmas/?sort=manufacturer_serial",
    "/rmas/?sort=-closed_date",
    "/rmas/?q=sn-0000",
    "/rmas/?serial=SN-0007",
    "/rmas/?status=Closed&request_type=5",
    "/rmas/?started_after=2025-01-05&closed_before=2025-12-31",
    "/rmas/?last=1",
]


def test_a_page_costs_the_same_queries_at_10_and_at_1000_rows(client_alice, org_a, django_assert_max_num_queries):
    make_rmas(org_a, 10)
    client_alice.get("/rmas/")  # the session's first request also saves the session
    small = {url: queries_of(client_alice, url) for url in URLS}
    make_rmas(org_a, 990, start=10)
    for url in URLS:
        with django_assert_max_num_queries(9):
            assert client_alice.get(url).status_code == 200
    large = {url: queries_of(client_alice, url) for url in URLS}
    assert large == small
    deep = client_alice.get("/rmas/", {"sort": "manufacturer_serial"}).context["page"]
    with django_assert_max_num_queries(9):
        client_alice.get("/rmas/", {"sort": "manufacturer_serial", "after": deep.next_cursor})


@pytest.mark.parametrize("descending", [False, True])
def test_every_sortable_column_has_an_index_that_serves_its_sort(org_a, descending):
    make_rmas(org_a, 30)
    sortable = [c.name for c in RmaListView.columns if c.sortable]
    assert set(sortable) == set(ROW_SORTS)  # a sortable column without an index cannot be added
    for name in sortable:
        qs = RmaRow.objects.filter(organization=org_a).order_by(*RmaListView._order(name, descending))[:51]
        plan = plan_of(qs)
        assert f"rmas_row_{name[:20]}" in plan, (name, plan)
        assert no_sort_step(plan), (name, plan)
    # The Open and Closed tabs in their default order read an index too: (organization, is_open,
    # start_date, id) where the planner prefers it (the rest walks start_date's own).
    for is_open in (True, False):
        qs = RmaRow.objects.filter(organization=org_a, is_open=is_open).order_by(
            *RmaListView._order("start_date", descending)
        )[:51]
        plan = plan_of(qs)
        assert re.search(r"rmas_row_(open|start_date)", plan) and no_sort_step(plan), plan


def walk(client, params: dict) -> tuple[list[str], list[str], object]:
    """Every page forward with ?after=: the subjects in order, the summaries, the last page."""
    seen, summaries = [], []
    response = client.get("/rmas/", params)
    while True:
        seen += listed(response)
        summaries.append(response.context["summary"])
        page = response.context["page"]
        if not page.has_next:
            return seen, summaries, page
        response = client.get("/rmas/", {**params, "after": page.next_cursor})


def test_next_and_previous_walk_every_row_once_in_order_even_with_ties(client_alice, org_a):
    make_rmas(org_a, 61, same_day_every=4)  # four RMAs share each start date
    expected = list(
        RmaRow.objects.filter(organization=org_a).order_by("-start_date", "-id").values_list("subject", flat=True)
    )
    seen, summaries, page = walk(client_alice, {"per_page": 25})
    assert seen == expected
    assert summaries == ["Showing 1–25 of 61", "Showing 26–50 of 61", "Showing 51–61 of 61"]
    back = []
    while page.has_prev:
        response = client_alice.get("/rmas/", {"per_page": 25, "before": page.prev_cursor})
        page = response.context["page"]
        back = listed(response) + back
    assert back == expected[:50] and response.context["summary"] == "Showing 1–25 of 61"


@pytest.mark.parametrize("sort", ["closed_date", "-closed_date"])
def test_pages_walk_a_column_with_empty_values_both_ways(client_alice, org_a, sort):
    """Most RMAs have no closed date: the database sorts those before or after the dates (as
    PostgreSQL and SQLite differ), and the keyset walks across from one part to the other."""
    make_rmas(org_a, 53, same_day_every=3)
    expected = list(
        RmaRow.objects.filter(organization=org_a)
        .order_by(*RmaListView._order(sort.lstrip("-"), sort.startswith("-")))
        .values_list("subject", flat=True)
    )
    assert RmaRow.objects.filter(organization=org_a, closed_date__isnull=True).count() == 43
    seen, _summaries, page = walk(client_alice, {"per_page": 25, "sort": sort})
    assert seen == expected and len(seen) == 53
    back = []
    while page.has_prev:
        response = client_alice.get("/rmas/", {"per_page": 25, "sort": sort, "before": page.prev_cursor})
        page = response.context["page"]
        back = listed(response) + back
    assert back == expected[:50]


def test_the_last_page_and_a_cursor_past_the_end_show_the_last_rows(client_alice, org_a):
    make_rmas(org_a, 60)
    last = client_alice.get("/rmas/", {"last": "1"})
    assert last.context["summary"] == "Showing 11–60 of 60"  # the last full page
    beyond = Cursor(BASE - timedelta(days=1), 1, 99999).encode()  # a stale link
    response = client_alice.get("/rmas/", {"after": beyond})
    assert response.status_code == 200
    assert listed(response) == listed(last) and response.context["page"].at_end
    garbled = client_alice.get("/rmas/", {"after": "not-a-cursor", "before": "%%%"})
    assert garbled.status_code == 200 and garbled.context["summary"] == "Showing 1–50 of 60"


def test_tabs_count_open_and_closed_and_a_request_not_mirrored_yet_is_open(client_alice, org_a, alice, monkeypatch):
    make_rmas(org_a, 10)
    request(org_a, alice, "SN-LOCAL-1")
    response = client_alice.get("/rmas/")
    assert counts(response) == {"All": "11", "Open": "9", "Closed": "2"}
    assert "Replacement Parts" in listed(client_alice.get("/rmas/", {"tab": "open"}))
    closed = client_alice.get("/rmas/", {"tab": "closed"})
    assert {row["status"] for row in closed.context["page"].rows} == {"Closed"}
    monkeypatch.setattr(RmaListView, "count_cap", 5)
    response = client_alice.get("/rmas/", {"per_page": 25})
    assert counts(response) == {"All": "5+", "Open": "5+", "Closed": "2"}
    summary = response.context["summary"]
    if connection.vendor == "postgresql":
        assert re.fullmatch(r"Showing 1–11 of about [\d,]+", summary), summary
    else:
        assert summary == "Showing 1–11 of more than 5"


def test_a_local_request_shows_its_deliverys_status_and_links_to_its_page(client_alice, org_a, alice):
    submission = request(org_a, alice, "SN-LOCAL-2")
    Delivery.objects.filter(pk=submission.delivery_id).update(status=Delivery.Status.REJECTED)
    rows.refresh(org_a.pk, submission_ids=[submission.pk])
    make_rmas(org_a, 1)
    response = client_alice.get("/rmas/", {"sort": "subject"})
    cells = {row[0]["value"]: row for row in response.context["rows"]}
    local = cells["Replacement Parts"]
    assert local[0]["url"] == f"/rmas/submissions/{submission.pk}/"
    status = next(c for c in local if c["column"].name == "status")
    assert (status["label"], status["tone"]) == ("Rejected", "bad")
    mirrored = cells["Subject 00000"]
    assert mirrored[0]["url"] == f"/rmas/{RmaRow.objects.get(subject='Subject 00000').rma_id}/"
    kind = next(c for c in mirrored if c["column"].name == "request_type")
    assert kind["value"] == "Replacement Parts"  # request type 1, shown by its name
    assert "2025-01-01" in response.content.decode()  # a day as ISO 8601


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"status": ["Closed"]}, {"Subject 00004", "Subject 00009", "Subject 00014", "Subject 00019"}),
        ({"status": ["Checked In", "Repaired"]}, {f"Subject {k:05d}" for k in (1, 3, 6, 8, 11, 13, 16, 18)}),
        ({"request_type": ["2"]}, {"Subject 00001", "Subject 00006", "Subject 00011", "Subject 00016"}),
        ({"serial": "sn-00012"}, {"Subject 00012"}),
        ({"item": " Item 3 "}, {"Subject 00003", "Subject 00010", "Subject 00017"}),  # the exact name, trimmed
        ({"item": "Item"}, set()),  # not a part of a name: the item filter is an equality
        ({"category": [CATEGORIES[1]]}, {f"Subject {k:05d}" for k in range(1, 20, 2)}),
        ({"started_after": "2025-01-15"}, {f"Subject {k:05d}" for k in range(14, 20)}),
        ({"started_before": "2025-01-02"}, {"Subject 00000", "Subject 00001"}),
        ({"started_after": "2025-01-03", "started_before": "2025-01-03"}, {"Subject 00002"}),
        ({"closed_after": "2025-01-20"}, {"Subject 00014", "Subject 00019"}),
        ({"closed_before": "2025-01-14"}, {"Subject 00004"}),
        ({"closed_after": "2025-01-14", "closed_before": "2025-01-19"}, {"Subject 00004", "Subject 00009"}),
    ],
)
def test_each_filter_keeps_the_rows_it_names(client_alice, org_a, params, expected):
    make_rmas(org_a, 20)
    response = client_alice.get("/rmas/", params)
    assert response.status_code == 200 and response.context["valid"], response.context["filter"].errors
    assert set(listed(response)) == expected
    assert counts(response)["All"] == str(len(expected))  # the tabs count what the filter keeps
    assert response.context["chips"]  # each active filter shows as a chip


def test_counts_are_of_rows_even_over_a_distinct_queryset(org_a):
    make_rmas(org_a, 12)
    qs = RmaRow.objects.filter(organization=org_a, status__in=["Closed", "In Repair"]).distinct()
    groups = {"": None, "open": Q(is_open=True), "closed": Q(is_open=False)}
    assert capped_counts(qs, groups, cap=100) == {"": 4, "open": 2, "closed": 2}


def test_the_status_filter_offers_the_statuses_of_this_organization_only(client_alice, org_a, org_b, alice):
    make_rmas(org_a, 3)  # Not Received, Checked In, In Repair
    make_rmas(org_b, 1, status_name="Globex Only")
    request(org_a, alice, "SN-LOCAL-3")
    choices = dict(client_alice.get("/rmas/").context["filter"].form.fields["status"].choices)
    assert choices == {
        "Checked In": "Checked In",
        "In Repair": "In Repair",
        "Not Received": "Not Received",
        "queued": "Queued",
    }


def test_search_finds_an_rma_by_subject_serial_item_category_or_number(client_alice, org_a):
    make_rmas(org_a, 20)
    Rma.objects.filter(upstream_id=400007).update(item_name="Quantum Rack 9", category_name="Storage Array")
    rows.rebuild(org_a.pk)
    assert listed(client_alice.get("/rmas/", {"q": "subject 00003"})) == ["Subject 00003"]
    assert listed(client_alice.get("/rmas/", {"q": "SN-00012"})) == ["Subject 00012"]
    assert listed(client_alice.get("/rmas/", {"q": "quantum"})) == ["Subject 00007"]
    assert listed(client_alice.get("/rmas/", {"q": "storage arr"})) == ["Subject 00007"]
    assert listed(client_alice.get("/rmas/", {"q": "400011"})) == ["Subject 00011"]  # the RMA number
    assert len(listed(client_alice.get("/rmas/", {"q": "server"}))) == 10  # the category of every other one


@pytest.mark.parametrize("q", ["ab", "²²²", "①②③", "9" * 40, "%%%", "_", "' OR 1=1 --", "\x00abc"])
def test_odd_search_input_is_text_or_a_message_never_an_error(client_alice, org_a, q):
    make_rmas(org_a, 3)
    response = client_alice.get("/rmas/", {"q": q})
    assert response.status_code == 200
    if len(q.strip()) < 3:
        assert "Type at least 3 characters (or an RMA number)" in response.content.decode()
    else:
        assert listed(response) == []


@pytest.mark.parametrize(
    "params", [{"started_after": "2025-02-31"}, {"closed_before": "yesterday"}, {"request_type": "9"}, {"sort": "x"}]
)
def test_bad_filter_values_are_messages_never_errors(client_alice, org_a, params):
    make_rmas(org_a, 3)
    response = client_alice.get("/rmas/", params)
    assert response.status_code == 200


def test_export_neutralises_formula_cells_and_says_how_many_rows_it_wrote(client_alice, org_a):
    make_rmas(org_a, 3)
    RmaRow.objects.filter(subject="Subject 00000").update(
        subject='=HYPERLINK("http://evil.example","x")', manufacturer_serial="+1+2", item_name="@SUM(A1)"
    )
    RmaRow.objects.filter(subject="Subject 00001").update(manufacturer_serial="-3", category_name="\tTab")
    response = client_alice.get("/rmas/", {"export": "csv", "sort": "subject"})
    assert response["Content-Type"].startswith("text/csv")
    assert response["Content-Disposition"].startswith('attachment; filename="rmas-')
    lines = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    header, body, trailer = lines[0], lines[1:-1], lines[-1]
    assert header == [
        "Subject",
        "RMA number",
        "Status",
        "Request type",
        "Serial",
        "Item",
        "Category",
        "Started",
        "Closed",
    ]
    cells = {cell for row in body for cell in row}
    assert '\'=HYPERLINK("http://evil.example","x")' in cells and "'+1+2" in cells and "'@SUM(A1)" in cells
    assert "'-3" in cells and "'\tTab" in cells
    assert not any(cell[:1] in ("=", "+", "-", "@", "\t", "\r") for cell in cells)
    assert trailer == ["# 3 rows"]
    by_subject = {row[0]: row for row in body}
    assert by_subject["Subject 00002"][2:4] == ["In Repair", "Depot Repair and Return"]  # labels, not codes
    assert by_subject["Subject 00002"][7:] == ["2025-01-03", ""]


def test_another_organizations_rmas_never_appear(client_alice, org_a, org_b, bob):
    make_rmas(org_a, 4, serial="ACME")
    make_rmas(org_b, 6, start=100, serial="GLOBEX")
    response = client_alice.get("/rmas/", {"per_page": 25})
    assert counts(response) == {"All": "4", "Open": "4", "Closed": "0"}
    assert all(row["subject"] < "Subject 00100" for row in response.context["page"].rows)
    assert listed(client_alice.get("/rmas/", {"q": "globex"})) == []
    assert listed(client_alice.get("/rmas/", {"q": "400100"})) == []  # their RMA number
    assert listed(client_alice.get("/rmas/", {"serial": "GLOBEX"})) == []
    exported = b"".join(client_alice.get("/rmas/", {"export": "csv"}).streaming_content).decode()
    assert "GLOBEX" not in exported and exported.strip().endswith("# 4 rows")
    theirs = RmaRow.objects.filter(organization=org_b).order_by("start_date", "id").first()
    cursor = Cursor(theirs.start_date, theirs.id, 0).encode()  # a cursor made from their row shows only ours
    assert all(s < "Subject 00100" for s in listed(client_alice.get("/rmas/", {"after": cursor})))
    bobs = Client()
    bobs.force_login(bob)
    assert counts(bobs.get("/rmas/")) == {"All": "6", "Open": "5", "Closed": "1"}


def test_any_member_reads_the_list_and_only_the_service_role_sees_request_rma(client_alice, org_a):
    make_rmas(org_a, 2)
    assert 'href="/rmas/new/"' in client_alice.get("/rmas/").content.decode()  # alice has every role
    viewer = Client()
    viewer.force_login(make_member("vera", org_a, roles=["viewer"]))
    response = viewer.get("/rmas/")
    assert response.status_code == 200 and len(listed(response)) == 2
    assert "/rmas/new/" not in response.content.decode() and "Request RMA" not in response.content.decode()
    service = Client()
    service.force_login(make_member("sam", org_a, roles=["service"]))
    assert 'href="/rmas/new/">Request RMA</a>' in service.get("/rmas/").content.decode()


def test_columns_and_page_size_are_remembered_for_this_list_only(client_alice, org_a):
    make_rmas(org_a, 30)
    response = client_alice.post(
        "/rmas/", {"columns": ["status", "closed_date", "nonsense"], "per_page": "25", "query": "tab=open"}
    )
    assert response.status_code == 302 and response["Location"] == "/rmas/?tab=open"
    page = client_alice.get("/rmas/")
    assert [h["column"].name for h in page.context["headers"]] == ["subject", "status", "closed_date"]
    assert len(listed(page)) == 25
    orders = client_alice.get("/orders/")
    assert len(orders.context["headers"]) == 9  # the orders list keeps its own


def test_the_category_filter_offers_the_categories_of_this_organization_only(client_alice, org_a, org_b):
    make_rmas(org_a, 3)
    make_rmas(org_b, 1, category_name="Globex Category")
    choices = dict(client_alice.get("/rmas/").context["filter"].form.fields["category"].choices)
    assert choices == {c: c for c in CATEGORIES}
    response = client_alice.get("/rmas/", {"category": "Globex Category"})
    assert not response.context["valid"] and "category" in response.context["filter"].errors


def test_the_item_box_suggests_this_organizations_item_names(client_alice, org_a, org_b):
    now = timezone.now()
    common = {"raw": {}, "content_hash": "x", "first_seen_at": now, "changed_at": now}
    Item.objects.create(organization=org_a, upstream_id=1, name="JBOD S-200", **common)
    Item.objects.create(organization=org_a, upstream_id=2, name="JBOD S-2000", **common)
    Item.objects.create(organization=org_a, upstream_id=3, name="Gone JBOD", vanished_at=now, **common)
    Item.objects.create(organization=org_b, upstream_id=4, name="Globex JBOD", **common)
    html = client_alice.get("/rmas/").content.decode()
    assert 'list="id_item-options"' in html and '<datalist id="id_item-options"></datalist>' in html
    assert 'hx-get="/suggest/items/"' in html
    options = client_alice.get("/suggest/items/", {"item": "jbod"}).content.decode()
    assert options.count("<option") == 2
    assert '<option value="JBOD S-200">' in options and '<option value="JBOD S-2000">' in options
    assert client_alice.get("/suggest/items/", {"item": ""}).content.decode().strip() == ""
