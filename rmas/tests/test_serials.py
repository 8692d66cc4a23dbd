"""What the portal knows about a serial: the index kept by the sync, suggestions and the facts card.

The mirror is filled by real syncs from the sandbox upstream (seeded: shipped orders with
serials SN<order><line><n>, RMAs ML…, automation queues and serial data FG<queue>X).
"""

from __future__ import annotations

import copy
import uuid

import pytest
from django.db import connection
from django.test import Client, override_settings
from django.utils import timezone

from conftest import make_member
from mirror.models import KnownSerial, Order, OrderLine, Rma
from orders.mirror_apply import apply_order_payload
from orders.tests.test_pages import shipped_payload
from rmas import serials
from rmas.models import RmaSubmission
from sync import registry
from sync.engine import run_sync

pytestmark = pytest.mark.usefixtures("listening")

Source = KnownSerial.Source
RESOURCES = (
    "items",
    "customer_catalog_items",
    "automation_task_types",
    "orders",
    "automation_queues",
    "automation_tasks",
    "serial_data",
    "rmas",
)
URLS = "rmas.tests.serial_urls"
OPTIONS, CARD = "/__serials__/options/", "/__serials__/card/"


@pytest.fixture
def listening():
    """The serial listeners plugged into the sync registry, as rmas.hooks does, for this test only."""
    saved = copy.deepcopy(registry._LISTENERS)
    serials.register()
    yield
    registry._LISTENERS.clear()
    registry._LISTENERS.update(saved)


def sync(org, *names):
    for name in names or RESOURCES:
        run = run_sync(org, name)
        assert run.status == "success", (name, run.error)


@pytest.fixture
def synced(sandbox_org, sandbox):
    # Besides the seed: a serial known only from serial data.
    sandbox.upsert(
        sandbox_org.sandbox_token,
        "serial_data",
        [{"id": 690001, "manufacturer_serial": "SD-Only-1", "serial_data_type_id": 1, "metadata": None, "value": "x"}],
    )
    sync(sandbox_org)
    return sandbox_org


def index_snapshot(org):
    return sorted(
        KnownSerial.objects.for_org(org).values_list(
            "serial", "written", "source", "source_id", "item_name", "product_code", "date"
        )
    )


def shipped_order(org, upstream_id=200000):
    return Order.objects.for_org(org).get(upstream_id=upstream_id)


def catalog_name(org, sku):
    from mirror.models import CatalogItem, Item

    item_id = CatalogItem.objects.for_org(org).get(customer_sku=sku).item_id
    return Item.objects.for_org(org).get(upstream_id=item_id).name


# -- the index -----------------------------------------------------------------------------------
def test_every_source_is_suggested_after_a_real_sync(synced):
    order = shipped_order(synced)
    line = OrderLine.objects.filter(order=order).first()
    serial = line.serial_numbers[0]
    (s,) = [x for x in serials.suggest(synced, serial) if x.serial == serial]
    assert s.sources == (Source.ORDER_LINE.label,)
    assert s.item == catalog_name(synced, line.product_code)
    assert s.date == timezone.localdate(order.updated_upstream_at)

    rma = Rma.objects.for_org(synced).get(upstream_id=15001)
    (s,) = serials.suggest(synced, rma.manufacturer_serial)
    assert (s.serial, s.sources, s.item) == (rma.manufacturer_serial, (Source.RMA.label,), rma.item_name)

    (s,) = serials.suggest(synced, "FG40001X")
    assert s.sources == (Source.AUTOMATION_QUEUE.label, Source.SERIAL_DATUM.label)
    assert s.item  # the item its tasks name

    (s,) = serials.suggest(synced, "SD-On")
    assert (s.serial, s.sources, s.item) == ("SD-Only-1", (Source.SERIAL_DATUM.label,), "")


def test_prefixes_ignore_letter_case_and_need_two_characters(synced):
    upper = serials.suggest(synced, "SN20000")
    assert upper and all(s.serial.startswith("SN20000") for s in upper)
    assert serials.suggest(synced, "sn20000") == upper == serials.suggest(synced, "  Sn20000 ")
    assert [s.serial for s in serials.suggest(synced, "sd-only")] == ["SD-Only-1"]
    assert serials.suggest(synced, "S") == [] and serials.suggest(synced, "") == []
    assert serials.suggest(synced, "SN2") != []


def test_the_limit_and_the_order(synced):
    keys = [s.serial.casefold() for s in serials.suggest(synced, "SN")]
    assert len(keys) == 20 and keys == sorted(keys) and len(set(keys)) == 20  # distinct serials, in order
    assert [s.serial for s in serials.suggest(synced, "SN", limit=3)] == [
        s.serial for s in serials.suggest(synced, "SN")
    ][:3]
    assert len(serials.suggest(synced, "SN", limit=10_000)) == serials.MAX_SUGGESTIONS
    assert len(serials.suggest(synced, "SN", limit=0)) == 1
    assert len(serials.suggest(synced, "SN", limit="many")) == serials.MAX_SUGGESTIONS


def test_a_serial_on_several_sources_is_suggested_once(synced):
    serial = OrderLine.objects.filter(order=shipped_order(synced)).first().serial_numbers[0]
    rma = Rma.objects.for_org(synced).get(upstream_id=15001)
    rma.manufacturer_serial = serial.lower()
    rma.save()
    serials.refresh_rmas(synced, [rma.pk])
    (s,) = [x for x in serials.suggest(synced, serial) if x.serial.casefold() == serial.casefold()]
    assert s.serial == serial and s.sources == (Source.ORDER_LINE.label, Source.RMA.label)


def test_the_index_follows_changes_and_vanished_rows(synced, sandbox):
    token = synced.sandbox_token
    order = copy.deepcopy(shipped_order(synced, 200001).raw)  # shipped: SN200001000, ...
    old = order["lines"][0]["serial_numbers"][0]
    order["lines"][0]["serial_numbers"] = ["NEW-SERIAL-1"]
    order["updated_at"] = "2026-11-30T10:00:00Z"
    sandbox.upsert(token, "customer_order_submissions", [order])
    sandbox.delete(token, "customer_order_submissions", [200000])
    sandbox.delete(token, "rmas", [15001])
    sandbox.delete(token, "serial_data", [690001])
    sync(synced, "orders", "serial_data", "rmas")

    assert serials.suggest(synced, "ML0001") == []
    assert serials.suggest(synced, "SN2000000") == []  # order 200000's serials
    assert serials.suggest(synced, "SD-ONLY") == []
    assert [s.serial for s in serials.suggest(synced, old)] == []
    assert [s.serial for s in serials.suggest(synced, "new-ser")] == ["NEW-SERIAL-1"]
    assert serials.known(synced, "new-serial-1").order.upstream_id == 200001
    # What the listeners kept is what a rebuild computes.
    kept = index_snapshot(synced)
    assert kept and serials.rebuild(synced.pk) == len(kept) and index_snapshot(synced) == kept


def test_a_queue_is_indexed_whichever_of_queues_and_tasks_syncs_first(sandbox_org):
    sync(sandbox_org, "items", "automation_tasks")
    assert serials.suggest(sandbox_org, "FG4000") == []  # tasks without their queue: not yet
    sync(sandbox_org, "automation_queues")
    assert len(serials.suggest(sandbox_org, "FG4000")) == 10  # FG40000X ... FG40009X
    tasks_first = index_snapshot(sandbox_org)
    serials.rebuild(sandbox_org.pk)
    assert index_snapshot(sandbox_org) == tasks_first


def test_an_order_applied_from_a_webhook_is_indexed(sandbox_org):
    apply_order_payload(sandbox_org, shipped_payload(260001, "HOOK-1", status="Released"), "webhook")
    assert serials.suggest(sandbox_org, "SN-") == []
    apply_order_payload(sandbox_org, shipped_payload(260001, "HOOK-1", updated="2026-11-23T12:00:00Z"), "webhook")
    assert [s.serial for s in serials.suggest(sandbox_org, "sn-")] == ["SN-A", "SN-B"]
    facts = serials.known(sandbox_org, "SN-B")
    assert facts.order.customer_order == "HOOK-1" and facts.order.product_code == "SKU-100"
    assert facts.order.shipped_at.isoformat() == "2026-11-23T12:00:00+00:00"


def test_the_prefix_search_reads_the_index_in_order(synced):
    """At a large customer's scale the suggestion is one index range, read in the index's order and
    stopped after the limit: no sequential scan, no sort, however many serials share the prefix."""
    now = timezone.now().date()
    KnownSerial.objects.bulk_create(
        [
            KnownSerial(
                organization=synced,
                serial=f"bulk{n:06d}",
                written=f"BULK{n:06d}",
                source=Source.SERIAL_DATUM,
                source_id=10_000_000 + n,
                date=now,
            )
            for n in range(30_000)
        ],
        batch_size=5000,
    )
    query = serials.keys_starting_with(synced, "bulk01", 20)
    assert list(query) == [f"bulk01{n:04d}" for n in range(20)]
    sql, params = query.query.sql_with_params()
    with connection.cursor() as cur:
        if connection.vendor == "postgresql":
            cur.execute("ANALYZE mirror_knownserial")
            cur.execute("EXPLAIN " + sql, params)
            plan = "\n".join(row[0] for row in cur.fetchall())
            assert "mirror_known_serial" in plan and "Seq Scan" not in plan and "Sort" not in plan, plan
            cond = next(line for line in plan.splitlines() if "Index Cond" in line)
            assert "serial >= 'bulk01'" in cond and "serial < 'bulk02'" in cond, plan  # a range of the index
            # The LIKE alone can be a range too: the column's "C" collation lets the btree serve it
            # (with another collation the index would only narrow the organization).
            like = KnownSerial.objects.for_org(synced).filter(serial__startswith="bulk01").values_list("serial")
            cur.execute("SET LOCAL enable_seqscan = off")
            cur.execute("EXPLAIN " + like.query.sql_with_params()[0], like.query.sql_with_params()[1])
            plan = "\n".join(row[0] for row in cur.fetchall())
            cond = next(line for line in plan.splitlines() if "Index Cond" in line)
            assert ">= 'bulk01'" in cond and "< 'bulk02'" in cond, plan
        else:
            cur.execute("EXPLAIN QUERY PLAN " + sql, params)
            plan = "\n".join(str(row[-1]) for row in cur.fetchall())
            assert "mirror_known_serial (organization_id=? AND serial>? AND serial<?)" in plan, plan
            assert "TEMP B-TREE" not in plan, plan


# -- the facts -------------------------------------------------------------------------------------
def test_the_facts_of_a_shipped_serial(synced):
    order = shipped_order(synced)
    line = OrderLine.objects.filter(order=order).first()
    facts = serials.known(synced, line.serial_numbers[0].lower())
    assert facts.known and facts.serial == line.serial_numbers[0]  # as written
    assert facts.item == catalog_name(synced, line.product_code)
    assert (facts.order.pk, facts.order.customer_order, facts.order.product_code) == (
        order.pk,
        "SEED-000000",
        line.product_code,
    )
    assert facts.order.shipped_at == order.updated_upstream_at and facts.order.url == f"/orders/{order.pk}/"
    assert facts.rmas == [] and facts.open_rma is None and facts.automation is None
    assert facts.sources == [Source.ORDER_LINE.label]


def test_the_facts_of_an_automated_serial(synced):
    facts = serials.known(synced, "fg40000x")
    result = facts.automation
    assert (result.queue_upstream_id, result.queue_finished, result.state) == (40000, True, "completed")
    assert result.task == "Asset Tagging" and result.message == "Asset Tagging passed" and result.at
    assert facts.serial_data == 4 and facts.item  # 40 data over 12 queues; the tasks' item
    assert not result.failed


def test_a_failed_task_is_the_last_result_when_it_is_the_latest(synced, sandbox):
    failed = {
        "id": 3_999_999,
        "automation_queue_id": 40002,
        "automation_task_type_id": 1,
        "sequence": 99,
        "started_at": "2026-11-30T10:00:00Z",
        "completed_at": "2026-11-30T10:05:00Z",
        "failed": True,
        "message": "Burn-In failed: DIMM B2",
        "assignee_id": None,
        "assignee_name": None,
        "work_order_id": None,
        "serial_id": 900002,
        "item_id": None,
        "manufacturer_serial": "FG40002X",
    }
    sandbox.upsert(synced.sandbox_token, "automation_tasks", [failed])
    sync(synced, "automation_tasks")
    result = serials.known(synced, "FG40002X").automation
    assert result.failed and result.task == "Burn-In" and result.message == "Burn-In failed: DIMM B2"
    assert result.at.isoformat() == "2026-11-30T10:05:00+00:00" and result.queue_finished is False


def test_earlier_rmas_and_the_open_rma_warning(synced):
    open_rma = Rma.objects.for_org(synced).get(upstream_id=15000)  # Not Received
    closed = Rma.objects.for_org(synced).get(upstream_id=15004)  # Closed
    facts = serials.known(synced, open_rma.manufacturer_serial)
    assert [(r.upstream_id, r.is_open, r.status, r.local) for r in facts.rmas] == [(15000, True, "Not Received", False)]
    assert facts.open_rma.upstream_id == 15000 and facts.item == open_rma.item_name and facts.category
    facts = serials.known(synced, closed.manufacturer_serial)
    assert facts.open_rma is None and facts.rmas[0].closed_date == closed.closed_date


def test_requests_made_here_count_until_the_mirror_has_them(synced):
    serial = OrderLine.objects.filter(order=shipped_order(synced)).first().serial_numbers[0]
    submission = RmaSubmission.objects.create(
        organization=synced, request_type=2, manufacturer_serial=serial.lower(), problem="dead", replacement_name="D"
    )
    facts = serials.known(synced, serial)
    (rma,) = facts.rmas
    assert rma.local and rma.is_open and rma.subject == "Advance System Replacement" and rma.status == "Queued"
    assert facts.open_rma == rma

    # A request the upstream refused is listed, and is no open RMA.
    from outbox.models import Delivery

    refused = Delivery.objects.create(
        organization=synced, kind="rma.create", method="POST", path="/v2/rmas", body="{}", status="rejected"
    )
    RmaSubmission.objects.create(
        organization=synced,
        request_type=1,
        manufacturer_serial=serial,
        problem="dead",
        replacement_name="D",
        delivery=refused,
    )
    facts = serials.known(synced, serial)
    assert sorted((r.status, r.is_open) for r in facts.rmas) == [("Queued", True), ("Rejected", False)]
    submission.delete()
    assert serials.known(synced, serial).open_rma is None
    RmaSubmission.objects.filter(delivery=refused).delete()
    submission = RmaSubmission.objects.create(
        organization=synced, request_type=2, manufacturer_serial=serial.lower(), problem="dead", replacement_name="D"
    )

    # The upstream answers; its RMA is mirrored: the mirror row is the truth, shown once.
    from upstream import api
    from upstream.client import UpstreamClient

    with UpstreamClient(synced) as client:
        created = api.create_rma(
            client,
            {"problem": "dead", "request_type_id": 2, "manufacturer_serial": serial, "replacement_name": "D"},
            idempotency_key=f"test-{uuid.uuid4().hex}",
        )
    submission.upstream_id = created.id
    submission.save()
    sync(synced, "rmas")
    facts = serials.known(synced, serial)
    (rma,) = facts.rmas
    assert not rma.local and rma.upstream_id == created.id and rma.is_open and rma.status == "Not Received"
    # The sandbox named the order that shipped the serial, and its item.
    mirrored = Rma.objects.for_org(synced).get(upstream_id=created.id)
    assert mirrored.order_id == 200000 and mirrored.item_name == facts.item
    assert Source.RMA.label in serials.suggest(synced, serial)[0].sources


def test_an_unknown_serial_is_unknown(synced):
    for serial in ("NOPE-1", "", "   ", "x" * 10_000, "SN\x00200000000", "\ud800abc"):
        facts = serials.known(synced, serial)
        assert not facts.known and facts.order is None and facts.rmas == [] and facts.open_rma is None
        assert len(facts.serial) <= 51


# -- tenancy ---------------------------------------------------------------------------------------
def test_another_organizations_serials_are_never_suggested_or_shown(synced, org_b):
    common = {"first_seen_at": timezone.now(), "changed_at": timezone.now(), "content_hash": "x", "raw": {}}
    theirs = Order.objects.create(organization=org_b, upstream_id=200000, status="Shipped", **common)
    OrderLine.objects.create(order=theirs, position=0, product_code="G", serial_numbers=["SN200000000", "GLOBEX-1"])
    serials.refresh_orders(org_b, [theirs.pk])

    assert serials.suggest(synced, "GLOBEX") == [] and not serials.known(synced, "GLOBEX-1").known
    assert [s.serial for s in serials.suggest(org_b, "SN")] == ["SN200000000"]
    assert serials.known(org_b, "SN200000000").order.pk == theirs.pk
    assert serials.known(synced, "SN200000000").order.pk == shipped_order(synced).pk
    # Refreshing one organization's rows never touches the other's.
    serials.refresh_orders(synced, [theirs.pk])
    serials.rebuild(synced.pk)
    assert [s.serial for s in serials.suggest(org_b, "GLOB")] == ["GLOBEX-1"]

    bob = make_member("bob-service", org_b, roles=["service"])
    client = Client()
    client.force_login(bob)
    with override_settings(ROOT_URLCONF=URLS):
        options = client.get(OPTIONS, {"serial": "SN2"}).content.decode()
        card = client.get(CARD, {"serial": "ML0000JB000"}).content.decode()
    assert options.count("<option") == 1 and "SN200000000" in options
    assert "knows nothing about this serial" in card


# -- the views -------------------------------------------------------------------------------------
@pytest.fixture
def service_client(synced):
    client = Client()
    client.force_login(make_member(f"sam-{uuid.uuid4().hex[:6]}", synced, roles=["service"]))
    with override_settings(ROOT_URLCONF=URLS):
        yield client


def test_options_for_the_datalist(service_client, synced):
    response = service_client.get(OPTIONS, {"serial": "fg4000"})
    assert response.status_code == 200
    html = response.content.decode()
    assert html.count("<option") == 10 and '<option value="FG40000X">' in html
    assert "Automation queue, Serial data" in html
    assert service_client.get(OPTIONS, {"manufacturer_serial": "FG40000"}).content.decode().count("<option") == 1
    assert service_client.get(OPTIONS).content.decode().strip() == ""


def test_the_card_shows_the_facts_and_warns_of_an_open_rma(service_client, synced):
    order = shipped_order(synced)
    serial = OrderLine.objects.filter(order=order).first().serial_numbers[0]
    html = service_client.get(CARD, {"serial": serial}).content.decode()
    assert "SEED-000000" in html and f'href="/orders/{order.pk}/"' in html
    assert order.updated_upstream_at.strftime("%Y-%m-%d") in html and "open RMA" not in html

    open_rma = Rma.objects.for_org(synced).get(upstream_id=15000)
    response = service_client.get(CARD, {"serial": open_rma.manufacturer_serial.lower()})
    html = response.content.decode()
    assert response.status_code == 200 and 'id="serial-open-rma"' in html and "already has an open RMA" in html
    assert "RMA 15000" in html and "Not Received" in html and "You can still request another one." in html

    closed = Rma.objects.for_org(synced).get(upstream_id=15004)
    html = service_client.get(CARD, {"serial": closed.manufacturer_serial}).content.decode()
    assert "open RMA" not in html and "RMA 15004" in html and "Closed" in html

    html = service_client.get(CARD, {"serial": "FG40002X"}).content.decode()
    assert "queue 40002" in html and "Serial data" in html

    html = service_client.get(CARD, {"serial": "NOT-A-KNOWN-SERIAL"}).content.decode()
    assert "The portal knows nothing about this serial" in html and "NOT-A-KNOWN-SERIAL" in html
    assert service_client.get(CARD).content.decode().strip() == ""


def test_a_member_without_the_service_role_gets_403(synced):
    client = Client()
    client.force_login(make_member("bill-buyer", synced, roles=["buyer", "viewer", "operator", "manager"]))
    with override_settings(ROOT_URLCONF=URLS):
        for url in (OPTIONS, CARD):
            response = client.get(url, {"serial": "SN2000"})
            assert response.status_code == 403 and b"SN200000" not in response.content
        anonymous = Client().get(OPTIONS, {"serial": "SN2000"})
    assert anonymous.status_code == 302 and "/login" in anonymous["Location"]


@pytest.mark.parametrize(
    "serial",
    [
        "S" * 10_000,
        "SN" + "9" * 9_998,
        "²①٣",
        "ß" * 300,
        "\u202eSN200000000",
        "SN\u0000",
        "%",
        "_N%",
        "\\",
        "🛠️🔥" * 20,
        "Å\u030a",
        "<script>alert(1)</script>",
        "' OR 1=1 --",
    ],
)
def test_hostile_input_is_answered_not_a_500(service_client, serial):
    for url in (OPTIONS, CARD):
        response = service_client.get(url, {"serial": serial})
        assert response.status_code == 200, (url, response.status_code)
        assert b"<script>" not in response.content
    assert service_client.get(OPTIONS, {"serial": "_N%"}).content.decode().strip() == ""  # LIKE wildcards are text


def test_a_lone_surrogate_or_broken_utf8_is_not_a_500(service_client):
    for query in ("serial=%ED%A0%80abc", "serial=%FF%FE", "serial=SN%00%00", "serial=" + "%E2%82" * 50):
        for url in (OPTIONS, CARD):
            assert service_client.get(f"{url}?{query}").status_code == 200, (url, query)


def test_a_serial_is_escaped_in_the_card(service_client, synced, sandbox):
    hostile = '<img src=x onerror="alert(1)">'
    sandbox.upsert(
        synced.sandbox_token,
        "serial_data",
        [{"id": 690002, "manufacturer_serial": hostile, "serial_data_type_id": 1, "metadata": None, "value": "x"}],
    )
    sync(synced, "serial_data")
    options = service_client.get(OPTIONS, {"serial": "<img"}).content.decode()
    card = service_client.get(CARD, {"serial": hostile}).content.decode()
    assert "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;" in options and "<img" not in options
    assert "&lt;img" in card and "<img" not in card and "Serial data" in card
