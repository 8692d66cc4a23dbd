"""Webhook test fixtures."""

from __future__ import annotations

import pytest

from mirror.models import Order
from webhooks import services

from .test_order_update import order_payload, receive

ORDER_ID = 200001


@pytest.fixture
def stored_order(client, org_a, django_capture_on_commit_callbacks):
    """An order the mirror already holds in full (lines, customer order, recipient)."""
    delivery = receive(client, org_a, order_payload("Pending", order_id=ORDER_ID), django_capture_on_commit_callbacks)
    assert services.process(delivery.pk) == "processed"
    return Order.objects.get(organization=org_a, upstream_id=ORDER_ID)
