"""Typed records parse the vendor docs' examples and tolerate what the contract allows."""

from __future__ import annotations

import csv
import dataclasses
import io
import json
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from upstream import records, signing
from upstream.records import (
    AutomationQueue,
    AutomationTask,
    AutomationTaskType,
    Country,
    CustomerCatalogItem,
    Inventory,
    Invoice,
    Item,
    Order,
    RmaDetail,
    RmaSummary,
    SerialDatum,
    ShipMethod,
)

FIXTURES = Path(__file__).parent / "fixtures"
UTC = UTC


def load(name: str):
    return json.loads((FIXTURES / name).read_text())


def test_countries_page_parses_with_z_datetimes():
    rows = [Country.from_api(r) for r in load("countries.json")["results"]]
    assert [(c.id, c.iso_code, c.name) for c in rows] == [
        (1, "JE", "Jersey"),
        (2, "AS", "American Samoa"),
        (3, "AU", "Australia"),
    ]
    assert rows[0].created_at == datetime(2015, 6, 24, 13, 41, 11, 563000, tzinfo=UTC)


def test_order_post_response_parses_every_part():
    order = Order.from_api(load("order_post_response.json"))
    assert order.organization_id == 1234  # "01234" in the docs
    assert order.status == "Shipped"  # "shipped" in the docs
    assert order.ship_method == "FedEx Ground Canada" and order.ship_method_id == 24
    assert order.recipient.city == "Toranto" and order.recipient.address_2 == ""
    assert order.importer_of_record.email == "" and order.importer_of_record.country == "CA"
    assert [i.invoice_number for i in order.invoices] == [123456] == order.invoice_numbers
    assert order.tracking_numbers[0].tracking_number == "ABCD123EFG456HIJ78"
    assert order.tracking_numbers[0].weight == Decimal("10")
    line = order.lines[0]
    assert (line.product_code, line.quantity, line.serial_numbers) == ("Generic Product 1", 1, ["555-666-777"])
    assert line.customs_declared_value == Decimal("123.4")
    # naive datetimes are taken as UTC
    assert order.end_user_order_dt == datetime(2015, 4, 30, 14, 36, 13, 73726, tzinfo=UTC)
    assert order.end_user_name == "Jane L. Doe" and order.extra == {}
    assert order.raw["status"] == "shipped"


@pytest.mark.parametrize(
    "name, prefix", [("order_post_request_ahead.json", "AHEAD"), ("order_post_request_mbx.json", "MBX")]
)
def test_order_post_requests_of_both_editions_parse(name, prefix):
    order = Order.from_api(load(name))
    assert order.customer_order.startswith(prefix)
    assert order.status == "" and order.invoices == [] and order.tracking_numbers == []
    assert [ln.quantity for ln in order.lines] == [2, 1]
    assert order.importer_of_record.name == "Max Power"


def test_inventory_floats_become_exact_decimals():
    inventory = Inventory.from_api(load("inventory.json"))
    assert inventory.id == 22742 and inventory.item_id == 127188 and inventory.lead_time is None
    assert inventory.quantity_on_hand == Decimal("0.0") and isinstance(inventory.average_cost, Decimal)
    assert Inventory.from_api({"id": "7", "quantity_on_hand": 0.1}).quantity_on_hand == Decimal("0.1")
    assert Inventory.from_api({"id": "7"}).id == 7


def test_invoice_page_parses():
    invoice = Invoice.from_api(load("invoices.json")["results"][0])
    assert (invoice.id, invoice.order_id, invoice.total) == (123456, 654321, Decimal("0.0"))
    assert invoice.billed_at == datetime(2014, 10, 15, 6, tzinfo=UTC)


def test_item_parses_nulls_and_booleans():
    item = Item.from_api(load("item.json"))
    assert item.stocked is False and item.serialized is True
    assert item.weight is None and item.manufacturer_sku == "" and item.manufacturer_id is None
    assert item.owner_id == 12345 and item.purchasing_group_id == 1
    assert item.archived_at == datetime(2015, 5, 12, 11, 53, 36, 30000, tzinfo=UTC)


def test_rma_summary_row_parses_nested_item_and_status():
    rma = RmaSummary.from_api(load("rmas.json")["results"][0])
    assert rma.organization_id == 48134  # "48134" in the docs
    assert rma.start_date == date(2005, 8, 16) and rma.closed_date == date(2005, 8, 16) and not rma.is_open
    assert rma.item.category.name == "Server" and rma.item.name == "StockBox 2000"
    assert (rma.status.id, rma.status.name) == (1, "Not Received") == (rma.status_id, rma.status_name)


def test_rma_detail_parses_lines_and_notes():
    rma = RmaDetail.from_api(load("rma_detail.json"))
    assert rma.is_open and rma.replacement_order_id is None and rma.status_name == "Checked In"
    assert rma.lines[0].quantity == 1 and rma.lines[0].item.category.name == "RAID Card"
    assert [n.id for n in rma.problems] == [859332]
    assert [n.id for n in rma.troubleshootings] == [859339, 859342]
    assert rma.results[0].message.startswith("This system has passed")
    assert rma.troubleshootings[1].created_at == datetime(2016, 1, 14, 23, 32, 9, 753000, tzinfo=UTC)


def test_records_built_from_the_field_tables_parse():
    rows = load("field_tables.json")
    assert ShipMethod.from_api(rows["ship_method"]).carrier == "FedEx"
    assert CustomerCatalogItem.from_api(rows["customer_catalog_item"]).price == Decimal("1234.56")
    queue = AutomationQueue.from_api(rows["automation_queue"])
    assert queue.finished is False and queue.serial_id == 9001
    assert AutomationTaskType.from_api(rows["automation_task_type"]).description == ""
    datum = SerialDatum.from_api(rows["serial_datum"])
    assert datum.serial_data_type_id == 2 and datum.metadata == "" and datum.id is None


def test_automation_task_csv_report_parses_strings():
    text = (FIXTURES / "automation_tasks_details.csv").read_text()
    tasks = [AutomationTask.from_api(row) for row in csv.DictReader(io.StringIO(text, newline=""))]
    assert [t.failed for t in tasks] == [False, True, False]
    assert tasks[0].started_at == datetime(2026, 11, 22, 10, 15, tzinfo=UTC) and tasks[0].assignee_id is None
    assert tasks[1].message == 'Failed: fan 2, "RPM low"' and tasks[1].assignee_id == 48134
    assert tasks[2].started_at is None and tasks[2].sequence == 1 and tasks[2].item_id == 127188


def test_put_example_bytes_give_the_contracts_known_signature():
    body = json.dumps(load("automation_task_put_start.json")).encode()
    assert (
        signing.sign("sandbox-secret", "PUT", "/v2/automation_tasks", body, "2026-11-22T10:15:00+00:00")
        == "e99b2f83fa4900e1ecf978b2f4264a641d7672548893af2f8ecc5379e1f5ea3c"
    )


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("shipped", "Shipped"),
        ("SHIPPED", "Shipped"),
        (" Pending ", "Pending"),
        ("released", "Released"),
        ("on hold", "On Hold"),
        (None, ""),
    ],
)
def test_order_status_names_are_canonical_in_any_case(raw, expected):
    assert records.order_status(raw) == expected


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("true", True),
        ("false", False),
        ("1", True),
        ("0", False),
        (1, True),
        (0, False),
        ("True", True),
        ("", None),
        (None, None),
    ],
)
def test_booleans_from_json_and_csv(raw, expected):
    assert records.to_bool(raw) is expected


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("2016-01-14T20:40:09.753Z", datetime(2016, 1, 14, 20, 40, 9, 753000, tzinfo=UTC)),
        ("2016-01-14T22:40:09+02:00", datetime(2016, 1, 14, 20, 40, 9, tzinfo=UTC)),
        ("2016-01-14T20:40:09", datetime(2016, 1, 14, 20, 40, 9, tzinfo=UTC)),
        ("2016-01-14", datetime(2016, 1, 14, tzinfo=UTC)),
        ("not a date", None),
        (None, None),
    ],
)
def test_datetimes_with_z_offset_or_naive(raw, expected):
    assert records.to_datetime(raw) == expected


def test_numbers_as_strings_and_garbage_never_raise():
    assert records.to_int("48134") == 48134 and records.to_int(" 12 ") == 12 and records.to_int("12.0") == 12
    assert records.to_int("abc") is None and records.to_int(True) is None
    assert records.to_decimal(123.4) == Decimal("123.4") and records.to_decimal("x") is None
    assert records.to_date("2017-02-12T00:00:00Z") == date(2017, 2, 12)


def test_unknown_fields_are_kept_in_extra_and_raw_never_an_error():
    payload = {"id": "5", "name": "Ground", "carrier": "UPS", "eta_days": 3, "raw": "not the raw", "extra": 1}
    method = ShipMethod.from_api(payload)
    assert method.id == 5 and method.extra == {"eta_days": 3, "raw": "not the raw", "extra": 1}
    assert method.raw is payload
    order = Order.from_api({"id": 1, "status": "PENDING", "lines": None, "recipient": None, "new_field": [1]})
    assert order.status == "Pending" and order.lines == [] and order.extra == {"new_field": [1]}
    assert order.recipient.name == ""


def test_records_use_slots():
    assert not hasattr(Country.from_api({"id": 1}), "__dict__")


def test_order_statuses_are_spelled_once():
    assert [(s.value, s.label) for s in records.OrderStatus] == [
        ("Pending", "Pending"),
        ("Released", "Released"),
        ("Shipped", "Shipped"),
    ]
    assert type(records.order_status("shipped")) is str  # the member's value, not the member
    assert records.order_status("rElEaSeD") == records.OrderStatus.RELEASED


def test_every_record_parses_an_empty_payload_and_nested_parts_are_never_none():
    def subclasses(cls):
        for sub in cls.__subclasses__():
            yield sub
            yield from subclasses(sub)

    for cls in (c for c in subclasses(records.Record) if c.__module__ == records.__name__):
        record = cls.from_api({})
        assert record.raw == {} and record.extra == {}, cls
    detail = RmaDetail.from_api({"item": None, "status": None, "lines": [{"item": None}]})
    assert detail.item.category.name == "" and detail.status_name == "" and detail.lines[0].item.name == ""


def test_bare_numbers_and_names_where_the_examples_send_them():
    order = Order.from_api({"invoices": [123, {"invoice_number": "456"}, "789"]})
    assert order.invoice_numbers == [123, 456, 789]
    assert order.invoices[0].raw == {"invoice_number": 123}
    rma = RmaSummary.from_api({"status": "Closed"})
    assert (rma.status_id, rma.status_name) == (None, "Closed")


def test_a_parse_uses_the_plan_worked_out_once_per_class(monkeypatch):
    Country.from_api({"id": 1})
    monkeypatch.setattr(records, "fields", lambda cls: pytest.fail("dataclasses.fields() on a parse"))
    monkeypatch.setattr(records.typing, "get_type_hints", lambda cls: pytest.fail("type hints on a parse"))
    assert Country.from_api({"id": "2", "iso_code": "de"}).iso_code == "DE"


def test_extra_is_worked_out_when_asked_not_stored():
    assert "extra" not in {f.name for f in dataclasses.fields(ShipMethod)}
    method = ShipMethod.from_api({"id": 1, "new": 2})
    method.raw["newer"] = 3
    assert method.extra == {"new": 2, "newer": 3}


def test_a_field_of_a_type_without_a_converter_is_refused():
    @dataclasses.dataclass(slots=True)
    class Odd(records.Record):
        when: complex | None = None

    with pytest.raises(TypeError, match="no converter"):
        Odd.from_api({})
