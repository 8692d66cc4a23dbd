"""The Order Update webhook: only genuine, fresh deliveries are stored; the newest state wins."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from mirror.models import Order
from orders.models import OrderEvent
from portal import dispatch
from upstream.signing import sign
from webhooks import services
from webhooks.models import WebhookDelivery

URL = "/webhooks/order-update/"


def order_payload(status="Pending", updated_at="2026-11-22T10:00:00Z", order_id=250001, **extra):
    payload = {
        "id": order_id,
        "organization_id": 1001,
        "purchase_order": "PO-1",
        "customer_order": "ACME-1",
        "ship_method_id": 12,
        "ship_method": "FedEx Ground",
        "status": status,
        "recipient": {"name": "John L. Doe", "company": "Doe Ltd.", "country": "CA"},
        "importer_of_record": {"name": "Max Power", "country": "CA"},
        "lines": [{"product_code": "SKU-100", "quantity": 2, "customs_declared_value": 123.4, "serial_numbers": []}],
        "created_at": "2026-11-22T09:00:00Z",
        "updated_at": updated_at,
    }
    if status.lower() == "shipped":
        payload["tracking_numbers"] = [{"tracking_number": "1Z0000000142", "weight": 8}]
        payload["invoices"] = [{"invoice_number": 750001}]
        payload["lines"][0]["serial_numbers"] = ["SN1", "SN2"]
    payload.update(extra)
    return payload


def signed_post(client, org, payload, *, secret="s3cret-value", date=None, path=URL, token=None, signature=None):
    body = json.dumps(payload).encode() if not isinstance(payload, bytes) else payload
    date = date or datetime.now(UTC).isoformat()
    headers = {
        "HTTP_X_MBX_TOKEN": token or org.upstream_token,
        "HTTP_X_MBX_DATE": date,
        "HTTP_X_MBX_SIGNATURE": signature or sign(secret, "POST", path, body, date),
    }
    return client.post(path, body, content_type="application/json", **headers)


def receive(client, org, payload, capture, **kw):
    with capture(execute=False) as callbacks:
        response = signed_post(client, org, payload, **kw)
    assert response.status_code == 202, response.content
    assert len(callbacks) == 1  # handed to a worker on commit
    return WebhookDelivery.objects.get(pk=response.json()["id"])


def assert_nothing_written():
    assert not WebhookDelivery.objects.exists()
    assert not Order.objects.exists()
    assert not OrderEvent.objects.exists()


def test_genuine_delivery_is_stored_raw_and_applied(client, org_a, django_capture_on_commit_callbacks):
    delivery = receive(client, org_a, order_payload(), django_capture_on_commit_callbacks)
    assert delivery.status == "received" and delivery.organization == org_a
    assert delivery.order_upstream_id == 250001 and delivery.order_status == "Pending"
    assert "X-MBX-Signature" not in delivery.headers and "X-MBX-Date" in delivery.headers
    assert services.process(delivery.pk) == "processed"
    order = Order.objects.get(organization=org_a, upstream_id=250001)
    assert order.status == "Pending" and order.lines.count() == 1
    assert services.process(delivery.pk) is None  # processed once only


def test_bad_signature_is_refused_and_nothing_is_written(client, org_a, caplog):
    response = signed_post(client, org_a, order_payload(), secret="wrong-secret")
    assert response.status_code == 401
    assert "signature" in response.json()["error"]
    assert_nothing_written()
    assert "s3cret-value" not in caplog.text and "wrong-secret" not in caplog.text


def test_tampered_body_or_other_path_is_refused(client, org_a):
    body = json.dumps(order_payload()).encode()
    date = datetime.now(UTC).isoformat()
    good = sign("s3cret-value", "POST", URL, body, date)
    tampered = body.replace(b"Pending", b"Shipped")
    assert signed_post(client, org_a, tampered, date=date, signature=good).status_code == 401
    signed_for_other_path = sign("s3cret-value", "POST", "/webhooks/other/", body, date)
    assert signed_post(client, org_a, body, date=date, signature=signed_for_other_path).status_code == 401
    assert_nothing_written()


def test_stale_or_future_date_is_refused(client, org_a):
    for delta in (timedelta(seconds=-301), timedelta(seconds=301), timedelta(hours=-5)):
        date = (datetime.now(UTC) + delta).isoformat()
        response = signed_post(client, org_a, order_payload(), date=date)
        assert response.status_code == 401
        assert "300 seconds" in response.json()["error"]
    assert signed_post(client, org_a, order_payload(), date="yesterday").status_code == 401
    assert_nothing_written()


def test_unknown_token_and_missing_headers_are_refused(client, org_a):
    assert signed_post(client, org_a, order_payload(), token="nobody").status_code == 401
    assert client.post(URL, json.dumps(order_payload()), content_type="application/json").status_code == 401
    assert client.get(URL).status_code == 405
    assert_nothing_written()


def test_org_b_cannot_write_org_a_orders(client, org_a, org_b):
    # Signed correctly with org B's own credentials: it lands in org B only.
    response = signed_post(client, org_b, order_payload())
    assert response.status_code == 202
    delivery = WebhookDelivery.objects.get()
    assert delivery.organization == org_b
    services.process(delivery.pk)
    assert not Order.objects.filter(organization=org_a).exists()
    assert Order.objects.filter(organization=org_b, upstream_id=250001).exists()


def test_replayed_delivery_changes_nothing(client, org_a, django_capture_on_commit_callbacks):
    payload = order_payload("Released", "2026-11-22T11:00:00Z")
    first = receive(client, org_a, payload, django_capture_on_commit_callbacks)
    second = receive(client, org_a, payload, django_capture_on_commit_callbacks)
    assert services.process(first.pk) == "processed"
    order = Order.objects.get(organization=org_a, upstream_id=250001)
    changed_at = order.changed_at
    assert services.process(second.pk) == "ignored"
    second.refresh_from_db()
    assert second.outcome == "duplicate"
    order.refresh_from_db()
    assert order.changed_at == changed_at
    assert OrderEvent.objects.filter(upstream_id=250001).count() == 1


def test_out_of_order_deliveries_keep_the_newest_state(client, org_a, django_capture_on_commit_callbacks):
    released = receive(
        client, org_a, order_payload("Released", "2026-11-22T11:00:00Z"), django_capture_on_commit_callbacks
    )
    shipped = receive(
        client, org_a, order_payload("shipped", "2026-11-22T12:00:00Z"), django_capture_on_commit_callbacks
    )
    assert services.process(shipped.pk) == "processed"  # the newer one arrives (or is processed) first
    assert services.process(released.pk) == "ignored"
    released.refresh_from_db()
    assert released.outcome == "stale"
    order = Order.objects.get(organization=org_a, upstream_id=250001)
    assert order.status == "Shipped"
    assert list(order.tracking_numbers.values_list("tracking_number", flat=True)) == ["1Z0000000142"]
    assert list(order.invoice_refs.values_list("invoice_number", flat=True)) == [750001]
    assert order.lines.get().serial_numbers == ["SN1", "SN2"]


def test_signed_body_that_is_not_an_order_is_kept_as_failed(client, org_a):
    response = signed_post(client, org_a, b"not json")
    assert response.status_code == 400
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == "failed" and "JSON" in delivery.error
    assert not Order.objects.exists()


def test_failed_processing_is_kept_and_reprocessed_from_the_admin(
    client, org_a, client_ops, django_capture_on_commit_callbacks
):
    response = signed_post(client, org_a, json.dumps(order_payload(id=None)).encode())
    assert response.status_code == 400  # refused by the schema: kept, failed, never applied
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == "failed" and "id: This field is required" in delivery.error
    assert services.process(delivery.pk) is None  # a failed delivery waits for ops
    assert services.process(delivery.pk, force=True) == "failed" and not Order.objects.exists()
    delivery.refresh_from_db()
    assert "id: This field is required" in delivery.error and delivery.attempts == 1
    WebhookDelivery.objects.filter(pk=delivery.pk).update(body=json.dumps(order_payload()))
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = client_ops.post(
            "/admin/webhooks/webhookdelivery/", {"action": "reprocess_failed", "_selected_action": [delivery.pk]}
        )
    assert response.status_code == 302 and len(callbacks) == 1
    delivery.refresh_from_db()
    assert delivery.status == "received"
    assert services.process(delivery.pk) == "processed"


def test_redrive_reenqueues_deliveries_stuck_in_received(org_a, monkeypatch, empty_queue):
    sent = []
    monkeypatch.setattr(dispatch, "hand_over", lambda channel, pk, countdown=None: sent.append((channel, pk)))
    old = WebhookDelivery.objects.create(organization=org_a, body="{}", headers={})
    fresh = WebhookDelivery.objects.create(organization=org_a, body="{}", headers={})
    WebhookDelivery.objects.filter(pk=old.pk).update(received_at=old.received_at - timedelta(minutes=5))
    WebhookDelivery.objects.create(organization=org_a, body="{}", headers={}, status="processed")
    assert dispatch.redrive()["webhooks"] == 1
    webhooks = [pk for channel, pk in sent if channel == "webhooks"]
    assert webhooks == [old.pk] and fresh.pk not in webhooks


@pytest.mark.django_db(transaction=True)
def test_webhook_applied_by_a_real_worker(client, org_a, celery_worker):
    from conftest import wait_for

    response = signed_post(client, org_a, order_payload("Released", "2026-11-22T11:00:00Z"))
    assert response.status_code == 202
    wait_for(
        lambda: WebhookDelivery.objects.filter(status="processed").exists(),
        20,
        message="the worker to apply the delivery",
    )
    assert Order.objects.get(organization=org_a, upstream_id=250001).status == "Released"
