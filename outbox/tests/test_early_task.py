"""A delivery task that runs before its delivery is due is handed back to Celery, not dropped."""

from datetime import timedelta

from django.utils import timezone

from outbox import services
from outbox.models import Delivery
from portal import dispatch


def test_task_running_early_reschedules_the_delivery_for_the_remaining_time(org_a, monkeypatch):
    dispatched = []
    monkeypatch.setattr(
        dispatch, "hand_over", lambda channel, pk, countdown=None: dispatched.append((channel, pk, countdown))
    )
    delivery = Delivery.objects.create(
        organization=org_a,
        kind="order.create",
        method="POST",
        path="/v2/x",
        body="{}",
        status="retrying",
        next_attempt_at=timezone.now() + timedelta(seconds=3),
    )
    assert services.send(delivery.pk) is None
    assert len(dispatched) == 1 and dispatched[0][:2] == ("outbox", delivery.pk) and 0 < dispatched[0][2] <= 3
    delivery.refresh_from_db()
    assert delivery.status == "retrying" and delivery.attempts == 0


def test_finished_delivery_is_not_rescheduled(org_a, monkeypatch):
    dispatched = []
    monkeypatch.setattr(dispatch, "hand_over", lambda channel, pk, countdown=None: dispatched.append(pk))
    delivery = Delivery.objects.create(
        organization=org_a,
        kind="order.create",
        method="POST",
        path="/v2/x",
        body="{}",
        status="succeeded",
        next_attempt_at=timezone.now() + timedelta(seconds=3),
    )
    assert services.send(delivery.pk) is None
    assert dispatched == []
