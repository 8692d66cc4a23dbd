"""The RMA form: every field rule with its message next to the field, saved with its delivery in one
transaction; only the service role may request; another organization's RMA is a 404."""

from __future__ import annotations

import json

import pytest

from conftest import make_member
from outbox.models import Delivery
from rmas.models import RmaSubmission
from upstream import limits

from .conftest import mirrored_rma, rma_data

URL = "/rmas/new/"


def post(client, **overrides):
    return client.post(URL, rma_data(**overrides))


def test_a_valid_request_saves_the_submission_and_its_delivery_together(
    client_alice, alice, org_a, django_capture_on_commit_callbacks, monkeypatch
):
    with django_capture_on_commit_callbacks() as callbacks:
        response = post(client_alice, manufacturer_serial="  SN-1000-A  ")
    submission = RmaSubmission.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/rmas/submissions/{submission.pk}/"
    assert submission.organization == org_a and submission.created_by == alice
    delivery = submission.delivery
    assert delivery.kind == "rma.create" and delivery.method == "POST" and delivery.path == "/v2/rmas"
    assert json.loads(delivery.body) == {
        "problem": "Does not power on after the firmware update.",
        "request_type_id": 3,
        "manufacturer_serial": "SN-1000-A",
        "replacement_name": "Acme Receiving",
        "replacement_phone": "1-555-555-0100",
        "replacement_addr": "1 Dock Road\nToronto ON M5A 1A1\nCanada",
    }
    # Handed to a worker only once committed: exactly once, by one of the callbacks that wait for the commit
    # (others wait there too, e.g. the home dashboard's tallies marking themselves stale).
    handed: list[tuple[str, int]] = []
    monkeypatch.setattr("portal.dispatch.hand_over", lambda channel, pk, countdown=None: handed.append((channel, pk)))
    for callback in callbacks:
        callback()
    assert [h for h in handed if h[0] == "outbox"] == [("outbox", delivery.pk)]
    page = client_alice.get(response["Location"]).content.decode()
    assert "SN-1000-A" in page and "Queued" in page and "Does not power on" in page


@pytest.mark.parametrize(
    "field,value,message",
    [
        ("request_type", None, "This field is required."),
        ("request_type", "9", "Select a valid choice"),
        ("request_type", "²", "Select a valid choice"),
        ("manufacturer_serial", "", "This field is required."),
        ("manufacturer_serial", "   ", "This field is required."),
        ("manufacturer_serial", "S" * (limits.RMA_SERIAL + 1), "at most 50 characters"),
        ("problem", "", "This field is required."),
        ("problem", " \n ", "This field is required."),
        ("problem", "p" * (limits.NOTES + 1), "at most 2000 characters"),
        ("replacement_name", "", "This field is required."),
        ("replacement_name", "n" * (limits.SHORT_TEXT + 1), "at most 256 characters"),
        ("replacement_phone", "9" * (limits.SHORT_TEXT + 1), "at most 256 characters"),
        ("replacement_addr", "", "Depot Repair and Return ships to this destination"),
        ("replacement_addr", "a" * (limits.NOTES + 1), "at most 2000 characters"),
        ("manufacturer_serial", "SN\x00-1", "Null characters are not allowed."),
    ],
)
def test_each_field_rule_shows_its_message_next_to_the_field(client_alice, org_a, field, value, message):
    response = post(client_alice, **{field: value})
    assert response.status_code == 200
    errors = response.context["form"].errors
    assert any(message in e for e in errors.get(field, [])), errors
    assert f'id="id_{field}_error"' in response.content.decode()
    assert not RmaSubmission.objects.exists() and not Delivery.objects.exists()


@pytest.mark.parametrize("request_type", ["4", "5"])
def test_a_request_kept_in_stock_needs_no_replacement_address(client_alice, org_a, request_type):
    response = post(client_alice, request_type=request_type, replacement_addr="")
    assert response.status_code == 302
    assert json.loads(RmaSubmission.objects.get().delivery.body)["replacement_addr"] is None


def test_the_form_explains_each_request_type_and_takes_a_serial_from_the_link(client_alice, org_a):
    page = client_alice.get(URL + "?serial=SN-77%20X").content.decode()
    for label in (
        "Replacement Parts",
        "Advance System Replacement",
        "Depot Repair and Return",
        "Trial and Stock",
        "Repair and Stock",
    ):
        assert label in page
    assert "A replacement system ships first" in page
    assert 'value="SN-77 X"' in page


def test_without_the_service_role_a_member_gets_403_and_nothing_is_queued(client, org_a):
    buyer = make_member("betty", org_a, roles=["buyer"])
    client.force_login(buyer)
    assert client.get(URL).status_code == 403
    assert client.post(URL, rma_data()).status_code == 403
    assert not RmaSubmission.objects.exists() and not Delivery.objects.exists()


def test_another_organizations_rma_and_request_are_404(client_bob, alice, org_a):
    rma = mirrored_rma(org_a)
    assert client_bob.get(f"/rmas/{rma.pk}/").status_code == 404
    response = post(client_bob.__class__(), **{})  # anonymous: sent to sign in, nothing queued
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_a_refused_request_shows_the_upstreams_messages_on_its_fields(client_alice, alice, org_a):
    delivery = Delivery.objects.create(
        organization=org_a,
        kind="rma.create",
        method="POST",
        path="/v2/rmas",
        body="{}",
        status="rejected",
        field_errors={"manufacturer_serial": ["is not a serial we shipped"], "request_type_id": ["not for this item"]},
    )
    submission = RmaSubmission.objects.create(
        organization=org_a,
        request_type=2,
        manufacturer_serial="SN-9",
        problem="Fan noise",
        replacement_name="Ann",
        replacement_addr="1 Road",
        delivery=delivery,
        created_by=alice,
    )
    response = client_alice.get(f"/rmas/submissions/{submission.pk}/correct/")
    errors = response.context["form"].errors
    assert errors["manufacturer_serial"] == ["The upstream refused this: is not a serial we shipped"]
    assert errors["request_type"] == ["The upstream refused this: not for this item"]
    corrected = client_alice.post(
        f"/rmas/submissions/{submission.pk}/correct/", rma_data(manufacturer_serial="SN-10", request_type="2")
    )
    assert corrected.status_code == 302
    submission.refresh_from_db()
    assert submission.delivery_id != delivery.pk and submission.state == Delivery.Status.QUEUED
    assert list(submission.previous_deliveries.all()) == [delivery]
    assert json.loads(submission.delivery.body)["manufacturer_serial"] == "SN-10"
    assert submission.delivery.idempotency_key != delivery.idempotency_key


def test_the_rma_page_shows_one_timeline_in_time_order_and_the_days_open(client_alice, org_a):
    from datetime import date

    rma = mirrored_rma(
        org_a,
        closed=date(2026, 11, 12),
        notes=[
            ("result", "Replaced the PSU; passed burn-in.", 300),
            ("problem", "Does not power on.", 0),
            ("troubleshooting", "PSU dead on the bench.", 120),
        ],
    )
    page = client_alice.get(f"/rmas/{rma.pk}/").content.decode()
    problem, trouble, result = (page.index(t) for t in ("Does not power on.", "PSU dead", "Replaced the PSU"))
    assert problem < trouble < result
    assert 'class="note-troubleshooting"' in page and "Troubleshooting" in page
    assert 'id="rma-closed">2026-11-12<' in page and 'id="rma-days">10<' in page
    assert "/rmas/new/?serial=SN-1000-A" in page  # Request RMA from an RMA
