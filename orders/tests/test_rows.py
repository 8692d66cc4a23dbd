"""The orders list's table follows every change of an order or a submission, in the same transaction."""

from __future__ import annotations

from django.utils import timezone

from mirror.models import Order
from orders import rows
from orders.mirror_apply import apply_order_payload
from orders.models import OrderRow
from outbox import services as outbox
from outbox.models import Delivery
from sync.engine import run_sync
from upstream.records import OrderStatus

from .test_pages import retrying, shipped_payload, submit, succeed


def row_of(**lookup):
    return OrderRow.objects.values(
        "order_id", "submission_id", "status", "customer_order", "product_codes", "tracking_numbers", "search_text"
    ).get(**lookup)


def snapshot(org) -> list[tuple]:
    return sorted(
        OrderRow.objects.filter(organization=org)
        .order_by()
        .values_list(
            "order_id",
            "submission_id",
            "upstream_id",
            "customer_order",
            "purchase_order",
            "status",
            "ship_method",
            "recipient_name",
            "recipient_country",
            "created_at",
            "product_codes",
            "tracking_numbers",
            "search_text",
        ),
        key=repr,
    )


def test_a_submission_has_a_row_with_its_deliverys_status_at_every_step(client_alice, reference_a):
    submission = submit(client_alice, customer_order="ROW-1")
    assert row_of(submission=submission)["status"] == Delivery.Status.QUEUED
    assert outbox.claim(submission.delivery_id) is not None
    assert row_of(submission=submission)["status"] == Delivery.Status.SENDING
    retrying(submission)
    row = row_of(submission=submission)
    assert row["status"] == Delivery.Status.RETRYING and row["order_id"] is None
    assert row["product_codes"] == "SKU-100 SKU-200"  # the submission's own lines, for the filter
    assert "row-1" in row["search_text"] and "sku-200" in row["search_text"]


def test_the_upstreams_answer_turns_the_local_row_into_the_orders_row(client_alice, reference_a):
    submission = submit(client_alice, customer_order="ROW-2")
    succeed(submission, shipped_payload(260001, "ROW-2", status="Pending"))
    order = Order.objects.get(upstream_id=260001)
    assert OrderRow.objects.filter(organization=reference_a).count() == 1  # one row per order
    row = row_of(order=order)
    assert row["submission_id"] == submission.pk and row["status"] == OrderStatus.PENDING


def test_a_webhook_moves_the_row_and_adds_tracking_numbers(client_alice, reference_a):
    apply_order_payload(reference_a, shipped_payload(260002, "ROW-3", status="Released"), "webhook")
    order = Order.objects.get(upstream_id=260002)
    assert row_of(order=order)["status"] == OrderStatus.RELEASED
    apply_order_payload(
        reference_a, shipped_payload(260002, "ROW-3", updated="2026-11-23T12:00:00Z"), "webhook"
    )  # shipped
    row = row_of(order=order)
    assert row["status"] == OrderStatus.SHIPPED and row["tracking_numbers"] == "1ZTRACK0001"


def test_an_order_gone_upstream_leaves_the_list_and_its_submission_comes_back(client_alice, reference_a):
    submission = submit(client_alice, customer_order="ROW-4")
    succeed(submission, shipped_payload(260003, "ROW-4", status="Pending"))
    order = Order.objects.get(upstream_id=260003)
    Order.objects.filter(pk=order.pk).update(vanished_at=timezone.now())
    assert rows.vanished(reference_a.pk) == 1
    assert not OrderRow.objects.filter(order=order).exists()
    local = row_of(submission=submission)
    assert local["order_id"] is None and local["status"] == Delivery.Status.SUCCEEDED


def test_rebuild_gives_the_rows_the_changes_gave(client_alice, reference_a):
    local = submit(client_alice, customer_order="ROW-5")
    retrying(local)
    mirrored = submit(client_alice, customer_order="ROW-6")
    succeed(mirrored, shipped_payload(260004, "ROW-6", status="Pending"))
    apply_order_payload(reference_a, shipped_payload(260005, "ROW-7"), "sync")
    before = snapshot(reference_a)
    assert len(before) == 3
    assert rows.rebuild(reference_a.pk) == 3
    assert snapshot(reference_a) == before


def test_a_sync_lists_every_order_and_a_vanished_one_leaves(sandbox_org, sandbox):
    run_sync(sandbox_org, "orders")
    present = Order.objects.for_org(sandbox_org).present()
    assert present.count() > 10
    assert OrderRow.objects.filter(organization=sandbox_org).count() == present.count()
    shipped = present.filter(status=OrderStatus.SHIPPED).first()
    assert shipped is not None
    row = row_of(order=shipped)
    assert row["status"] == OrderStatus.SHIPPED and row["tracking_numbers"]
    assert row["product_codes"].split()[0] == shipped.lines.first().product_code

    gone = present.order_by("upstream_id").first()
    sandbox.delete(sandbox_org.sandbox_token, "customer_order_submissions", [gone.upstream_id])
    run = run_sync(sandbox_org, "orders")
    assert run.vanished == 1
    assert not OrderRow.objects.filter(order=gone).exists()
    assert OrderRow.objects.filter(organization=sandbox_org).count() == present.count()
