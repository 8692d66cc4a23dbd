"""The orders list (mirror + local rows), an order's page, order again, e-mails and the CSV upload."""

from __future__ import annotations

import csv
import io

import pytest
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from accounts.models import Membership
from mirror.models import Invoice, Order
from orders.mirror_apply import apply_order_payload
from orders.models import OrderNotification, OrderSubmission
from outbox import kinds
from outbox.models import Delivery, DeliveryAttempt
from outbox.services import _record
from upstream.records import OrderStatus

from .conftest import order_data


def shipped_payload(upstream_id, customer_order, status="Shipped", updated="2026-11-22T12:00:00Z", **extra):
    payload = {
        "id": upstream_id,
        "customer_order": customer_order,
        "purchase_order": "PO-9",
        "status": status,
        "ship_method_id": 12,
        "ship_method": "FedEx Ground",
        "recipient": {"name": "Rita Recipient", "country": "CA", "address_1": "1 Main"},
        "importer_of_record": {"name": "Ivan Importer", "country": "CA"},
        "lines": [
            {
                "product_code": "SKU-100",
                "quantity": 2,
                "customs_declared_value": 10.5,
                "serial_numbers": ["SN-A", "SN-B"] if status == "Shipped" else [],
            }
        ],
        "created_at": "2026-11-20T09:00:00Z",
        "updated_at": updated,
    }
    if status == "Shipped":
        payload["tracking_numbers"] = [{"tracking_number": "1ZTRACK0001", "weight": 8}]
        payload["invoices"] = [{"invoice_number": 750001}]
    payload.update(extra)
    return payload


def submit(client, **overrides):
    response = client.post("/orders/new/", order_data(**overrides))
    assert response.status_code == 302, response.context["form"].errors if response.context else response
    return OrderSubmission.objects.get(customer_order=overrides.get("customer_order", "ACME-TEST-0001"))


def succeed(submission, body):
    """What the outbox worker records when the upstream answers 201 (the order.create handlers run)."""
    delivery = Delivery.objects.get(pk=submission.delivery_id)
    attempt = DeliveryAttempt(delivery=delivery, number=1, started_at=timezone.now())
    _record(delivery, kinds.get("order.create"), attempt, {"status": "succeeded", "code": 201, "body": body})


def retrying(submission, error="HTTP 503"):
    """What the outbox worker records when the upstream answers 503 (the delivery will be retried)."""
    delivery = Delivery.objects.get(pk=submission.delivery_id)
    attempt = DeliveryAttempt(delivery=delivery, number=1, started_at=timezone.now())
    _record(delivery, kinds.get("order.create"), attempt, {"status": "retrying", "code": 503, "error": error})


# -- list ---------------------------------------------------------------------------------------
@pytest.fixture
def listed(client_alice, reference_a, org_b):
    local = submit(client_alice, customer_order="LOCAL-1", purchase_order="PO-LOCAL")
    mirrored = submit(client_alice, customer_order="MIRRORED-1", purchase_order="PO-M")
    succeed(mirrored, shipped_payload(250010, "MIRRORED-1", status="Pending"))
    apply_order_payload(
        reference_a,
        shipped_payload(
            250011, "SHIPPED-1", purchase_order="PO-S", ship_method_id=24, created_at="2026-11-01T08:00:00Z"
        ),
        "sync",
    )
    apply_order_payload(org_b, shipped_payload(250099, "GLOBEX-1"), "sync")
    retrying(local)
    return local, mirrored


def names(response):
    return [row["customer_order"] for row in response.context["page"].rows]


def test_list_shows_mirror_orders_and_unmirrored_submissions_of_the_organization_only(client_alice, listed):
    response = client_alice.get("/orders/")
    assert response.status_code == 200
    assert sorted(names(response)) == ["LOCAL-1", "MIRRORED-1", "SHIPPED-1"]  # MIRRORED-1 once, no GLOBEX
    statuses = {row["customer_order"]: row["status"] for row in response.context["page"].rows}
    assert statuses == {
        "LOCAL-1": Delivery.Status.RETRYING,
        "MIRRORED-1": OrderStatus.PENDING,
        "SHIPPED-1": OrderStatus.SHIPPED,
    }
    local, _mirrored = listed
    html = response.content.decode()
    assert f"/orders/submissions/{local.pk}/" in html
    assert f"/orders/{Order.objects.get(upstream_id=250010).pk}/" in html


@pytest.mark.parametrize(
    "params,expected",
    [
        ({"status": "retrying"}, ["LOCAL-1"]),
        ({"status": [OrderStatus.SHIPPED, OrderStatus.PENDING]}, ["MIRRORED-1", "SHIPPED-1"]),
        ({"purchase_order": "po-s"}, ["SHIPPED-1"]),
        ({"customer_order": "mirr"}, ["MIRRORED-1"]),
        ({"ship_method": "24"}, ["SHIPPED-1"]),
        ({"tracking_number": "1ZTRACK"}, ["SHIPPED-1"]),
        ({"product_code": "SKU-200"}, ["LOCAL-1"]),  # only on the local submission's lines
        ({"q": "1ztrack0001"}, ["SHIPPED-1"]),
        ({"q": "local"}, ["LOCAL-1"]),
        ({"q": "250010"}, ["MIRRORED-1"]),
        ({"created_after": "2026-10-31", "created_before": "2026-11-02"}, ["SHIPPED-1"]),
    ],
)
def test_list_filters(client_alice, listed, params, expected):
    assert sorted(names(client_alice.get("/orders/", params))) == expected


def test_list_sorts_by_any_column_and_exports_the_filtered_rows(client_alice, listed):
    asc = names(client_alice.get("/orders/", {"sort": "customer_order"}))
    assert asc == sorted(asc)
    assert names(client_alice.get("/orders/", {"sort": "-customer_order"})) == sorted(asc, reverse=True)
    for column in ("purchase_order", "status", "upstream_id", "ship_method", "recipient_name", "updated_at"):
        assert client_alice.get("/orders/", {"sort": column}).status_code == 200
    response = client_alice.get(
        "/orders/",
        {"status": [OrderStatus.SHIPPED, Delivery.Status.RETRYING], "export": "csv", "sort": "customer_order"},
    )
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[0][:3] == ["Customer order", "Purchase order", "Status"]
    assert [r[0] for r in rows[1:-1]] == ["LOCAL-1", "SHIPPED-1"]
    assert rows[-1] == ["# 2 rows"]
    assert rows[2][2] == "Shipped"


# -- the order's page ------------------------------------------------------------------------------
def test_order_page_shows_history_parties_lines_serials_tracking_invoices_and_attempts(client_alice, reference_a):
    submission = submit(client_alice, customer_order="PAGE-1")
    succeed(submission, shipped_payload(250020, "PAGE-1", status="Pending", updated="2026-11-22T10:00:00Z"))
    apply_order_payload(
        reference_a, shipped_payload(250020, "PAGE-1", status="Released", updated="2026-11-22T11:00:00Z"), "webhook"
    )
    apply_order_payload(reference_a, shipped_payload(250020, "PAGE-1", updated="2026-11-22T12:00:00Z"), "webhook")
    now = timezone.now()
    invoice = Invoice.objects.create(
        organization=reference_a,
        upstream_id=750001,
        order_id=250020,
        total="21.00",
        raw={},
        content_hash="x",
        first_seen_at=now,
        changed_at=now,
    )
    order = Order.objects.get(upstream_id=250020)
    response = client_alice.get(f"/orders/{order.pk}/")
    html = response.content.decode()
    page = response.context["page"]
    assert [e.status for e in page.events] == ["Pending", "Released", "Shipped"]
    assert "Rita Recipient" in html and "Ivan Importer" in html
    assert "1ZTRACK0001" in html and "FedEx" in html
    for serial in ("SN-A", "SN-B"):  # each serial offers "Request RMA" to a member with the service role
        assert (
            f'href="/rmas/new/?serial={serial}" title="Request an RMA for {serial}" class="serial-rma">{serial}</a>'
            in html
        )
    assert f'href="/invoices/{invoice.pk}/">Invoice 750001</a>' in html and "21.00" in html  # the invoice's page
    assert page.submission == submission
    assert len(page.attempts) == 1
    assert "hx-trigger" not in html  # shipped: the page stops polling
    # the submission's own URL shows the same order
    assert "1ZTRACK0001" in client_alice.get(f"/orders/submissions/{submission.pk}/").content.decode()


def test_retrying_submission_page_shows_next_attempt_and_last_error(client_alice, reference_a):
    submission = submit(client_alice, customer_order="RETRY-1")
    Delivery.objects.filter(pk=submission.delivery_id).update(
        status="retrying", attempts=2, last_error="upstream server error (HTTP 503)"
    )
    html = client_alice.get(f"/orders/submissions/{submission.pk}/").content.decode()
    assert "Retrying" in html and "Next attempt at" in html and "HTTP 503" in html
    assert 'hx-trigger="every 2s"' in html


def test_order_again_copies_an_order_into_a_new_form(client_alice, reference_a):
    apply_order_payload(reference_a, shipped_payload(250030, "OLD-1"), "sync")
    order = Order.objects.get(upstream_id=250030)
    response = client_alice.get("/orders/new/", {"again": order.pk})
    form, formset = response.context["form"], response.context["formset"]
    assert form.initial["purchase_order"] == "PO-9" and form.initial["recipient_name"] == "Rita Recipient"
    assert form.initial["importer_name"] == "Ivan Importer" and form.initial["ship_method"] == "12"
    assert form.initial["customer_order"] != "OLD-1"  # a fresh number
    assert formset.initial == [{"product_code": "SKU-100", "quantity": 2, "customs_declared_value": 10.5}]


def test_order_again_of_another_organizations_order_is_404(client_bob, reference_a, org_a):
    apply_order_payload(org_a, shipped_payload(250031, "OLD-2"), "sync")
    order = Order.objects.get(upstream_id=250031)
    assert client_bob.get("/orders/new/", {"again": order.pk}).status_code == 404


# -- e-mails ------------------------------------------------------------------------------------
def test_buyer_gets_one_email_per_status_with_tracking_numbers(
    client_alice, reference_a, alice, django_capture_on_commit_callbacks
):
    from orders.notifications import send

    submission = submit(client_alice, customer_order="MAIL-1")
    succeed(submission, shipped_payload(250040, "MAIL-1", status="Pending", updated="2026-11-22T10:00:00Z"))
    with django_capture_on_commit_callbacks(execute=False):
        for _ in range(2):  # a duplicate webhook changes nothing
            apply_order_payload(
                reference_a,
                shipped_payload(250040, "MAIL-1", status="Released", updated="2026-11-22T11:00:00Z"),
                "webhook",
            )
        apply_order_payload(reference_a, shipped_payload(250040, "MAIL-1", updated="2026-11-22T12:00:00Z"), "webhook")
    notes = {n.status: n for n in OrderNotification.objects.all()}
    assert set(notes) == {"Released", "Shipped"}
    for status in ("Released", "Shipped"):
        n = notes[status]
        assert send(n.pk) is True
        assert send(n.pk) is False  # sent once
    assert len(mail.outbox) == 2
    released, shipped = mail.outbox
    assert released.to == [alice.email] and "released" in released.subject
    assert "1ZTRACK0001" in shipped.body and "shipped" in shipped.subject


def test_no_email_when_the_buyer_turned_them_off(client_alice, reference_a, alice):
    Membership.objects.filter(user=alice).update(notify_order_updates=False)
    submission = submit(client_alice, customer_order="MAIL-2")
    succeed(submission, shipped_payload(250041, "MAIL-2", status="Pending", updated="2026-11-22T10:00:00Z"))
    apply_order_payload(reference_a, shipped_payload(250041, "MAIL-2"), "webhook")
    assert not OrderNotification.objects.exists()


# -- bulk upload --------------------------------------------------------------------------------
HEADER = (
    "customer_order,purchase_order,ship_method_id,recipient_name,recipient_phone,recipient_address_1,"
    "recipient_city,recipient_zip,recipient_country,product_code,quantity,customs_declared_value\n"
)


def upload(client, text):
    return client.post("/orders/upload/", {"file": SimpleUploadedFile("orders.csv", text.encode(), "text/csv")})


def test_upload_queues_every_order_grouped_by_customer_order(client_alice, reference_a):
    text = HEADER + (
        "BULK-1,PO-1,12,Ann,555,1 Road,Town,Z1,CA,SKU-100,2,10\n"
        "BULK-1,,,,,,,,,SKU-200,1,5.5\n"
        "BULK-2,PO-2,24,Bob,555,2 Road,City,Z2,US,SKU-300,4,0\n"
    )
    response = upload(client_alice, text)
    assert response.status_code == 302
    subs = {s.customer_order: s for s in OrderSubmission.objects.all()}
    assert set(subs) == {"BULK-1", "BULK-2"}
    assert [ln.product_code for ln in subs["BULK-1"].lines.all()] == ["SKU-100", "SKU-200"]
    assert subs["BULK-2"].importer_name == "Bob" and subs["BULK-1"].delivery.status == "queued"
    assert Delivery.objects.count() == 2


def test_upload_with_any_bad_row_queues_nothing_and_names_each_row(client_alice, reference_a):
    text = HEADER + (
        "BULK-1,PO-1,12,Ann,555,1 Road,Town,Z1,CA,SKU-100,2,10\n"
        "BULK-1,,,,,,,,,SKU-200,1.5,5\n"
        "BULK-2,PO-2,12,Bob,555," + "x" * 36 + ",City,Z2,CA,SKU-300,4,-1\n"
        "BULK-3,PO-3,12,Cy,555,3 Road,City,,CA,NOPE,1,1\n"
    )
    response = upload(client_alice, text)
    assert response.status_code == 200
    errors = response.context["errors"]
    assert "row 3: quantity must be a positive whole number" in errors
    assert any(e.startswith("row 4: recipient_address_1: at most 35 characters") for e in errors)
    assert any(e.startswith("row 4: customs_declared_value:") and "zero or more" in e for e in errors)
    assert "row 5: recipient_zip: This field is required" in errors
    assert any(e.startswith("row 5: product_code: NOPE is not in your catalog") for e in errors)
    assert not OrderSubmission.objects.exists() and not Delivery.objects.exists()
    assert "Nothing was queued" in response.content.decode()


def test_upload_refuses_a_file_without_the_required_columns(client_alice, reference_a):
    response = upload(client_alice, "customer_order,quantity\nX,1\n")
    assert response.context["errors"][0].startswith("row 1: missing column(s):")
    assert not OrderSubmission.objects.exists()


def test_status_seen_only_by_the_sync_is_recorded_and_mailed_by_the_redrive(
    client_alice, reference_a, django_capture_on_commit_callbacks
):
    from orders.mirror_apply import reconcile_from_mirror
    from orders.models import OrderEvent

    submission = submit(client_alice, customer_order="SYNC-1")
    succeed(submission, shipped_payload(250050, "SYNC-1", status="Pending", updated="2026-11-22T10:00:00Z"))
    # The sync engine rewrote the mirror row (no webhook arrived): it records no event itself.
    Order.objects.filter(upstream_id=250050).update(status="Shipped")
    with django_capture_on_commit_callbacks(execute=False):
        assert reconcile_from_mirror() == 1
        assert reconcile_from_mirror() == 0
    assert OrderEvent.objects.get(upstream_id=250050, status="Shipped").source == "sync"
    assert OrderNotification.objects.get(submission=submission).status == "Shipped"
