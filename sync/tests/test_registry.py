"""Each resource maps the vendor examples to exactly its mirror columns, through its typed record."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace

import pytest
from django.utils import timezone

from mirror import models as m
from sync import hooks, registry
from sync.columns import column_plan
from upstream import records as r

FIXTURES = Path(__file__).resolve().parents[2] / "upstream" / "tests" / "fixtures"


def load(name: str):
    return json.loads((FIXTURES / name).read_text())


def task_row(n: int) -> dict:
    text = (FIXTURES / "automation_tasks_details.csv").read_text()
    return list(csv.DictReader(io.StringIO(text, newline="")))[n]


TABLES = load("field_tables.json")
ORDER = load("order_post_response.json")

CASES = [
    (
        "countries",
        dict(load("countries.json")["results"][0], iso_code="je", name="J" * 300),
        {"iso_code": "JE", "name": "J" * 255},
    ),
    (
        "ship_methods",
        dict(TABLES["ship_method"], description="d" * 600),
        {"name": "FedEx Ground Canada", "description": "d" * 510, "carrier": "FedEx"},
    ),
    (
        "items",
        dict(load("item.json"), manufacturer_sku="s" * 300),
        {
            "name": "Generic Appliance",
            "description": "Generic Appliance",
            "item_category_id": 12,
            "serialized": True,
            "stocked": False,
            "manufacturer_sku": "s" * 255,
            "archived_at": datetime(2015, 5, 12, 11, 53, 36, 30000, tzinfo=UTC),
        },
    ),
    (
        "customer_catalog_items",
        dict(TABLES["customer_catalog_item"], customer_sku="c" * 256),
        {"customer_sku": "c" * 255, "price": Decimal("1234.56"), "item_id": 1423291},
    ),
    (
        "inventories",
        load("inventory.json"),
        {
            "item_id": 127188,
            "inventory_location_id": 1,
            "quantity_on_hand": Decimal("0.0"),
            "quantity_allocated": Decimal("0.0"),
            "quantity_on_order": Decimal("0.0"),
            "average_cost": Decimal("0.0"),
            "last_cost": Decimal("0.0"),
            "reorder_level": Decimal("0.0"),
            "order_up_to_level": Decimal("0.0"),
            "lead_time": None,
            "updated_upstream_at": datetime(2015, 4, 1, 8, 12, 31, 847000, tzinfo=UTC),
        },
    ),
    (
        "invoices",
        load("invoices.json")["results"][0],
        {
            "order_id": 654321,
            "billed_at": datetime(2014, 10, 15, 6, tzinfo=UTC),
            "total": Decimal("0.0"),
            "updated_upstream_at": datetime(2014, 10, 15, 6, tzinfo=UTC),
        },
    ),
    (
        "orders",
        dict(
            ORDER,
            recipient=dict(ORDER["recipient"], country="ca", name="R" * 300),
            created_at="2015-04-30T14:36:13Z",
            updated_at="2015-05-01T08:00:00+02:00",
        ),
        {
            "purchase_order": "56789",
            "customer_order": "123456",
            "status": "Shipped",  # "shipped" in the docs
            "ship_method_id": 24,
            "ship_method": "FedEx Ground Canada",
            "recipient_name": "R" * 255,
            "recipient_company": "John L. Doe Ltd.",
            "recipient_country": "CA",
            "created_upstream_at": datetime(2015, 4, 30, 14, 36, 13, tzinfo=UTC),
            "updated_upstream_at": datetime(2015, 5, 1, 6, tzinfo=UTC),
        },
    ),
    (
        "rmas",
        dict(load("rmas.json")["results"][0], status={"id": "1", "name": "N" * 150}),
        {
            "subject": "Hardware",
            "order_id": 121597,
            "repair_order_id": 149597,
            "replacement_order_id": 192483,
            "manufacturer_serial": "ML1627JB005",
            "start_date": date(2005, 8, 16),
            "closed_date": date(2005, 8, 16),
            "status_id": 1,
            "status_name": "N" * 100,
            "item_id": 1423291,
            "item_name": "StockBox 2000",
            "category_name": "Server",
            "request_type_id": None,
            "is_open": False,
        },
    ),
    (
        "automation_queues",
        TABLES["automation_queue"],
        {"serial_id": 9001, "work_order_id": 7001, "finished": False, "ip_address": "8.8.8.8"},
    ),
    (
        "automation_task_types",
        TABLES["automation_task_type"],
        {"name": "Run-In", "description": ""},  # null in the example
    ),
    (
        "automation_tasks",
        dict(task_row(1), message="m" * 600),
        {
            "automation_queue_id": 501,
            "automation_task_type_id": 2,
            "sequence": 1,
            "started_at": datetime(2026, 11, 22, 11, 16, tzinfo=UTC),
            "completed_at": None,
            "failed": True,
            "message": "m" * 500,
            "assignee_name": "AHEAD Customer",
            "work_order_id": 7001,
            "item_id": 127188,
            "manufacturer_serial": "124567",
        },
    ),
    (
        "serial_data",
        TABLES["serial_datum"],
        {"manufacturer_serial": "124567", "serial_data_type_id": 2, "metadata": "", "value": "aa:bb:cc:dd:ee:ff"},
    ),
]


def test_every_resource_has_a_case():
    assert sorted(name for name, _, _ in CASES) == sorted(registry.REGISTRY)


@pytest.mark.parametrize("name, payload, expected", CASES, ids=[c[0] for c in CASES])
def test_a_vendor_example_maps_to_its_mirror_columns(name, payload, expected):
    assert registry.get(name).mapper(payload) == expected


def test_the_rma_status_as_a_bare_name_and_an_order_in_any_case():
    rma = registry.get("rmas").mapper({"id": 1, "status": "Closed", "item": None})
    assert (rma["status_id"], rma["status_name"], rma["item_id"], rma["category_name"]) == (None, "Closed", None, "")
    orders = registry.get("orders").mapper
    assert orders({"status": "RELEASED"})["status"] == r.OrderStatus.RELEASED == "Released"
    assert orders({"status": "waiting for a replacement part"})["status"] == "Waiting For A Replac"  # max_length 20


def test_the_columns_are_todays_so_no_migration_is_needed():
    assert {name: registry.get(name).fields for name in registry.REGISTRY} == {
        "countries": ("iso_code", "name"),
        "ship_methods": ("name", "description", "carrier"),
        "items": (
            "name",
            "description",
            "item_category_id",
            "serialized",
            "stocked",
            "manufacturer_sku",
            "archived_at",
        ),
        "customer_catalog_items": ("customer_sku", "price", "item_id"),
        "inventories": (
            "item_id",
            "inventory_location_id",
            "quantity_on_hand",
            "quantity_allocated",
            "quantity_on_order",
            "average_cost",
            "last_cost",
            "reorder_level",
            "order_up_to_level",
            "lead_time",
            "updated_upstream_at",
        ),
        "invoices": ("order_id", "billed_at", "total", "updated_upstream_at"),
        "orders": (
            "purchase_order",
            "customer_order",
            "status",
            "ship_method_id",
            "ship_method",
            "recipient_name",
            "recipient_company",
            "recipient_country",
            "created_upstream_at",
            "updated_upstream_at",
        ),
        "rmas": (
            "subject",
            "order_id",
            "repair_order_id",
            "replacement_order_id",
            "manufacturer_serial",
            "start_date",
            "closed_date",
            "status_id",
            "status_name",
            "item_id",
            "item_name",
            "category_name",
            "request_type_id",
            "is_open",
        ),
        "automation_queues": ("serial_id", "work_order_id", "finished", "ip_address"),
        "automation_task_types": ("name", "description"),
        "automation_tasks": (
            "automation_queue_id",
            "automation_task_type_id",
            "sequence",
            "started_at",
            "completed_at",
            "failed",
            "message",
            "assignee_name",
            "work_order_id",
            "item_id",
            "manufacturer_serial",
        ),
        "serial_data": ("manufacturer_serial", "serial_data_type_id", "metadata", "value"),
    }


def test_lengths_come_from_the_model_and_none_in_a_text_column_becomes_empty(monkeypatch):
    monkeypatch.setattr(m.Country._meta.get_field("name"), "max_length", 4)
    plan = column_plan(m.Country, r.Country)
    assert plan.of({"iso_code": "de", "name": "Germany"}) == {"iso_code": "DE", "name": "Germ"}
    assert plan.values(r.Country(iso_code="DE", name=None)) == {"iso_code": "DE", "name": ""}


def test_a_column_plan_must_name_real_columns_and_record_attributes():
    with pytest.raises(ValueError, match="no column"):
        column_plan(m.Country, r.Country, sources={"nmae": "name"})
    with pytest.raises(ValueError, match="no column"):
        column_plan(m.Country, r.Country, skip=("nmae",))
    with pytest.raises(AttributeError):
        column_plan(m.Order, r.Order, sources={"recipient_name": "recipient.nmae"})


def test_order_children_come_from_the_order_record(org_a):
    now = timezone.now()
    raw = dict(
        ORDER,
        lines=[dict(ORDER["lines"][0], product_code="P" * 300), {"product_code": "B", "quantity": "2"}],
        tracking_numbers=[{"tracking_number": "T" * 300, "weight": "1.5"}],
        invoices=[{"invoice_number": 123456}, 654321, {"invoice_number": None}],
    )
    order = m.Order.objects.create(
        organization=org_a,
        upstream_id=1,
        raw=raw,
        content_hash="x",
        first_seen_at=now,
        changed_at=now,
        **registry.get("orders").mapper(raw),
    )
    hooks.order_children(org_a, None, [(order.pk, 1, raw)], None)
    assert list(order.lines.values_list("position", "product_code", "quantity", "customs_declared_value")) == [
        (0, "P" * 255, 1, Decimal("123.4")),
        (1, "B", 2, None),
    ]
    assert [ln.serial_numbers for ln in order.lines.all()] == [["555-666-777"], []]
    assert list(order.tracking_numbers.values_list("tracking_number", "weight")) == [("T" * 255, Decimal("1.5"))]
    assert sorted(order.invoice_refs.values_list("invoice_number", flat=True)) == [123456, 654321]


def test_rma_details_come_from_the_detail_record_and_its_path_from_the_api(org_a):
    detail = load("rma_detail.json")
    detail["lines"][0]["item"]["name"] = "I" * 300
    now = timezone.now()
    rma = m.Rma.objects.create(
        organization=org_a,
        upstream_id=detail["id"],
        raw=detail,
        content_hash="h",
        first_seen_at=now,
        changed_at=now,
        **registry.get("rmas").mapper(detail),
    )
    paths: list[str] = []

    class Client:
        def get(self, path):
            paths.append(path)
            return detail

    run = SimpleNamespace(details_fetched=0)
    hooks.rma_details(org_a, Client(), run)
    assert paths == ["/v2/rmas/55622"] and run.details_fetched == 1
    rma.refresh_from_db()
    assert rma.detail == detail and rma.detail_hash == "h" and rma.detail_fetched_at is not None
    assert list(rma.lines.values_list("quantity", "item_id", "item_name", "category_name")) == [
        (1, 109402, "I" * 255, "RAID Card")
    ]
    assert list(rma.notes.order_by("upstream_id").values_list("kind", "upstream_id", "created_upstream_at")) == [
        ("result", 856201, datetime(2016, 1, 16, 20, 40, 9, 753000, tzinfo=UTC)),
        ("problem", 859332, datetime(2016, 1, 14, 20, 40, 9, 753000, tzinfo=UTC)),
        ("troubleshooting", 859339, datetime(2016, 1, 14, 20, 40, 9, 753000, tzinfo=UTC)),
        ("troubleshooting", 859342, datetime(2016, 1, 14, 23, 32, 9, 753000, tzinfo=UTC)),
    ]
    assert rma.notes.get(upstream_id=856201).message == "This system has passed standard..."
