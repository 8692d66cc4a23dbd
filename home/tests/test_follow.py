"""Tallies follow the data: the real sync engine against the sandbox, an applied payload, a
submission and its delivery, and a real worker recounting after a change."""

from __future__ import annotations

from collections import Counter

import pytest
from django.test import Client

from conftest import make_member, wait_for
from home import services
from home.models import Tally
from mirror.models import AutomationQueue, Order, Rma
from orders.models import OrderRow
from orders.tests.conftest import sandbox_order_data, sync_reference
from outbox import services as outbox
from sync.apply import apply_one
from sync.engine import run_sync

from .conftest import card, figures, scheduled


def mirror_order_counts(org) -> dict[str, int]:
    return dict(Counter(Order.objects.for_org(org).present().values_list("status", flat=True)))


def tally(org, key) -> Tally:
    return Tally.objects.get(organization=org, key=key)


def test_tallies_follow_syncs_and_the_page_says_as_of_until_recounted(
    sandbox_org, sandbox, handed, django_capture_on_commit_callbacks
):
    org = sandbox_org
    client = Client()
    client.force_login(make_member("vic", org, roles=["viewer"]))
    with django_capture_on_commit_callbacks(execute=True):
        for name in ("orders", "rmas", "automation_queues", "automation_tasks"):
            assert run_sync(org, name).status == "success"
    assert scheduled(handed, org) == 1  # many pages and runs, one recount (debounced)
    services.recompute(org.pk)
    counted = tally(org, "orders").value
    assert counted == mirror_order_counts(org) and sum(counted.values()) > 10
    assert tally(org, "rmas").value["by_status"] == dict(
        Counter(Rma.objects.for_org(org).present().filter(is_open=True).values_list("status_name", flat=True))
    )
    in_progress = AutomationQueue.objects.for_org(org).present().filter(finished=False).count()
    assert tally(org, "automation").value["queues_in_progress"] == in_progress
    fetched = {r["resource"]: r["count"] for r in tally(org, "freshness").value}
    assert fetched["orders"] == sum(counted.values()) and fetched["countries"] is None  # never synced
    response = client.get("/")
    assert figures(response, "orders")["Shipped"][0] == f"{counted.get('Shipped', 0):,}"
    assert all(c.as_of is None for c in response.context["cards"])

    # The upstream ships a pending order; the next sync brings it.
    pending = Order.objects.for_org(org).filter(status="Pending").order_by("upstream_id").first()
    sandbox.set_order_status(org.sandbox_token, pending.upstream_id, "Shipped")
    with django_capture_on_commit_callbacks(execute=True):
        run = run_sync(org, "orders")
    assert run.updated == 1
    assert not tally(org, "orders").current and tally(org, "rmas").current
    response = client.get("/")
    assert card(response, "orders").as_of == tally(org, "orders").refreshed_at and card(response, "rmas").as_of is None
    assert figures(response, "orders")["Shipped"][0] == f"{counted.get('Shipped', 0):,}"  # as of before the sync

    assert "orders" in services.recompute(org.pk)
    response = client.get("/")
    assert card(response, "orders").as_of is None
    assert figures(response, "orders")["Shipped"][0] == f"{counted.get('Shipped', 0) + 1:,}"
    assert figures(response, "orders")["Pending"][0] == f"{counted['Pending'] - 1:,}"


def test_a_sync_that_changes_nothing_leaves_the_counts_current(sandbox_org, handed, django_capture_on_commit_callbacks):
    org = sandbox_org
    run_sync(org, "orders")
    services.recompute(org.pk)
    with django_capture_on_commit_callbacks(execute=True):
        run = run_sync(org, "orders")
    assert run.created == run.updated == run.vanished == 0
    assert tally(org, "orders").current and not tally(org, "freshness").current  # a run ended: freshness moves


def test_orders_that_vanish_upstream_leave_the_count(sandbox_org, sandbox, handed, django_capture_on_commit_callbacks):
    org = sandbox_org
    run_sync(org, "orders")
    services.recompute(org.pk)
    before = sum(tally(org, "orders").value.values())
    gone = list(Order.objects.for_org(org).order_by("upstream_id").values_list("upstream_id", flat=True)[:3])
    sandbox.delete(org.sandbox_token, "customer_order_submissions", gone)
    with django_capture_on_commit_callbacks(execute=True):
        assert run_sync(org, "orders").vanished == 3
    assert not tally(org, "orders").current
    services.recompute(org.pk)
    assert sum(tally(org, "orders").value.values()) == before - 3 == OrderRow.objects.filter(organization=org).count()


def test_an_applied_payload_marks_the_tallies_that_read_it(sandbox_org, handed, django_capture_on_commit_callbacks):
    """A webhook (or a write's answer) lands through sync.apply.apply_one: the same page hooks as a sync."""
    org = sandbox_org
    run_sync(org, "orders")
    services.recompute(org.pk)
    order = Order.objects.for_org(org).filter(status="Pending").first()
    payload = {**order.raw, "status": "Released", "updated_at": "2100-01-01T00:00:00Z"}
    with django_capture_on_commit_callbacks(execute=True):
        assert apply_one("orders", org, payload).changed
    assert not tally(org, "orders").current and tally(org, "automation").current
    services.recompute(org.pk)
    assert tally(org, "orders").value == mirror_order_counts(org)


def test_a_submission_and_every_status_of_its_delivery_move_the_orders_count(
    sandbox_org, handed, django_capture_on_commit_callbacks
):
    org = sandbox_org
    sync_reference(org)
    run_sync(org, "orders")
    services.recompute(org.pk)
    pending = tally(org, "orders").value["Pending"]
    buyer = Client()
    buyer.force_login(make_member("bill", org, roles=["buyer"]))
    with django_capture_on_commit_callbacks(execute=True):
        response = buyer.post("/orders/new/", sandbox_order_data(org, "HOME-SBX-1"))
    assert response.status_code == 302
    assert not tally(org, "orders").current
    services.recompute(org.pk)
    assert tally(org, "orders").value["queued"] == 1
    delivery_id = OrderRow.objects.get(organization=org, customer_order="HOME-SBX-1").submission.delivery_id
    with django_capture_on_commit_callbacks(execute=True):
        assert outbox.send(delivery_id) == "succeeded"  # to the sandbox: answered with the new order
    assert not tally(org, "orders").current
    services.recompute(org.pk)
    counted = tally(org, "orders").value
    assert "queued" not in counted and counted["Pending"] == pending + 1


@pytest.mark.django_db(transaction=True)
@pytest.mark.timeout(120)
def test_a_real_worker_recounts_a_few_seconds_after_a_change(sandbox_org, celery_worker, settings):
    settings.HOME_TALLY_DEBOUNCE = 0.5
    org = sandbox_org
    assert run_sync(org, "orders").status == "success"  # its pages schedule a recount on commit
    wait_for(lambda: Tally.objects.filter(organization=org, key="orders", refreshed_at__isnull=False).exists(), 30)
    wait_for(lambda: tally(org, "orders").current and tally(org, "freshness").current, 30, message="a current count")
    assert tally(org, "orders").value == mirror_order_counts(org)


def test_inventory_and_invoice_tallies_follow_their_syncs(sandbox_org, handed, django_capture_on_commit_callbacks):
    from home.providers import invoice_months
    from inventory.tallies import below_reorder

    org = sandbox_org
    services.recompute(org.pk)
    assert tally(org, "inventory").value == 0
    with django_capture_on_commit_callbacks(execute=True):
        for name in ("items", "customer_catalog_items", "inventories", "invoices"):
            assert run_sync(org, name).status == "success"
    assert not tally(org, "inventory").current and not tally(org, "invoices").current
    assert tally(org, "orders").current
    assert set(services.recompute(org.pk)) == {"inventory", "invoices", "freshness"}
    assert tally(org, "inventory").value == below_reorder(org.pk)
    assert tally(org, "invoices").value == invoice_months(org.pk)
