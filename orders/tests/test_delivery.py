"""Orders to the real sandbox through the outbox and a real Celery worker: nothing lost, nothing twice."""

from __future__ import annotations

import pytest
from django.test import Client

from conftest import wait_for
from mirror.models import Order
from orders.models import OrderSubmission
from outbox.models import Delivery

from .conftest import sandbox_order_data, sync_reference

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def buyer(sandbox_org):
    from conftest import make_member

    sync_reference(sandbox_org)
    user = make_member("sally", sandbox_org, roles=["buyer"])
    client = Client()
    client.force_login(user)
    client.org = sandbox_org
    return client


def submit(client, customer_order, **overrides) -> OrderSubmission:
    response = client.post("/orders/new/", sandbox_order_data(client.org, customer_order, **overrides))
    assert response.status_code == 302, response.context and response.context["form"].errors
    return OrderSubmission.objects.get(organization=client.org, customer_order=customer_order)


def state_of(pk):
    return OrderSubmission.objects.select_related("delivery").get(pk=pk).state


def test_order_is_submitted_once_and_mirrored(buyer, sandbox, celery_worker, fast_outbox):
    submission = submit(buyer, "SBX-OK-1")
    wait_for(lambda: state_of(submission.pk) == Delivery.Status.SUCCEEDED, 20, message="the order to be submitted")
    submission.refresh_from_db()
    assert submission.upstream_id and submission.upstream_status == "Pending"
    order = Order.objects.get(organization=buyer.org, upstream_id=submission.upstream_id)
    assert order.customer_order == "SBX-OK-1" and order.lines.count() == 2
    assert sandbox.stats(buyer.org.upstream_token)["orders_created"] == 1
    page = buyer.get(f"/orders/submissions/{submission.pk}/").content.decode()
    assert "Submitted" in page and str(submission.upstream_id) in page


def test_upstream_down_for_the_whole_submit_then_back_delivers_each_order_exactly_once(
    buyer, sandbox, celery_worker, fast_outbox
):
    token = buyer.org.upstream_token
    sandbox.set_faults(error_rate=1.0, error_status=503, path_prefix="/v2/customer_order_submissions", token=token)
    subs = [submit(buyer, f"SBX-OUT-{n}") for n in range(4)]
    wait_for(
        lambda: all(Delivery.objects.get(pk=s.delivery_id).attempts >= 2 for s in subs),
        30,
        message="every order to be tried at least twice while the upstream is down",
    )
    page = buyer.get(f"/orders/submissions/{subs[0].pk}/").content.decode()
    assert "Retrying" in page or "Sending" in page
    assert "Next attempt at" in page or "Sending" in page
    assert sandbox.stats(token)["orders_created"] == 0
    sandbox.clear_faults()
    wait_for(lambda: all(state_of(s.pk) == Delivery.Status.SUCCEEDED for s in subs), 40, message=DeliveryStates(subs))
    assert sandbox.stats(token)["orders_created"] == 4
    ids = {OrderSubmission.objects.get(pk=s.pk).upstream_id for s in subs}
    assert len(ids) == 4 and None not in ids
    for s in subs:
        delivery = Delivery.objects.get(pk=s.delivery_id)
        assert delivery.attempt_rows.filter(outcome="retrying").exists()
        assert delivery.attempt_rows.filter(outcome="succeeded").count() == 1


def test_dropped_answer_is_retried_with_the_same_key_without_a_duplicate(buyer, sandbox, celery_worker, fast_outbox):
    token = buyer.org.upstream_token
    sandbox.set_faults(drop_after_commit_rate=1.0, count=1, path_prefix="/v2/customer_order_submissions", token=token)
    submission = submit(buyer, "SBX-DROP-1")
    wait_for(lambda: state_of(submission.pk) == Delivery.Status.SUCCEEDED, 30, message="the order to be submitted")
    stats = sandbox.stats(token)
    assert stats["faults_fired"] >= 1
    assert stats["orders_created"] == 1
    submission.refresh_from_db()
    assert Order.objects.filter(organization=buyer.org, customer_order="SBX-DROP-1").count() == 1
    assert Order.objects.get(organization=buyer.org, customer_order="SBX-DROP-1").upstream_id == submission.upstream_id


def test_upstream_422_is_shown_on_the_fields_and_a_corrected_order_goes_out_with_a_new_key(
    buyer, sandbox, celery_worker, fast_outbox
):
    from django.utils import timezone

    from mirror.models import Country, ShipMethod

    org = buyer.org
    now = timezone.now()
    # The mirror knows a ship method and a country the upstream no longer has (stale reference data).
    ShipMethod.objects.create(
        organization=org,
        upstream_id=99999,
        name="Gone Freight",
        raw={},
        content_hash="x",
        first_seen_at=now,
        changed_at=now,
    )
    Country.objects.create(
        organization=org,
        upstream_id=99999,
        iso_code="ZZ",
        name="Nowhere",
        raw={},
        content_hash="x",
        first_seen_at=now,
        changed_at=now,
    )
    submission = submit(buyer, "SBX-422-1", ship_method="99999", recipient_country="ZZ")
    wait_for(lambda: state_of(submission.pk) == Delivery.Status.REJECTED, 20, message="the order to be rejected")
    first = Delivery.objects.get(pk=submission.delivery_id)
    assert "ship_method_id" in first.field_errors and "recipient.country" in first.field_errors
    assert "Correct and send again" in buyer.get(f"/orders/submissions/{submission.pk}/").content.decode()

    page = buyer.get(f"/orders/submissions/{submission.pk}/correct/")
    form = page.context["form"]
    assert any("unknown ship method" in e for e in form.errors["ship_method"])
    assert any("unknown country" in e for e in form.errors["recipient_country"])
    assert 'id="id_ship_method_error"' in page.content.decode()

    good = sandbox_order_data(org, "SBX-422-1")
    response = buyer.post(f"/orders/submissions/{submission.pk}/correct/", good)
    assert response.status_code == 302
    submission.refresh_from_db()
    assert submission.delivery_id != first.pk
    assert submission.delivery.idempotency_key != first.idempotency_key
    assert list(submission.previous_deliveries.all()) == [first]
    wait_for(
        lambda: state_of(submission.pk) == Delivery.Status.SUCCEEDED, 20, message="the corrected order to be submitted"
    )
    assert sandbox.stats(org.upstream_token)["orders_created"] == 1


def test_upstream_422_on_a_line_maps_to_that_lines_field(buyer, sandbox, celery_worker, fast_outbox):
    from orders import services

    org = buyer.org
    data = sandbox_order_data(org, "SBX-422-L")
    submission = OrderSubmission(
        purchase_order="PO",
        customer_order="SBX-422-L",
        ship_method_id=int(data["ship_method"]),
        importer_same_as_recipient=True,
        **{k: v for k, v in data.items() if k.startswith("recipient_")},
    )
    lines = [
        {"product_code": data["lines-0-product_code"], "quantity": 1, "customs_declared_value": 1},
        {"product_code": data["lines-1-product_code"], "quantity": 0, "customs_declared_value": 1},
    ]
    services.submit(org, None, submission, lines)  # past the form: only the upstream checks it
    wait_for(lambda: state_of(submission.pk) == Delivery.Status.REJECTED, 20, message="the order to be rejected")
    page = buyer.get(f"/orders/submissions/{submission.pk}/correct/")
    formset = page.context["formset"]
    assert not formset.forms[0].errors
    assert any("must be at least 1" in e for e in formset.forms[1].errors["quantity"]) or any(
        "positive whole number" in e for e in formset.forms[1].errors["quantity"]
    )
    assert "lines.1.quantity" in Delivery.objects.get(pk=submission.delivery_id).field_errors


def test_duplicate_customer_order_of_our_own_lost_write_is_reconciled(buyer, sandbox, celery_worker, fast_outbox):
    from orders.services import build_payload
    from upstream.client import UpstreamClient

    org = buyer.org
    submission = submit(buyer, "SBX-409-1")
    wait_for(lambda: state_of(submission.pk) == Delivery.Status.SUCCEEDED, 20, message="the order to be submitted")
    upstream_id = OrderSubmission.objects.get(pk=submission.pk).upstream_id

    # Our earlier write landed but its record (and key) was lost: the same order goes out with a new key.
    from orders import services

    again = OrderSubmission.objects.get(pk=submission.pk)
    lines = [
        {"product_code": ln.product_code, "quantity": ln.quantity, "customs_declared_value": ln.customs_declared_value}
        for ln in again.lines.all()
    ]
    OrderSubmission.objects.filter(pk=again.pk).update(customer_order="SBX-409-1-old")
    Order.objects.filter(organization=org, upstream_id=upstream_id).update(customer_order="renamed")
    clone = OrderSubmission.objects.get(pk=again.pk)
    clone.pk = None
    clone.delivery = None
    clone.upstream_id = None
    clone.customer_order = "SBX-409-1"
    services.submit(org, None, clone, lines)
    wait_for(lambda: state_of(clone.pk) == Delivery.Status.SUCCEEDED, 20, message="the duplicate to be reconciled")
    clone.refresh_from_db()
    assert clone.upstream_id == upstream_id
    assert "reconciled" in clone.delivery.last_error
    assert sandbox.stats(org.upstream_token)["orders_created"] == 1

    # A different order under a number the upstream already has is refused onto customer_order.
    with UpstreamClient(org) as client:
        payload = build_payload(clone, list(clone.lines.all()), org)
        payload.update(customer_order="SBX-409-2", purchase_order="someone else's")
        client.post("/v2/customer_order_submissions", payload)
    other = submit(buyer, "SBX-409-2")
    wait_for(lambda: state_of(other.pk) == Delivery.Status.REJECTED, 20, message="the conflicting order to be rejected")
    page = buyer.get(f"/orders/submissions/{other.pk}/correct/")
    assert page.context["form"].errors["customer_order"]


class DeliveryStates:
    """Rendered lazily in a failure message: each delivery's status, attempts and next attempt."""

    def __init__(self, subs):
        self.ids = [s.delivery_id for s in subs]

    def __str__(self):
        from django.utils import timezone

        now = timezone.now()
        return "every order to be submitted; deliveries: " + "; ".join(
            f"#{d.pk} {d.status} attempts={d.attempts} due_in={(d.next_attempt_at - now).total_seconds():.1f}s "
            f"lease={d.lease_until}"
            for d in Delivery.objects.filter(pk__in=self.ids)
        )
