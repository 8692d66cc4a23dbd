"""Every portal view that takes an id answers 404 to a member of another organization.

ID_VIEWS lists, for each URL name whose pattern takes an argument, how to make an object
of organization A and the URL kwargs that point at it. `test_every_id_view_is_listed`
fails when a new view takes an id without being listed here, so no view can skip the
cross-organization check.
"""

from __future__ import annotations

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from accounts.models import Membership

# Views that answer a GET with something other than the page: a redirect, or 405 (POST only).
OWN_STATUS = {
    "savedviews:open": 302,
    "savedviews:delete": 405,
    "automation:queue": 302,
    "automation:submission": 302,
    "automation:act": 405,
}
POST_ONLY = {"savedviews:delete", "automation:act"}

# URL names whose arguments are not organization objects.
NOT_ORG_OBJECTS = {"password_reset_confirm"}


def _membership_of_alice(alice, org_a):
    return {"pk": Membership.objects.get(user=alice, organization=org_a).pk}


def _mirror_order_of_org_a(alice, org_a):
    from django.utils import timezone

    from mirror.models import Order

    now = timezone.now()
    order = Order.objects.create(
        organization=org_a,
        upstream_id=250001,
        raw={"id": 250001},
        content_hash="x",
        first_seen_at=now,
        changed_at=now,
        customer_order="ACME-1",
        status="Pending",
    )
    return {"pk": order.pk}


def _submission_of_org_a(alice, org_a, delivery_status="queued"):
    from orders.models import OrderSubmission
    from outbox.models import Delivery

    delivery = Delivery.objects.create(
        organization=org_a,
        kind="order.create",
        method="POST",
        path="/v2/customer_order_submissions",
        body="{}",
        status=delivery_status,
        field_errors={"recipient.zip": ["required"]},
    )
    submission = OrderSubmission.objects.create(
        organization=org_a,
        purchase_order="PO",
        customer_order=f"ACME-{delivery_status}",
        ship_method_id=12,
        recipient_name="J",
        recipient_phone="1",
        recipient_address_1="A",
        recipient_city="C",
        recipient_zip="Z",
        recipient_country="CA",
        importer_same_as_recipient=True,
        delivery=delivery,
        created_by=alice,
    )
    return {"pk": submission.pk}


def _rejected_submission_of_org_a(alice, org_a):
    return _submission_of_org_a(alice, org_a, delivery_status="rejected")


def _mirror_rma_of_org_a(alice, org_a):
    from django.utils import timezone

    from mirror.models import Rma

    now = timezone.now()
    rma = Rma.objects.create(
        organization=org_a,
        upstream_id=50001,
        raw={"id": 50001},
        content_hash="x",
        first_seen_at=now,
        changed_at=now,
        subject="Depot Repair and Return",
        manufacturer_serial="SN-A-1",
        status_name="Not Received",
    )
    return {"pk": rma.pk}


def _rma_submission_of_org_a(alice, org_a, delivery_status="queued"):
    from outbox.models import Delivery
    from rmas.models import RmaSubmission

    delivery = Delivery.objects.create(
        organization=org_a,
        kind="rma.create",
        method="POST",
        path="/v2/rmas",
        body="{}",
        status=delivery_status,
        field_errors={"manufacturer_serial": ["at most 50 characters"]},
    )
    submission = RmaSubmission.objects.create(
        organization=org_a,
        request_type=3,
        manufacturer_serial="SN-A-1",
        problem="Dead on arrival",
        replacement_name="Ann",
        replacement_addr="1 Road",
        delivery=delivery,
        created_by=alice,
    )
    return {"pk": submission.pk}


def _rejected_rma_submission_of_org_a(alice, org_a):
    return _rma_submission_of_org_a(alice, org_a, delivery_status="rejected")


def _mirror_invoice_of_org_a(alice, org_a):
    from django.utils import timezone

    from mirror.models import Invoice

    now = timezone.now()
    invoice = Invoice.objects.create(
        organization=org_a,
        upstream_id=750001,
        raw={"id": 750001},
        content_hash="x",
        first_seen_at=now,
        changed_at=now,
        order_id=250001,
        total="12.50",
    )
    return {"pk": invoice.pk}


def _mirror_item_of_org_a(alice, org_a):
    from django.utils import timezone

    from mirror.models import Item

    now = timezone.now()
    item = Item.objects.create(
        organization=org_a,
        upstream_id=100001,
        raw={"id": 100001},
        content_hash="x",
        first_seen_at=now,
        changed_at=now,
        name="Rackmount 2U",
    )
    return {"pk": item.pk}


def _saved_view_of_alice(alice, org_a):
    from savedviews.models import SavedView

    return {"pk": SavedView.objects.create(organization=org_a, owner=alice, list_key="rmas", name="Mine").pk}


def _queue_of_org_a(alice, org_a):
    from automation import rows
    from automation.tests.conftest import mirrored_queue, mirrored_task

    queue = mirrored_queue(org_a, 90001)
    mirrored_task(org_a, 5000001, 90001, 1, serial="FG-ACME-1")
    rows.refresh(org_a.pk, queue_ids=[queue.pk])
    return queue


def _mirror_queue_of_org_a(alice, org_a):
    return {"pk": _queue_of_org_a(alice, org_a).pk}


def _queue_row_of_org_a(alice, org_a):
    from automation.models import QueueRow

    return {"pk": QueueRow.objects.get(queue=_queue_of_org_a(alice, org_a)).pk}


def _queue_submission_of_org_a(alice, org_a, delivery_status="queued"):
    from automation.models import QueueSubmission, QueueTaskRequest
    from outbox.models import Delivery

    delivery = Delivery.objects.create(
        organization=org_a,
        kind="automation.queue",
        method="POST",
        path="/v2/automation_queues",
        body="{}",
        status=delivery_status,
        field_errors={"ip_address": ["not reachable"]},
    )
    submission = QueueSubmission.objects.create(
        organization=org_a, manufacturer_serial="FG-ACME-2", ip_address="10.0.0.9", delivery=delivery, created_by=alice
    )
    QueueTaskRequest.objects.create(submission=submission, task_type_id=1, sequence=1)
    return {"pk": submission.pk}


def _rejected_queue_submission_of_org_a(alice, org_a):
    return _queue_submission_of_org_a(alice, org_a, delivery_status="rejected")


# url name -> factory(alice, org_a) returning reverse() kwargs for an object of org A.
ID_VIEWS = {
    "member_edit": _membership_of_alice,
    "orders:detail": _mirror_order_of_org_a,
    "orders:submission": _submission_of_org_a,
    "orders:submission_edit": _rejected_submission_of_org_a,
    "rmas:detail": _mirror_rma_of_org_a,
    "rmas:submission": _rma_submission_of_org_a,
    "rmas:submission_edit": _rejected_rma_submission_of_org_a,
    "savedviews:open": _saved_view_of_alice,
    "savedviews:delete": _saved_view_of_alice,
    "invoices:detail": _mirror_invoice_of_org_a,
    "inventory:item": _mirror_item_of_org_a,
    "automation:queue": _mirror_queue_of_org_a,
    "automation:submission": _queue_submission_of_org_a,
    "automation:submission_edit": _rejected_queue_submission_of_org_a,
    "automation:act": _queue_row_of_org_a,
}


def _id_url_names(resolver=None, prefix=""):
    resolver = resolver or get_resolver()
    for entry in resolver.url_patterns:
        if isinstance(entry, URLResolver):
            if entry.app_name == "admin" or entry.namespace == "admin":
                continue
            ns = f"{prefix}{entry.namespace}:" if entry.namespace else prefix
            yield from _id_url_names(entry, ns)
        elif (
            isinstance(entry, URLPattern) and entry.name and (entry.pattern.converters or "(?P<" in str(entry.pattern))
        ):
            yield prefix + entry.name


def test_every_id_view_is_listed():
    names = set(_id_url_names()) - NOT_ORG_OBJECTS
    missing = names - set(ID_VIEWS)
    assert not missing, f"views taking an id without a cross-organization test: {sorted(missing)}"


@pytest.mark.parametrize("url_name", sorted(ID_VIEWS))
def test_other_organizations_member_gets_404(url_name, alice, org_a, client_bob):
    url = reverse(url_name, kwargs=ID_VIEWS[url_name](alice, org_a))
    assert client_bob.get(url).status_code == (405 if url_name in POST_ONLY else 404)
    assert client_bob.post(url, {}).status_code == 404


@pytest.mark.parametrize("url_name", sorted(ID_VIEWS))
def test_own_organizations_member_gets_the_page(url_name, alice, org_a, client_alice):
    url = reverse(url_name, kwargs=ID_VIEWS[url_name](alice, org_a))
    assert client_alice.get(url).status_code == OWN_STATUS.get(url_name, 200)
