"""The client against the running sandbox upstream: real HTTP, real signing, every endpoint."""

from __future__ import annotations

import uuid
from decimal import Decimal

import pytest

from upstream import api
from upstream.client import UpstreamClient
from upstream.errors import AuthFailed, Conflict, NotFound, TransientError, ValidationFailed
from upstream.models import UpstreamCall


def order_payload(org, **overrides):
    party = {
        "name": "John L. Doe",
        "company": "Doe Ltd.",
        "email": "jdoe@example.com",
        "phone": "1-555-555-6789",
        "address_1": "467 Highway #1",
        "address_2": None,
        "address_3": None,
        "city": "Toronto",
        "state": "ON",
        "zip": "M5A 123",
        "country": "CA",
    }
    payload = {
        "organization_id": org.upstream_organization_id,
        "purchase_order": "PO-1",
        "customer_order": f"CO-{uuid.uuid4().hex[:10]}",
        "ship_method_id": 12,
        "ship_account": None,
        "notes": "",
        "customer_rma_case": "",
        "recipient": party,
        "importer_of_record": dict(party),
        "duties_and_taxes_account": 10000000,
        "lines": [{"product_code": "SKU-00001", "quantity": 2, "customs_declared_value": 123.4}],
    }
    payload.update(overrides)
    return payload


@pytest.fixture
def client(sandbox_org, settings):
    settings.UPSTREAM_BACKOFF_BASE = 0.01
    settings.UPSTREAM_BACKOFF_CAP = 0.05
    with UpstreamClient(sandbox_org, read_timeout=2) as c:
        yield c


def test_every_collection_and_its_objects(client):
    listings = {
        "countries": api.countries,
        "ship_methods": api.ship_methods,
        "items": api.items,
        "customer_catalog_items": api.customer_catalog_items,
        "inventories": api.inventories,
        "invoices": api.invoices,
        "orders": api.orders,
        "automation_queues": api.automation_queues,
        "automation_task_types": api.automation_task_types,
    }
    singles = {
        "countries": api.country,
        "ship_methods": api.ship_method,
        "items": api.item,
        "customer_catalog_items": api.customer_catalog_item,
        "inventories": api.inventory,
        "invoices": api.invoice,
        "orders": api.order,
        "automation_queues": api.automation_queue,
        "automation_task_types": api.automation_task_type,
    }
    for name, listing in listings.items():
        rows = list(listing(client))
        assert rows, name
        one = singles[name](client, rows[0].id)
        assert one.id == rows[0].id, name
    assert all(isinstance(i.quantity_on_hand, Decimal) for i in api.inventories(client))
    assert {c.iso_code for c in api.countries(client)} >= {"CA", "US"}
    assert list(api.serial_data(client))


def test_orders_parse_status_case_and_numbers_as_strings(client):
    orders = list(api.orders(client))
    assert {o.status for o in orders} <= {"Pending", "Released", "Shipped"}
    assert any(o.raw["status"] != o.status for o in orders)  # e.g. "shipped" or "SHIPPED"
    assert any(isinstance(o.raw["organization_id"], str) for o in orders)
    assert all(isinstance(o.organization_id, int) for o in orders)
    shipped = next(o for o in orders if o.status == "Shipped")
    assert shipped.tracking_numbers and shipped.invoice_numbers and shipped.lines[0].serial_numbers


def test_rmas_all_open_closed_and_detail(client):
    every = list(api.rmas(client))
    open_ = list(api.open_rmas(client))
    closed = list(api.closed_rmas(client))
    assert len(every) == len(open_) + len(closed) and open_ and closed
    assert all(r.closed_date is None for r in open_) and all(r.closed_date for r in closed)
    assert not hasattr(every[0], "problems") or every[0].raw.get("problems") is None  # summary rows
    detail = api.rma(client, closed[0].id)
    assert detail.problems and detail.results and detail.lines[0].item.category.name


def test_pagination_across_pages_keeps_ascending_ids(client):
    pages = list(client.paginate("/v2/inventories", page_size=7))
    ids = [row["id"] for p in pages for row in p.results]
    assert len(pages) > 3
    assert ids == sorted(ids) and len(ids) == len(set(ids)) == pages[0].total


def test_automation_tasks_report_has_the_documented_columns(client):
    tasks = list(api.automation_tasks_report(client))
    assert tasks and all(t.id and t.automation_queue_id for t in tasks)
    assert set(tasks[0].raw) == {
        "id",
        "automation_queue_id",
        "automation_task_type_id",
        "sequence",
        "started_at",
        "completed_at",
        "failed",
        "message",
        "assignee_id",
        "assignee_name",
        "work_order_id",
        "serial_id",
        "item_id",
        "manufacturer_serial",
    }
    assert {t.failed for t in tasks} <= {True, False}


def test_writes_create_and_update(client, sandbox_org):
    order = api.create_order(client, order_payload(sandbox_org), idempotency_key=uuid.uuid4().hex)
    assert order.id and order.status == "Pending"
    assert api.order(client, order.id).customer_order == order.customer_order
    rma = api.create_rma(
        client,
        {"problem": "Fans loud", "request_type_id": 3, "manufacturer_serial": "SN-1", "replacement_name": "Dock 4"},
        idempotency_key=uuid.uuid4().hex,
    )
    assert rma.status_name == "Not Received" and rma.problems[0].message == "Fans loud"
    queue = api.create_automation_queue(
        client,
        {
            "manufacturer_serial": "QS-1",
            "ip_address": "10.0.0.9",
            "automation_tasks": [{"task_type_id": 1, "sequence": 1}, {"task_type_id": 2, "sequence": 2}],
        },
        idempotency_key=uuid.uuid4().hex,
    )
    assert queue.id and queue.finished is False
    task = api.update_automation_task(
        client,
        {
            "manufacturer_serial": "QS-1",
            "ip_address": "10.0.0.9",
            "sequence": 1,
            "message": "Started Run-In",
            "message_type": "start",
        },
        idempotency_key=uuid.uuid4().hex,
    )
    assert task.started_at and task.message == "Started Run-In"
    failed = api.update_automation_task(
        client,
        {"manufacturer_serial": "QS-1", "ip_address": "10.0.0.9", "sequence": 1, "message_type": "fail"},
        idempotency_key=uuid.uuid4().hex,
    )
    assert failed.failed is True
    retry = [t for t in api.automation_tasks_report(client) if t.manufacturer_serial == "QS-1" and t.sequence == 1]
    assert [t.failed for t in retry] == [True, False]  # fail adds a new unstarted task
    datum = api.create_serial_datum(
        client,
        {"manufacturer_serial": "QS-1", "serial_data_type_id": 2, "value": "aa:bb"},
        idempotency_key=uuid.uuid4().hex,
    )
    assert datum.id and datum.value == "aa:bb"


def test_not_found(client):
    with pytest.raises(NotFound):
        api.order(client, 999999999)


def test_validation_errors_carry_field_paths(client, sandbox_org):
    payload = order_payload(sandbox_org)
    payload["recipient"]["address_1"] = "x" * 36
    payload["lines"][0]["quantity"] = 0
    with pytest.raises(ValidationFailed) as info:
        api.create_order(client, payload, idempotency_key=uuid.uuid4().hex)
    assert info.value.field_errors["recipient.address_1"] == ["at most 35 characters"]
    assert "lines.0.quantity" in info.value.field_errors


def test_duplicate_order_is_a_conflict_with_the_existing_order(client, sandbox_org):
    payload = order_payload(sandbox_org)
    first = api.create_order(client, payload, idempotency_key=uuid.uuid4().hex)
    with pytest.raises(Conflict) as info:
        api.create_order(client, payload, idempotency_key=uuid.uuid4().hex)
    assert info.value.existing["id"] == first.id
    assert "customer_order" in info.value.field_errors


def test_wrong_secret_is_auth_failed(sandbox_org, sandbox):
    sandbox_org.set_upstream_secret("wrong-secret")
    with UpstreamClient(sandbox_org) as c, pytest.raises(AuthFailed) as info:
        c.get("/v2/countries")
    assert info.value.status == 401 and "wrong-secret" not in str(info.value)


def test_transient_500s_and_429s_are_retried_to_success(client, sandbox, sandbox_org):
    sandbox.set_faults(error_rate=1.0, count=2, token=sandbox_org.sandbox_token)
    assert list(api.countries(client))
    sandbox.set_faults(rate_limit_rate=1.0, retry_after=0, count=2, token=sandbox_org.sandbox_token)
    assert list(api.ship_methods(client))
    statuses = list(UpstreamCall.objects.filter(organization=sandbox_org).values_list("status", flat=True))
    assert statuses.count(500) == 2 and statuses.count(429) == 2


def test_a_lasting_outage_ends_in_a_transient_error(client, sandbox, sandbox_org):
    sandbox.set_faults(error_rate=1.0, error_status=503, token=sandbox_org.sandbox_token)
    with pytest.raises(TransientError) as info:
        client.get("/v2/countries")
    assert info.value.status == 503
    assert UpstreamCall.objects.filter(organization=sandbox_org, status=503).count() == client.max_attempts


def test_a_read_timeout_is_retried(sandbox, sandbox_org, settings):
    settings.UPSTREAM_BACKOFF_BASE = 0.01
    sandbox.set_faults(timeout_rate=1.0, timeout_seconds=1, count=1, token=sandbox_org.sandbox_token)
    with UpstreamClient(sandbox_org, read_timeout=0.3) as c:
        assert c.get("/v2/countries/1")["id"] == 1
    rows = list(UpstreamCall.objects.filter(organization=sandbox_org).order_by("id").values_list("status", "error"))
    assert rows[0][0] is None and "no answer in time" in rows[0][1] and rows[1] == (200, "")


def test_a_write_whose_answer_is_dropped_is_retried_and_acts_exactly_once(client, sandbox, sandbox_org):
    token = sandbox_org.sandbox_token
    before = sandbox.stats(token)["orders_created"]
    sandbox.set_faults(drop_after_commit_rate=1.0, count=1, token=token, method="POST")
    order = api.create_order(client, order_payload(sandbox_org), idempotency_key=uuid.uuid4().hex)
    assert order.id
    assert sandbox.stats(token)["orders_created"] == before + 1
    attempts = list(
        UpstreamCall.objects.filter(organization=sandbox_org, method="POST")
        .order_by("id")
        .values_list("attempt", "status")
    )
    assert attempts == [(1, None), (2, 201)]


def test_idempotency_key_replays_and_refuses_a_different_body(client, sandbox, sandbox_org):
    key = uuid.uuid4().hex
    payload = order_payload(sandbox_org)
    first = api.create_order(client, payload, idempotency_key=key)
    again = api.create_order(client, payload, idempotency_key=key)
    assert again.id == first.id
    assert sandbox.stats(sandbox_org.sandbox_token)["orders_created"] == 1
    with pytest.raises(ValidationFailed) as info:
        api.create_order(client, {**payload, "purchase_order": "other"}, idempotency_key=key)
    assert "Idempotency-Key" in info.value.field_errors


def test_an_odd_query_string_is_signed_exactly_as_sent(client):
    # the sandbox checks the signature over the raw request target it received
    data = client.get("/v2/countries", {"offset": 0, "limit": 5, "note": "a b/ü~'(x)"})
    assert data["count"] == 5 and data["offset"] == 0


def test_a_write_without_a_key_whose_answer_is_dropped_is_not_retried(client, sandbox, sandbox_org):
    token = sandbox_org.sandbox_token
    before = sandbox.stats(token)["orders_created"]
    sandbox.set_faults(drop_after_commit_rate=1.0, count=1, token=token, method="POST")
    with pytest.raises(TransientError):
        client.request("POST", "/v2/customer_order_submissions", json=order_payload(sandbox_org))
    # it reached the server and acted; a blind retry would have made a second order (or a 409)
    assert sandbox.stats(token)["orders_created"] == before + 1
    assert UpstreamCall.objects.filter(organization=sandbox_org, method="POST").count() == 1


def test_a_write_without_a_key_is_retried_when_nothing_listens(db, settings):
    import socket

    from conftest import make_org

    settings.UPSTREAM_BACKOFF_BASE = 0.001
    with socket.socket() as s:  # a loopback port that is certainly closed
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    org = make_org("closed", "Closed", base_url=f"http://127.0.0.1:{port}")
    with UpstreamClient(org, max_attempts=3) as c, pytest.raises(TransientError) as info:
        c.request("POST", "/v2/serial_data", json={"manufacturer_serial": "X"})
    assert "could not connect" in str(info.value)
    rows = list(UpstreamCall.objects.filter(organization=org).values_list("attempt", "status"))
    assert sorted(rows) == [(1, None), (2, None), (3, None)]


def test_a_long_retry_after_is_handed_to_the_caller_without_waiting(client, sandbox, sandbox_org):
    sandbox.set_faults(rate_limit_rate=1.0, retry_after=60, count=1, token=sandbox_org.sandbox_token)
    with pytest.raises(TransientError) as info:
        client.get("/v2/countries")
    assert info.value.status == 429 and info.value.retry_after == 60
    assert UpstreamCall.objects.filter(organization=sandbox_org).count() == 1


def test_the_csv_report_streams_as_many_rows_as_the_task_list(client, sandbox_org):
    queue = api.create_automation_queue(
        client,
        {
            "manufacturer_serial": "CSV-1",
            "ip_address": "10.0.0.1",
            "automation_tasks": [{"task_type_id": 1, "sequence": s} for s in range(1, 6)],
        },
        idempotency_key=uuid.uuid4().hex,
    )
    mine = [t for t in api.automation_tasks_report(client) if t.automation_queue_id == queue.id]
    assert sorted(t.sequence for t in mine) == [1, 2, 3, 4, 5]
    assert all(t.manufacturer_serial == "CSV-1" and t.started_at is None for t in mine)


def test_raw_pages_of_every_collection_match_its_typed_records(client):
    for name, record in api.RECORDS.items():
        raw = [row for page in api.pages(client, name, page_size=50) for row in page.results]
        assert raw, name
        typed = [record.from_api(row) for row in raw]
        assert [r.id for r in typed] == [row["id"] for row in raw] == sorted(int(row["id"]) for row in raw), name
