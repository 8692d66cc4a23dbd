"""Generated hostile input on every order entry point (hypothesis): the order form, the CSV upload
and the list's parameters. Never a 500 (the test client re-raises any exception), never a
partial write, and what is accepted fits its bounds."""

from __future__ import annotations

import csv
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from hypothesis import given
from hypothesis import strategies as st

from mirror.models import Order
from orders import rows
from orders.models import OrderSubmission, OrderSubmissionLine
from outbox.models import Delivery
from portal.lists import FORMULA_STARTS
from portal.tests.hostile import NASTY_TEXT, number_text, rolled_back, text
from upstream import limits

from .conftest import order_data
from .test_list import make_orders
from .test_pages import HEADER

FORM_FIELDS = sorted(order_data())
CELLS = {  # a valid value of each upload column, which a hostile one may replace
    "customer_order": "BULK-1",
    "purchase_order": "PO-1",
    "ship_method_id": "12",
    "recipient_name": "Ann",
    "recipient_phone": "555",
    "recipient_address_1": "1 Road",
    "recipient_city": "Town",
    "recipient_zip": "Z1",
    "recipient_country": "CA",
    "product_code": "SKU-100",
    "quantity": "2",
    "customs_declared_value": "10",
}
LIST_PARAMS = [
    "q",
    "status",
    "tab",
    "sort",
    "per_page",
    "after",
    "before",
    "last",
    "export",
    "created_after",
    "created_before",
    "purchase_order",
    "customer_order",
    "ship_method",
    "tracking_number",
    "product_code",
]
hostile = st.one_of(text, number_text)


def written() -> tuple[int, int, int]:
    return OrderSubmission.objects.count(), OrderSubmissionLine.objects.count(), Delivery.objects.count()


def assert_within_bounds(submissions) -> None:
    """Everything an accepted submission holds is within the bounds the form and upload promise."""
    for submission in submissions:
        assert submission.delivery is not None
        assert 0 < len(submission.customer_order) <= limits.ORDER_NUMBER
        lines = list(submission.lines.all())
        assert 0 < len(lines) <= limits.LINES_PER_ORDER
        for line in lines:
            assert line.quantity in limits.QUANTITY
            assert line.customs_declared_value is None or line.customs_declared_value in limits.MONEY


def test_the_order_form_takes_any_input_without_a_500_or_a_partial_write(client_alice, reference_a):
    seen = set()

    @given(st.dictionaries(st.sampled_from(FORM_FIELDS), hostile, min_size=1, max_size=6))
    def check(overrides):
        with rolled_back():
            before = written()
            response = client_alice.post("/orders/new/", order_data(**overrides))
            assert response.status_code in (200, 302)
            seen.add(response.status_code)
            if response.status_code == 200:  # refused: a message on the page, nothing written
                assert written() == before
                assert b"errorlist" in response.content or b"error" in response.content
            else:
                after = written()
                assert after[0] == before[0] + 1 and after[2] == before[2] + 1
                assert_within_bounds(OrderSubmission.objects.order_by("-pk")[:1])

    check()
    assert seen == {200, 302}  # the examples reached both sides: refused and accepted


def upload(client, content: bytes):
    return client.post("/orders/upload/", {"file": SimpleUploadedFile("orders.csv", content, "text/csv")})


def test_the_csv_upload_takes_any_file_without_a_500_or_a_partial_write(client_alice, reference_a):
    row = st.fixed_dictionaries({}, optional=dict.fromkeys(CELLS, hostile)).map(
        lambda changed: [changed.get(column, valid) for column, valid in CELLS.items()]
    )
    files = st.one_of(
        st.lists(row, min_size=1, max_size=4).map(_csv),
        st.binary(max_size=400).map(lambda junk: HEADER.encode() + junk),
        st.binary(max_size=400),
    )

    seen = set()

    @given(files)
    def check(content):
        with rolled_back():
            before = written()
            response = upload(client_alice, content)
            assert response.status_code in (200, 302)
            seen.add(response.status_code)
            if response.status_code == 200:  # refused: the errors are listed, nothing written
                assert written() == before
                assert response.context["errors"] or response.context["form"].errors
            else:
                assert written()[0] > before[0]
                assert_within_bounds(OrderSubmission.objects.order_by("-pk")[: written()[0] - before[0]])

    check()
    assert seen == {200, 302}


def _csv(rows: list[list[str]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CELLS)
    writer.writerows(rows)
    return out.getvalue().encode("utf-8", errors="surrogatepass")


@pytest.fixture
def hostile_rows(org_a):
    """Orders whose texts are formulas and odd characters, for the list and its export."""
    values = [v for v in NASTY_TEXT if v and "\x00" not in v]
    make_orders(org_a, len(values))
    for n, value in enumerate(values):
        Order.objects.filter(organization=org_a, upstream_id=300000 + n).update(
            recipient_name=value[:255], ship_method=value[:100], purchase_order=value[:100]
        )
    rows.rebuild(org_a.pk)


def test_the_orders_list_and_export_take_any_parameters_without_a_500(client_alice, hostile_rows):
    seen = set()

    @given(st.dictionaries(st.sampled_from(LIST_PARAMS), hostile, max_size=5), st.booleans())
    def check(params, export):
        if export:
            params = {**params, "export": "csv"}
        response = client_alice.get("/orders/", params)
        assert response.status_code in (200, 302)
        if response.status_code == 200 and response.get("Content-Type", "").startswith("text/csv"):
            text = b"".join(response.streaming_content).decode()
            rows = list(csv.reader(io.StringIO(text)))
            assert rows[-1][0].startswith("# ") and rows[-1][0].endswith(" rows")
            assert not [cell for r in rows[1:-1] for cell in r if cell[:1] in FORMULA_STARTS]
            seen.add("csv" if len(rows) > 2 else "empty csv")
        elif response.status_code == 200:
            assert b"<table" in response.content or b"No orders" in response.content
            seen.add("page")

    check()
    assert {"csv", "page"} <= seen


def test_saving_list_settings_takes_any_post_without_a_500(client_alice, org_a):
    fields = st.dictionaries(st.sampled_from(["columns", "per_page", "query"]), hostile, max_size=3)

    @given(fields)
    def check(data):
        with rolled_back():
            response = client_alice.post("/orders/", data)
            assert response.status_code == 302
            assert response["Location"].startswith("/orders/")
            assert "\n" not in response["Location"] and "\r" not in response["Location"]

    check()
