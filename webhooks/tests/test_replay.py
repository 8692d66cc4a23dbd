"""Replays: the exact same signed request (same X-MBX-Date, same X-MBX-Signature) sent again
within the 300 s window is refused with 401 and writes nothing. A legitimate resend is signed
afresh (a new date), so it is a new request and is accepted."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from mirror.models import Order
from orders.models import OrderEvent
from upstream.signing import sign
from webhooks import services
from webhooks.models import WebhookDelivery

from .test_order_update import URL, order_payload, receive, signed_post


def signed(payload, *, secret="s3cret-value", date=None) -> tuple[bytes, str, str]:
    body = json.dumps(payload).encode() if not isinstance(payload, bytes) else payload
    date = date or datetime.now(UTC).isoformat()
    return body, date, sign(secret, "POST", URL, body, date)


def test_an_exact_replay_is_refused_with_401_and_writes_nothing(client, org_a, django_capture_on_commit_callbacks):
    body, date, signature = signed(order_payload("Released", "2026-11-22T11:00:00Z"))
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        first = signed_post(client, org_a, body, date=date, signature=signature)
    assert first.status_code == 202 and len(callbacks) == 1
    delivery = WebhookDelivery.objects.get()
    assert len(delivery.signature_sha256) == 64 and signature not in json.dumps(delivery.headers)
    assert services.process(delivery.pk) == "processed"
    order = Order.objects.get(organization=org_a, upstream_id=250001)
    # The same request again, and with the signature in upper case and padded (it verifies too).
    for again in (signature, signature.upper(), f" {signature} "):
        with django_capture_on_commit_callbacks(execute=False) as callbacks:
            replay = signed_post(client, org_a, body, date=date, signature=again)
        assert replay.status_code == 401, replay.content
        assert replay.json()["error"].startswith("replayed")
        assert callbacks == []  # nothing handed to a worker
    # The request's transaction is still usable (the refusal was a savepoint's) and nothing changed.
    assert WebhookDelivery.objects.count() == 1
    assert Order.objects.get(pk=order.pk).changed_at == order.changed_at
    assert OrderEvent.objects.filter(upstream_id=250001).count() == 1


def test_a_replay_of_a_refused_body_is_refused_too(client, org_a):
    body, date, signature = signed(b"not json")
    first = signed_post(client, org_a, body, date=date, signature=signature)
    assert first.status_code == 400  # kept as failed, for ops
    replay = signed_post(client, org_a, body, date=date, signature=signature)
    assert replay.status_code == 401 and replay.json()["error"].startswith("replayed")
    assert WebhookDelivery.objects.count() == 1


def test_a_legitimate_resend_with_a_new_date_is_accepted(client, org_a, django_capture_on_commit_callbacks):
    payload = order_payload("Released", "2026-11-22T11:00:00Z")
    first = receive(client, org_a, payload, django_capture_on_commit_callbacks)
    resent = receive(client, org_a, payload, django_capture_on_commit_callbacks)  # signed afresh: a new date
    assert first.signature_sha256 != resent.signature_sha256
    assert services.process(first.pk) == "processed"
    assert services.process(resent.pk) == "ignored"  # the same state: applied once
    assert WebhookDelivery.objects.count() == 2 and Order.objects.count() == 1


def test_another_organization_with_the_same_signature_is_not_affected(client, org_a, org_b):
    # Both organizations happen to share a secret: one body, one date, one signature string.
    body, date, signature = signed(order_payload())
    assert signed_post(client, org_a, body, date=date, signature=signature).status_code == 202
    assert signed_post(client, org_b, body, date=date, signature=signature).status_code == 202
    assert signed_post(client, org_b, body, date=date, signature=signature).status_code == 401
    assert sorted(WebhookDelivery.objects.values_list("organization__slug", flat=True)) == ["acme", "globex"]


def test_deliveries_stored_before_replay_protection_do_not_collide(org_a):
    # Rows from before the column existed have no digest: the constraint leaves them alone.
    WebhookDelivery.objects.create(organization=org_a, body="{}", headers={})
    WebhookDelivery.objects.create(organization=org_a, body="{}", headers={})
    assert WebhookDelivery.objects.filter(signature_sha256="").count() == 2
