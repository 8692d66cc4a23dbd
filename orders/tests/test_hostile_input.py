"""Hostile and careless input on the order pages: a field error next to what caused it, never a 500."""

from __future__ import annotations

import time

import pytest
from django.db import IntegrityError, transaction

from orders.models import OrderSubmission
from outbox.models import Delivery
from upstream import limits
from upstream.records import to_decimal, to_int

from .test_form import errors_of, post
from .test_pages import HEADER, upload


@pytest.mark.parametrize("quantity", [str(2**63 - 1), str(10**20), "100001", "1" * 5000])
def test_an_absurd_quantity_is_a_field_error(client_alice, reference_a, quantity):
    response = post(client_alice, **{"lines-1-quantity": quantity})
    assert response.status_code == 200
    _, line_errors, _ = errors_of(response)
    assert line_errors[1]["quantity"], line_errors
    assert not OrderSubmission.objects.exists()


def test_the_largest_quantity_is_accepted(client_alice, reference_a):
    response = post(client_alice, **{"lines-1-quantity": str(limits.QUANTITY.high)})
    assert response.status_code == 302
    assert OrderSubmission.objects.get().lines.order_by("position")[1].quantity == limits.QUANTITY.high


@pytest.mark.parametrize("value", ["1e30", "10000000000", "NaN", "Infinity", "1e1000000"])
def test_an_absurd_amount_is_a_field_error(client_alice, reference_a, value):
    response = post(client_alice, **{"lines-1-customs_declared_value": value})
    assert response.status_code == 200
    assert errors_of(response)[1][1]["customs_declared_value"]
    assert not OrderSubmission.objects.exists()


def test_an_absurd_quantity_in_an_upload_is_a_row_error(client_alice, reference_a):
    text = HEADER + (
        "BULK-1,PO-1,12,Ann,555,1 Road,Town,Z1,CA,SKU-100,100000000000000000000,10\n"
        f"BULK-2,PO-2,12,Bob,555,2 Road,Town,Z1,CA,SKU-100,{2**63 - 1},10\n"
    )
    response = upload(client_alice, text)
    assert response.status_code == 200
    errors = response.context["errors"]
    assert any(e.startswith("row 2: quantity") and "100,000" in e for e in errors), errors
    assert any(e.startswith("row 3: quantity") and "100,000" in e for e in errors), errors
    assert not OrderSubmission.objects.exists() and not Delivery.objects.exists()


def test_an_upload_with_one_number_in_two_letter_cases_is_refused(client_alice, reference_a):
    text = HEADER + (
        "CASE-1,PO-1,12,Ann,555,1 Road,Town,Z1,CA,SKU-100,1,10\ncase-1,PO-2,12,Bob,555,2 Road,Town,Z1,CA,SKU-200,1,10\n"
    )
    response = upload(client_alice, text)
    assert response.status_code == 200
    assert any(
        e.startswith("row 3: customer_order: case-1 is the number of row 2 (CASE-1)")
        for e in response.context["errors"]
    )
    assert not OrderSubmission.objects.exists()


def test_an_upload_cannot_reuse_a_number_in_another_case(client_alice, reference_a):
    assert post(client_alice, customer_order="ONCE-1").status_code == 302
    response = upload(client_alice, HEADER + "once-1,PO-1,12,Ann,555,1 Road,Town,Z1,CA,SKU-100,1,10\n")
    assert any("once-1 is used by another order" in e for e in response.context["errors"])
    assert OrderSubmission.objects.count() == 1


def test_the_database_refuses_a_number_in_another_case(client_alice, reference_a):
    assert post(client_alice, customer_order="DB-1").status_code == 302
    first = OrderSubmission.objects.get()
    with pytest.raises(IntegrityError), transaction.atomic():
        OrderSubmission.objects.create(
            organization=first.organization, purchase_order="PO", customer_order="db-1", ship_method_id=12
        )


@pytest.mark.parametrize("q", ["²", "①", "²²²", "①②③", "١٢٣", str(2**64), "-1", "😀😀😀"])
def test_unicode_digits_and_huge_numbers_are_text_to_search(client_alice, reference_a, q):
    for params in ({"q": q}, {"q": q, "export": "csv"}):
        response = client_alice.get("/orders/", params)
        assert response.status_code == 200, (q, params)


@pytest.mark.parametrize(
    "params",
    [
        {"per_page": "1000000"},
        {"per_page": "-1"},
        {"sort": "raw; DROP TABLE x"},
        {"sort": "-" * 1000},
        {"tab": "<script>"},
        {"status": "nonsense"},
        {"created_after": "99999-99-99"},
        {"created_before": "0000-01-01"},
        {"ship_method": str(2**70)},
        {"after": "A" * 10000},
        {"before": "eyJ4Ijoy"},
        {"q": "x" * 100000},
        {"product_code": "\x00\x00\x00"},
    ],
)
def test_odd_list_parameters_never_fail_the_page(client_alice, reference_a, params):
    assert client_alice.get("/orders/", params).status_code == 200


def test_number_parsing_is_bounded_in_time():
    started = time.monotonic()
    assert to_int("1e1000000") is None and to_decimal("1e1000000") is None
    assert to_int("9" * 1_000_000) is None and to_decimal("9" * 1_000_000) is None
    assert to_int(2**63) is None and to_int(2**63 - 1) == 2**63 - 1
    assert to_decimal(float("inf")) is None and to_decimal("NaN") is None
    assert time.monotonic() - started < 0.1


@pytest.mark.parametrize(
    "content",
    [
        HEADER.encode() + b"BULK-1,PO-1,12,Ann,555,1 Road\rTown,Town,Z1,CA,SKU-100,1,10\n",
        HEADER.encode() + b'BULK-1,PO-1,12,"Ann' + b"x" * 200_000 + b'",555,1 Road,Town,Z1,CA,SKU-100,1,10\n',
        b'"customer_order\r,purchase_order\n',
    ],
    ids=["carriage return in a field", "a field past the csv module's limit", "broken header"],
)
def test_a_file_that_is_not_valid_csv_is_an_error_not_a_500(client_alice, reference_a, content):
    from django.core.files.uploadedfile import SimpleUploadedFile

    response = client_alice.post("/orders/upload/", {"file": SimpleUploadedFile("orders.csv", content, "text/csv")})
    assert response.status_code == 200
    errors = response.context["errors"]
    assert errors and all(e.startswith("row ") for e in errors), errors
    assert not OrderSubmission.objects.exists()
