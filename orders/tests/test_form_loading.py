"""The order form before the integrator's reference data has arrived: it says what it is still waiting
for instead of offering empty lists, and takes no order that could not be valid yet."""

from __future__ import annotations

from django.utils import timezone

from mirror.models import Country
from orders.models import OrderSubmission
from outbox.models import Delivery
from sync.models import SyncRun

from .conftest import order_data, sandbox_order_data, seed_reference, sync_reference

URL = "/orders/new/"
LOADING = "Still loading from the integrator…"


def test_a_new_organization_s_form_says_it_is_still_loading_and_what_is_missing(client_alice, org_a):
    response = client_alice.get(URL)
    assert response.status_code == 200
    page = response.content.decode()
    assert 'id="reference-gaps"' in page and LOADING in page
    assert "Its ship methods, countries and catalog items have not arrived yet" in page
    form = response.context["form"]
    assert form.fields["ship_method"].choices == [("", LOADING)]
    assert form.fields["recipient_country"].choices == [("", LOADING)]
    assert form.fields["ship_method"].widget.attrs["disabled"]
    assert 'id="submit-order" disabled' in page


def test_no_order_is_taken_while_loading(client_alice, org_a):
    response = client_alice.post(URL, order_data())
    assert response.status_code == 200 and LOADING in response.content.decode()
    assert 'role="alert"' in response.content.decode()
    assert not OrderSubmission.objects.exists() and not Delivery.objects.exists()


def test_only_what_is_missing_is_named(client_alice, org_a):
    seed_reference(org_a, countries=())
    response = client_alice.get(URL)
    page = response.content.decode()
    assert "Its countries have not arrived yet" in page
    assert ("12", "FedEx Ground (FedEx)") in response.context["form"].fields["ship_method"].choices
    response = client_alice.post(URL, order_data())
    assert response.status_code == 200 and not OrderSubmission.objects.exists()


def test_a_failed_first_sync_says_it_is_retried(client_alice, org_a):
    seed_reference(org_a, countries=())
    SyncRun.objects.create(
        organization=org_a, resource="countries", status="failed", error="ConnectError", finished_at=timezone.now()
    )
    page = client_alice.get(URL).content.decode()
    assert LOADING in page and "The last attempt failed and is retried on its own" in page


def test_a_collection_synced_empty_is_the_integrator_s_to_fill(client_alice, org_a):
    seed_reference(org_a, ship_methods=())
    SyncRun.objects.create(organization=org_a, resource="ship_methods", status="success", finished_at=timezone.now())
    response = client_alice.get(URL)
    page = response.content.decode()
    assert LOADING not in page
    assert "The integrator lists no ship methods for your organization" in page
    assert response.context["form"].fields["ship_method"].choices == [("", "None offered by the integrator")]


def test_a_vanished_list_counts_as_missing(client_alice, org_a):
    seed_reference(org_a)
    Country.objects.for_org(org_a).update(vanished_at=timezone.now())
    assert "Its countries have not arrived yet" in client_alice.get(URL).content.decode()


def test_once_the_reference_data_has_synced_the_form_offers_it_and_takes_the_order(client, sandbox_org):
    from conftest import make_member

    client.force_login(make_member("nina", sandbox_org, roles=["buyer"]))
    assert LOADING in client.get(URL).content.decode()
    sync_reference(sandbox_org)
    response = client.get(URL)
    assert 'id="reference-gaps"' not in response.content.decode()
    assert len(response.context["form"].fields["ship_method"].choices) > 1
    response = client.post(URL, sandbox_order_data(sandbox_org, "LOADED-1"))
    assert response.status_code == 302 and OrderSubmission.objects.filter(customer_order="LOADED-1").exists()


def test_a_rejected_order_cannot_be_resent_while_its_lists_are_missing(client_alice, org_a, alice):
    seed_reference(org_a)
    client_alice.post(URL, order_data())
    submission = OrderSubmission.objects.get()
    Delivery.objects.filter(pk=submission.delivery_id).update(status="rejected")
    Country.objects.for_org(org_a).update(vanished_at=timezone.now())
    response = client_alice.post(f"/orders/submissions/{submission.pk}/correct/", order_data())
    assert response.status_code == 200 and "Its countries have not arrived yet" in response.content.decode()
    assert Delivery.objects.count() == 1  # not sent again
