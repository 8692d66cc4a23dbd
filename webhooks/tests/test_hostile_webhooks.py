"""Correctly signed but hostile Order Update deliveries: refused with a reason, kept for ops, and
never a change to the mirror; a valid partial delivery changes only the fields it carries."""

from __future__ import annotations

import json
import time

import pytest

from mirror.models import Order
from orders.models import OrderEvent
from upstream import limits
from webhooks import schema, services
from webhooks.models import WebhookDelivery

from .conftest import ORDER_ID
from .test_order_update import receive, signed_post


def snapshot(order: Order) -> dict:
    order.refresh_from_db()
    return {
        "status": order.status,
        "customer_order": order.customer_order,
        "raw": order.raw,
        "content_hash": order.content_hash,
        "changed_at": order.changed_at,
        "lines": list(order.lines.values_list("product_code", "quantity", "customs_declared_value")),
        "events": OrderEvent.objects.filter(upstream_id=ORDER_ID).count(),
    }


def refused(client, org, body: bytes | dict) -> WebhookDelivery:
    """Post a signed body that must be refused: 400, kept as failed with its reason, no task."""
    response = signed_post(client, org, body)
    assert response.status_code == 400, response.content
    delivery = WebhookDelivery.objects.get(pk=response.json()["id"])
    assert delivery.status == WebhookDelivery.Status.FAILED
    assert delivery.error and response.json()["error"] == delivery.error
    return delivery


def test_a_partial_payload_with_a_bad_status_is_refused_and_the_order_is_untouched(
    client, org_a, stored_order, client_ops
):
    before = snapshot(stored_order)
    delivery = refused(client, org_a, {"id": ORDER_ID, "status": 123})
    assert "status: must be one of Pending" in delivery.error
    assert snapshot(stored_order) == before
    assert before["customer_order"] == "ACME-1" and len(before["lines"]) == 1
    # Ops see it, and its reason, in the admin; a forced reprocess refuses it again.
    page = client_ops.get("/admin/webhooks/webhookdelivery/?status__exact=failed")
    assert page.status_code == 200 and str(delivery.pk) in page.content.decode()
    detail = client_ops.get(f"/admin/webhooks/webhookdelivery/{delivery.pk}/change/")
    assert "must be one of Pending" in detail.content.decode()
    assert services.process(delivery.pk, force=True) == "failed"
    assert snapshot(stored_order) == before


def test_a_valid_partial_payload_changes_only_the_fields_it_carries(
    client, org_a, stored_order, django_capture_on_commit_callbacks
):
    before = snapshot(stored_order)
    delivery = receive(client, org_a, {"id": ORDER_ID, "status": "Released"}, django_capture_on_commit_callbacks)
    assert services.process(delivery.pk) == "processed"
    after = snapshot(stored_order)
    assert after["status"] == "Released"
    assert after["customer_order"] == before["customer_order"] == "ACME-1"
    assert after["lines"] == before["lines"]
    assert after["raw"] == {**before["raw"], "status": "Released"}
    assert after["events"] == before["events"] + 1


# Each of these is signed correctly; the report's five payloads that gave a 500, and their kin.
HOSTILE = {
    "id of 2^63": b'{"id": 9223372036854775808, "status": "Pending"}',
    "id of 1e999": b'{"id": 1e999, "status": "Pending"}',
    'id of "1e30"': b'{"id": "1e30", "status": "Pending"}',
    "id of 10^100000 digits": b'{"id": 1' + b"0" * 100_000 + b', "status": "Pending"}',
    "id as a 1e1000000 string": b'{"id": "1e1000000", "status": "Pending"}',
    "negative id": b'{"id": -5, "status": "Pending"}',
    "boolean id": b'{"id": true, "status": "Pending"}',
    "unicode digits": '{"id": "²³", "status": "Pending"}'.encode(),
    "NaN quantity": b'{"id": 200001, "lines": [{"product_code": "X", "quantity": NaN}]}',
    "quantity 2^63-1": b'{"id": 200001, "lines": [{"product_code": "X", "quantity": 9223372036854775807}]}',
    "money past 12,2": b'{"id": 200001, "lines": [{"product_code": "X", "customs_declared_value": 1e15}]}',
    "date past 9999 at -23:59": b'{"id": 200001, "updated_at": "9999-12-31T23:59:59-23:59"}',
    "date in year 1 at +23:59": b'{"id": 200001, "updated_at": "0001-01-01T00:00:00+23:59"}',
    "year 2500": b'{"id": 200001, "updated_at": "2500-01-01T00:00:00Z"}',
    "promise date not a date": b'{"id": 200001, "promise_date": "tomorrow"}',
    "nested 5,000 deep": b'{"id": 200001, "customer_data": ' + b"[" * 5000 + b"]" * 5000 + b"}",
    "nested 33 deep": b'{"id": 200001, "x": ' + b"[" * 32 + b"]" * 32 + b"}",
    "lines not a list": b'{"id": 200001, "lines": {"product_code": "X"}}',
    "501 lines": json.dumps({"id": 200001, "lines": [{"product_code": "X", "quantity": 1}] * 501}).encode(),
    "recipient not an object": b'{"id": 200001, "recipient": "Bob"}',
    "status too long": json.dumps({"id": 200001, "status": "P" * 10_000}).encode(),
    "customer order too long": json.dumps({"id": 200001, "customer_order": "C" * (limits.NAME + 1)}).encode(),
    "a list, not an object": b"[1, 2, 3]",
    "not UTF-8": b'{"id": 200001, "notes": "\xff\xfe"}',
    "over 1 MiB": b'{"id": 200001, "notes": "' + b"x" * limits.JSON_BYTES + b'"}',
}


@pytest.mark.parametrize("body", HOSTILE.values(), ids=HOSTILE.keys())
def test_a_hostile_signed_payload_is_a_400_kept_as_failed_and_the_mirror_is_untouched(
    client, org_a, stored_order, body
):
    before = snapshot(stored_order)
    started = time.process_time()
    delivery = refused(client, org_a, body)
    assert time.process_time() - started < 1.0  # parsing is bounded in time, whatever the numbers
    assert len(delivery.body) <= limits.JSON_BYTES
    assert services.process(delivery.pk, force=True) == "failed"  # never applied, even when forced
    assert snapshot(stored_order) == before
    assert Order.objects.count() == 1


def test_a_date_with_a_minus_23_59_offset_in_range_is_accepted_in_utc(
    client, org_a, stored_order, django_capture_on_commit_callbacks
):
    payload = {"id": ORDER_ID, "status": "Released", "updated_at": "2026-11-22T10:00:00-23:59"}
    delivery = receive(client, org_a, payload, django_capture_on_commit_callbacks)
    assert services.process(delivery.pk) == "processed"
    stored_order.refresh_from_db()
    assert stored_order.updated_upstream_at.isoformat() == "2026-11-23T09:59:00+00:00"


def test_the_depth_scan_ignores_brackets_inside_strings():
    assert schema.nesting(b'{"a": "[[[[[[", "b": ["\\"]]]["]}') == 2
    assert schema.nesting(b'"\\\\"') == 0
    assert schema.nesting(b"[" * 5000) == 5000
    assert schema.parse(b'{"a": "' + b"[" * 100 + b'"}') == {"a": "[" * 100}
