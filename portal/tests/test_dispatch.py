"""The one "persist, then hand to a worker" mechanism: channels, the redrive, delivery kinds."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core import checks
from django.utils import timezone

from outbox import kinds
from outbox import services as outbox
from outbox.models import Delivery
from portal import dispatch


@pytest.fixture
def handed(monkeypatch):
    sent: list[tuple[str, int, float | None]] = []
    monkeypatch.setattr(
        dispatch, "hand_over", lambda channel, pk, countdown=None: sent.append((channel, pk, countdown))
    )
    return sent


def test_orders_webhooks_and_emails_share_the_one_mechanism():
    assert {"outbox", "webhooks", "orders.email"} <= set(dispatch.channels())


def test_a_channel_name_cannot_be_taken_twice():
    channel = dispatch.get("outbox")
    with pytest.raises(ValueError, match="registered twice"):
        dispatch.register(dispatch.Channel("outbox", process=print, due=channel.due))
    assert dispatch.get("outbox") is channel


def test_an_unknown_channel_is_an_error_not_a_lost_message():
    with pytest.raises(LookupError, match="no dispatch channel 'outbx'"):
        dispatch.hand_over("outbx", 1)


def test_redrive_hands_over_what_each_channel_lost(org_a, alice, handed, empty_queue):
    from orders.models import OrderNotification, OrderSubmission
    from webhooks.models import WebhookDelivery

    long_ago = timezone.now() - timedelta(hours=1)
    lost_write = Delivery.objects.create(
        organization=org_a, kind=Delivery.Kind.ORDER_CREATE, method="POST", path="/v2/x", body="{}"
    )
    Delivery.objects.filter(pk=lost_write.pk).update(updated_at=long_ago, next_attempt_at=long_ago)
    in_flight = Delivery.objects.create(
        organization=org_a,
        kind=Delivery.Kind.ORDER_CREATE,
        method="POST",
        path="/v2/y",
        body="{}",
        status=Delivery.Status.SENDING,
        lease_until=timezone.now() + timedelta(minutes=5),
    )
    lost_push = WebhookDelivery.objects.create(organization=org_a, body="{}", headers={})
    WebhookDelivery.objects.filter(pk=lost_push.pk).update(received_at=long_ago)
    submission = OrderSubmission.objects.create(
        organization=org_a, purchase_order="PO", customer_order="C-1", ship_method_id=1
    )
    lost_mail = OrderNotification.objects.create(
        organization=org_a, submission=submission, status="Shipped", recipient=alice, email=alice.email
    )
    OrderNotification.objects.filter(pk=lost_mail.pk).update(created_at=long_ago)

    counts = dispatch.redrive()

    assert counts["outbox"] == 1 and counts["webhooks"] == 1 and counts["orders.email"] == 1
    assert {(c, pk) for c, pk, _ in handed} == {
        ("outbox", lost_write.pk),
        ("webhooks", lost_push.pk),
        ("orders.email", lost_mail.pk),
    }
    assert ("outbox", in_flight.pk) not in {(c, pk) for c, pk, _ in handed}


def test_every_delivery_kind_has_its_hooks_at_start_up():
    assert kinds.check_kinds() == []
    assert set(Delivery.Kind.values) <= {str(k) for k in kinds._KINDS}


def test_a_kind_without_hooks_stops_start_up(monkeypatch):
    monkeypatch.setattr(kinds, "_KINDS", {})
    errors = kinds.check_kinds()
    assert [e.id for e in errors] == ["outbox.E001"] * len(Delivery.Kind)
    assert all(isinstance(e, checks.Error) for e in errors)
    assert "order.create" in errors[0].msg


def test_hooks_for_a_kind_that_is_not_in_the_enum_stop_start_up(monkeypatch):
    monkeypatch.setattr(kinds, "_KINDS", {**kinds._KINDS, "queue.create": kinds.DeliveryKind("queue.create")})
    assert [e.id for e in kinds.check_kinds()] == ["outbox.E002"]


def test_the_system_check_runs_with_manage_py_check(monkeypatch):
    from django.core.management import call_command
    from django.core.management.base import SystemCheckError

    monkeypatch.setattr(kinds, "_KINDS", {})
    with pytest.raises(SystemCheckError, match=r"outbox\.E001"):
        call_command("check")


def test_enqueue_refuses_a_kind_without_hooks(org_a, monkeypatch):
    monkeypatch.setattr(kinds, "_KINDS", {k: v for k, v in kinds._KINDS.items() if k != "rma.create"})
    with pytest.raises(kinds.UnknownKind):
        outbox.enqueue(org_a, "rma.create", "POST", "/v2/rmas", {"a": 1})
    assert not Delivery.objects.exists()


def test_a_stored_delivery_of_an_unknown_kind_is_kept_and_retried_never_marked_done(org_a, handed, monkeypatch):
    monkeypatch.setattr(kinds, "_KINDS", {k: v for k, v in kinds._KINDS.items() if k != "rma.create"})
    delivery = Delivery.objects.create(organization=org_a, kind="rma.create", method="POST", path="/v2/rmas", body="{}")
    assert outbox.send(delivery.pk) == Delivery.Status.RETRYING
    delivery.refresh_from_db()
    assert delivery.status == Delivery.Status.RETRYING and delivery.completed_at is None
    assert "no hooks are registered for delivery kind 'rma.create'" in delivery.last_error
    assert delivery.attempt_rows.get().outcome == Delivery.Status.RETRYING


def lost_writes(org, count: int) -> list[int]:
    long_ago = timezone.now() - timedelta(hours=1)
    ids = []
    for n in range(count):
        delivery = Delivery.objects.create(
            organization=org, kind=Delivery.Kind.ORDER_CREATE, method="POST", path=f"/v2/{n}", body="{}"
        )
        ids.append(delivery.pk)
    Delivery.objects.filter(pk__in=ids).update(updated_at=long_ago, next_attempt_at=long_ago)
    return ids


def publish(queue: str, count: int) -> None:
    """`count` real task messages into the queue (tasks a busy worker has not reached yet)."""
    from portal.celery import app

    for n in range(count):
        app.send_task("portal.touch_user", args=(0, f"n{n}"), queue=queue)


def test_the_backlog_is_the_number_of_tasks_waiting_in_the_broker(empty_queue):
    assert dispatch.backlog() == 0
    publish(empty_queue, 3)
    assert dispatch.backlog() == 3


def test_a_backlog_counts_against_the_redrive_so_it_does_not_pile_up(org_a, handed, empty_queue):
    ids = lost_writes(org_a, 4)
    publish(empty_queue, 3)
    # Rows due but perhaps only waiting behind the backlog: the queue's 3 count against the limit.
    assert dispatch.redrive(limit=5)["outbox"] == 2
    assert [pk for _, pk, _ in handed] == ids[:2]
    publish(empty_queue, 2)
    handed.clear()
    assert dispatch.redrive(limit=5) == dict.fromkeys(dispatch.channels(), 0)  # 5 waiting: nothing
    assert handed == []


def test_with_the_broker_unreachable_the_redrive_still_runs(org_a, handed, empty_queue, monkeypatch):
    from portal.celery import app

    ids = lost_writes(org_a, 2)
    monkeypatch.setattr(app, "connection_for_write", lambda: (_ for _ in ()).throw(ConnectionError("refused")))
    assert dispatch.backlog() is None
    assert dispatch.redrive(limit=5)["outbox"] == 2 and [pk for _, pk, _ in handed] == ids
