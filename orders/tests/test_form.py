"""The order form: every field rule with its message next to the field, saved in one transaction."""

from __future__ import annotations

import json

import pytest

from conftest import make_member
from orders.models import OrderSubmission
from outbox.models import Delivery

from .conftest import order_data

URL = "/orders/new/"


def post(client, **overrides):
    return client.post(URL, order_data(**overrides))


def errors_of(response):
    form, formset = response.context["form"], response.context["formset"]
    return form.errors, [f.errors for f in formset.forms], formset.non_form_errors()


def test_valid_order_saves_submission_lines_and_delivery_together(
    client_alice, reference_a, alice, django_capture_on_commit_callbacks, monkeypatch
):
    with django_capture_on_commit_callbacks() as callbacks:
        response = post(client_alice)
    submission = OrderSubmission.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/orders/submissions/{submission.pk}/"
    assert submission.organization == reference_a and submission.created_by == alice
    assert submission.ship_method_name == "FedEx Ground"
    assert submission.importer_name == "John L. Doe"  # copied from the recipient
    assert [(ln.product_code, ln.quantity) for ln in submission.lines.all()] == [("SKU-100", 2), ("SKU-200", 1)]
    delivery = submission.delivery
    assert delivery.kind == "order.create" and delivery.method == "POST"
    assert delivery.path == "/v2/customer_order_submissions" and delivery.status == "queued"
    payload = json.loads(delivery.body)
    assert payload["organization_id"] == 1001
    assert payload["customer_order"] == "ACME-TEST-0001" and payload["ship_method_id"] == 12
    assert payload["recipient"]["address_2"] is None and payload["recipient"]["country"] == "CA"
    assert payload["importer_of_record"]["name"] == "John L. Doe"
    assert payload["lines"] == [
        {"product_code": "SKU-100", "quantity": 2, "customs_declared_value": 123.4},
        {"product_code": "SKU-200", "quantity": 1, "customs_declared_value": 50.0},
    ]
    # Handed to a worker only once committed: exactly once, by one of the callbacks that wait for the commit
    # (others wait there too, e.g. the home dashboard's tallies marking themselves stale).
    handed: list[tuple[str, int]] = []
    monkeypatch.setattr("portal.dispatch.hand_over", lambda channel, pk, countdown=None: handed.append((channel, pk)))
    for callback in callbacks:
        callback()
    assert [h for h in handed if h[0] == "outbox"] == [("outbox", delivery.pk)]


def test_form_suggests_a_free_customer_order_number_and_lists_choices(client_alice, reference_a):
    response = client_alice.get(URL)
    form = response.context["form"]
    suggested = form.initial["customer_order"]
    assert suggested.startswith("ACME-") and suggested.endswith("-0001")
    assert ("12", "FedEx Ground (FedEx)") in form.fields["ship_method"].choices
    assert ("CA", "Canada (CA)") in form.fields["recipient_country"].choices
    assert b"SKU-200" in response.content  # the catalog datalist


@pytest.mark.parametrize(
    "field,value,message",
    [
        ("recipient_address_1", "x" * 36, "at most 35 characters"),
        ("recipient_address_2", "y" * 40, "at most 35 characters"),
        ("recipient_name", "", "This field is required."),
        ("recipient_phone", "", "This field is required."),
        ("recipient_city", "", "This field is required."),
        ("recipient_zip", "", "This field is required."),
        ("recipient_country", "FR", "Select a valid choice"),
        ("recipient_email", "not-an-email", "Enter a valid email address."),
        ("ship_method", "999", "Select a valid choice"),
        ("purchase_order", "", "This field is required."),
        ("customer_order", "", "This field is required."),
    ],
)
def test_each_order_field_rule_shows_its_message_next_to_the_field(client_alice, reference_a, field, value, message):
    response = post(client_alice, **{field: value})
    assert response.status_code == 200
    form_errors, _, _ = errors_of(response)
    assert any(message in e for e in form_errors[field]), form_errors
    assert f'id="id_{field}_error"'.encode() in response.content
    assert not OrderSubmission.objects.exists() and not Delivery.objects.exists()


def test_vanished_ship_method_is_refused(client_alice, reference_a):
    from django.utils import timezone

    from mirror.models import ShipMethod

    ShipMethod.objects.filter(upstream_id=24).update(vanished_at=timezone.now())
    form_errors, _, _ = errors_of(post(client_alice, ship_method="24"))
    assert "ship_method" in form_errors


def test_importer_fields_are_required_unless_same_as_recipient(client_alice, reference_a):
    response = post(client_alice, importer_same_as_recipient=None, importer_name="Max Power")
    form_errors, _, _ = errors_of(response)
    for name in ("importer_address_1", "importer_city", "importer_zip", "importer_country", "importer_phone"):
        assert name in form_errors
    assert "importer_name" not in form_errors
    long = post(
        client_alice,
        importer_same_as_recipient=None,
        importer_name="Max",
        importer_phone="1",
        importer_address_1="z" * 36,
        importer_city="M",
        importer_zip="L5L",
        importer_country="CA",
    )
    assert errors_of(long)[0]["importer_address_1"] == ["at most 35 characters (this one has 36)"]


@pytest.mark.parametrize(
    "field,value,message",
    [
        ("quantity", "0", "Quantity must be a positive whole number."),
        ("quantity", "-3", "Quantity must be a positive whole number."),
        ("quantity", "1.5", "Quantity must be a positive whole number."),
        ("quantity", "", "This field is required."),
        ("customs_declared_value", "-0.01", "The value must be zero or more."),
        ("customs_declared_value", "abc", "Enter a number."),
        ("product_code", "NOT-IN-CATALOG", "NOT-IN-CATALOG is not in your catalog"),
    ],
)
def test_each_line_rule_shows_its_message_next_to_the_lines_field(client_alice, reference_a, field, value, message):
    response = post(client_alice, **{f"lines-1-{field}": value})
    _, line_errors, _ = errors_of(response)
    assert line_errors[0] == {}
    assert any(message in e for e in line_errors[1][field]), line_errors
    assert f'id="id_lines-1-{field}_error"'.encode() in response.content
    assert not OrderSubmission.objects.exists()


def test_an_order_needs_at_least_one_line(client_alice, reference_a):
    response = post(client_alice, **{"lines-0-DELETE": "on", "lines-1-DELETE": "on"})
    _, _, non_form = errors_of(response)
    assert "Add at least one line." in non_form
    assert not OrderSubmission.objects.exists()


def test_removed_line_is_not_submitted_even_when_invalid(client_alice, reference_a):
    post(client_alice, **{"lines-1-DELETE": "on", "lines-1-quantity": "oops"})
    assert list(OrderSubmission.objects.get().lines.values_list("product_code", flat=True)) == ["SKU-100"]


def test_customer_order_is_unique_in_the_organization_only(client_alice, reference_a, org_b, bob, client_bob):
    from .conftest import seed_reference

    assert post(client_alice).status_code == 302
    form_errors, _, _ = errors_of(post(client_alice, customer_order="acme-test-0001"))
    assert "used by another order" in form_errors["customer_order"][0]
    seed_reference(org_b)
    assert post(client_bob).status_code == 302  # the same number in another organization is fine


def test_order_form_is_for_buyers(client, reference_a):
    viewer = make_member("vic", reference_a, roles=["viewer"])
    client.force_login(viewer)
    assert client.get(URL).status_code == 403
    assert client.post(URL, order_data()).status_code == 403
    assert not OrderSubmission.objects.exists()


def test_catalog_search_answers_matching_options_of_the_organization(client_alice, reference_a, org_b):
    from .conftest import seed_reference

    seed_reference(org_b, ship_methods=(), countries=(), skus=(("GLOBEX-SKU-1", "1"),))
    html = client_alice.get("/orders/catalog-search/", {"q": "sku-2"}).content.decode()
    assert 'value="SKU-200"' in html and "SKU-100" not in html
    assert "GLOBEX" not in client_alice.get("/orders/catalog-search/", {"q": "SKU"}).content.decode()
