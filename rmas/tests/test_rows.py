"""The RMA lists' table follows every change of an RMA or a request, in the same transaction."""

from __future__ import annotations

from datetime import date
from typing import Any

from django.utils import timezone

from mirror.models import Rma
from outbox import kinds
from outbox import services as outbox
from outbox.models import Delivery, DeliveryAttempt
from outbox.services import _record
from rmas import rows, services
from rmas.models import RmaRow, RmaSubmission
from sync.engine import run_sync
from upstream.records import RmaRequestType

from .conftest import mirrored_rma


def request(org, user, serial="SN-ROW-1", request_type=RmaRequestType.DEPOT_REPAIR_AND_RETURN) -> RmaSubmission:
    return services.submit(
        org,
        user,
        RmaSubmission(
            request_type=request_type,
            manufacturer_serial=serial,
            problem="Does not power on.",
            replacement_name="Acme Receiving",
        ),
    )


def answer(submission: RmaSubmission, outcome: dict) -> None:
    """What the outbox worker records for one attempt of the request's delivery."""
    delivery = Delivery.objects.get(pk=submission.delivery_id or 0)
    attempt = DeliveryAttempt(delivery=delivery, number=1, started_at=timezone.now())
    _record(delivery, kinds.get("rma.create"), attempt, outcome)


def detail(upstream_id: int, serial: str, *, status=(1, "Not Received"), closed: str | None = None) -> dict:
    """An RMA as the upstream answers a POST (its detail)."""
    return {
        "id": upstream_id,
        "subject": "Depot Repair and Return",
        "manufacturer_serial": serial,
        "start_date": "2026-11-20",
        "closed_date": closed,
        "item": {"id": 100001, "name": "Rackmount 2U", "category": {"id": 7, "name": "Server"}},
        "status": {"id": status[0], "name": status[1]},
        "lines": [],
        "problems": [],
        "troubleshootings": [],
        "results": [],
    }


def row_of(**lookup) -> Any:
    return RmaRow.objects.values(
        "rma_id", "submission_id", "upstream_id", "subject", "status", "is_open", "request_type", "search_text"
    ).get(**lookup)


def snapshot(org) -> list[tuple]:
    return sorted(
        RmaRow.objects.filter(organization=org)
        .order_by()
        .values_list(
            "rma_id",
            "submission_id",
            "upstream_id",
            "subject",
            "status",
            "is_open",
            "request_type",
            "manufacturer_serial",
            "item_name",
            "category_name",
            "start_date",
            "closed_date",
            "search_text",
        ),
        key=repr,
    )


def test_a_request_has_a_local_row_with_its_deliverys_status_at_every_step(org_a, alice):
    submission = request(org_a, alice, serial="SN-ROW-1")
    row = row_of(submission=submission)
    assert row["status"] == Delivery.Status.QUEUED and row["rma_id"] is None and row["is_open"]
    assert row["subject"] == "Depot Repair and Return" and row["request_type"] == 3
    assert "sn-row-1" in row["search_text"]
    assert outbox.claim(submission.delivery_id) is not None
    assert row_of(submission=submission)["status"] == Delivery.Status.SENDING
    answer(submission, {"status": "retrying", "code": 503, "error": "HTTP 503"})
    assert row_of(submission=submission)["status"] == Delivery.Status.RETRYING
    assert RmaRow.objects.filter(organization=org_a).count() == 1


def test_the_upstreams_answer_turns_the_local_row_into_the_rmas_row(org_a, alice):
    submission = request(org_a, alice, serial="SN-ROW-2")
    answer(submission, {"status": "succeeded", "code": 201, "body": detail(70001, "SN-ROW-2")})
    rma = Rma.objects.get(organization=org_a, upstream_id=70001)
    assert RmaRow.objects.filter(organization=org_a).count() == 1  # one row per RMA
    row = row_of(rma=rma)
    assert row["submission_id"] == submission.pk and row["upstream_id"] == 70001
    assert row["status"] == "Not Received" and row["request_type"] == 3  # the request tells its type
    assert "rackmount 2u" in row["search_text"] and "server" in row["search_text"]


def test_a_sync_page_moves_the_row_and_a_close_moves_it_to_the_closed_tab(org_a):
    rma = mirrored_rma(org_a, 70002, serial="SN-ROW-3")
    rows.on_page(org_a, None, [(rma.pk, rma.upstream_id, {})], None)
    assert row_of(rma=rma)["status"] == "In Repair" and row_of(rma=rma)["is_open"]
    Rma.objects.filter(pk=rma.pk).update(status_name="Closed", is_open=False, closed_date=date(2026, 11, 30))
    rows.on_page(org_a, None, [(rma.pk, rma.upstream_id, {})], None)
    row = RmaRow.objects.get(rma=rma)
    assert (row.status, row.is_open, row.closed_date) == ("Closed", False, date(2026, 11, 30))


def test_an_rma_gone_upstream_leaves_the_list_and_its_request_comes_back(org_a, alice):
    submission = request(org_a, alice, serial="SN-ROW-4")
    answer(submission, {"status": "succeeded", "code": 201, "body": detail(70003, "SN-ROW-4")})
    rma = Rma.objects.get(organization=org_a, upstream_id=70003)
    Rma.objects.filter(pk=rma.pk).update(vanished_at=timezone.now())
    rows.on_vanish(org_a, None)
    assert not RmaRow.objects.filter(rma=rma).exists()
    local = row_of(submission=submission)
    assert local["rma_id"] is None and local["status"] == Delivery.Status.SUCCEEDED


def test_rebuild_gives_the_rows_the_changes_gave(org_a, alice):
    local = request(org_a, alice, serial="SN-ROW-5")
    answer(local, {"status": "retrying", "code": 503, "error": "HTTP 503"})
    mirrored = request(org_a, alice, serial="SN-ROW-6")
    answer(mirrored, {"status": "succeeded", "code": 201, "body": detail(70004, "SN-ROW-6")})
    other = mirrored_rma(org_a, 70005, serial="SN-ROW-7", closed=date(2026, 11, 11))
    rows.refresh(org_a.pk, rma_ids=[other.pk])
    before = snapshot(org_a)
    assert len(before) == 3
    assert rows.rebuild(org_a.pk) == 3
    assert snapshot(org_a) == before


def test_rows_never_cross_organizations(org_a, org_b, alice):
    mine = request(org_a, alice, serial="SN-MINE")
    theirs = mirrored_rma(org_b, 70006, serial="SN-THEIRS")
    # Ids of another organization are ignored, whoever passes them.
    rows.refresh(org_a.pk, rma_ids=[theirs.pk], submission_ids=[mine.pk])
    assert not RmaRow.objects.filter(rma=theirs).exists()
    rows.refresh(org_b.pk, rma_ids=[theirs.pk], submission_ids=[mine.pk])
    assert RmaRow.objects.get(rma=theirs).organization_id == org_b.pk
    assert RmaRow.objects.get(submission=mine).organization_id == org_a.pk
    assert rows.rebuild(org_b.pk) == 1 and RmaRow.objects.filter(organization=org_a).count() == 1


def test_a_sync_lists_every_rma_and_a_vanished_one_leaves(sandbox_org, sandbox):
    run_sync(sandbox_org, "rmas")
    present = Rma.objects.for_org(sandbox_org).present()
    assert present.count() > 10
    assert RmaRow.objects.filter(organization=sandbox_org).count() == present.count()
    closed = present.filter(is_open=False).first()
    assert closed is not None
    row = RmaRow.objects.get(rma=closed)
    assert not row.is_open and row.closed_date == closed.closed_date and row.status == closed.status_name
    assert row.manufacturer_serial == closed.manufacturer_serial and row.item_name == closed.item_name

    gone = present.order_by("upstream_id").first()
    sandbox.delete(sandbox_org.sandbox_token, "rmas", [gone.upstream_id])
    run = run_sync(sandbox_org, "rmas")
    assert run.vanished == 1
    assert not RmaRow.objects.filter(rma=gone).exists()
    assert RmaRow.objects.filter(organization=sandbox_org).count() == present.count()
