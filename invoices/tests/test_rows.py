"""The invoices list's rows and month totals follow every sync page of invoices and orders, every vanished
invoice and every applied order payload, in the same transaction."""

from __future__ import annotations

import io
from datetime import UTC, datetime

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from invoices import rows
from invoices.models import InvoiceMonth, InvoiceRow, to_cents
from mirror.models import Invoice, Order
from sync.apply import apply_one
from sync.engine import run_sync

from .conftest import make_invoices, mirrored_order
from .test_tallies import months_by_hand, stored_months


def snapshot(org) -> list[tuple]:
    return sorted(
        InvoiceRow.objects.filter(organization=org)
        .order_by()
        .values_list(
            "invoice_id",
            "upstream_id",
            "billed_at",
            "total_cents",
            "updated_at",
            "order_upstream_id",
            "order_pk",
            "customer_order",
            "purchase_order",
            "search_text",
        ),
        key=repr,
    )


def test_a_sync_lists_every_invoice_and_counts_its_months_then_orders_fill_in_the_order(sandbox_org, sandbox):
    run = run_sync(sandbox_org, "invoices")
    assert run.status == "success", run.error
    present = Invoice.objects.for_org(sandbox_org).present()
    assert present.count() == 60
    assert InvoiceRow.objects.filter(organization=sandbox_org).count() == 60
    for invoice in present:
        row = InvoiceRow.objects.get(invoice=invoice)
        assert (row.upstream_id, row.billed_at, row.order_upstream_id) == (
            invoice.upstream_id,
            invoice.billed_at,
            invoice.order_id,
        )
        assert row.total_cents == to_cents(invoice.total) and row.order_pk is None  # no order mirrored yet
    assert stored_months(sandbox_org) == months_by_hand(sandbox_org)
    assert sum(n for n, _cents in stored_months(sandbox_org).values()) == 60

    # Orders mirrored after their invoices: the rows of the invoices that bill them take their texts.
    assert run_sync(sandbox_org, "orders").status == "success"
    linked = InvoiceRow.objects.filter(organization=sandbox_org, order_pk__isnull=False)
    assert linked.count() >= 10
    for row in linked:
        order = Order.objects.get(pk=row.order_pk)
        assert (order.organization_id, order.upstream_id) == (sandbox_org.pk, row.order_upstream_id)
        assert (row.customer_order, row.purchase_order) == (order.customer_order, order.purchase_order)
        assert order.customer_order.casefold() in row.search_text
    # An invoice that bills an order the upstream does not list keeps no link.
    assert InvoiceRow.objects.filter(organization=sandbox_org, order_pk__isnull=True).exists()


def test_a_changed_invoice_moves_its_month_and_a_vanished_one_leaves(sandbox_org, sandbox):
    run_sync(sandbox_org, "invoices")
    first = Invoice.objects.for_org(sandbox_org).present().order_by("upstream_id").first()
    moved = {**first.raw, "billed_at": "2031-05-17T12:00:00Z", "total": 1234.565, "updated_at": "2031-05-17T12:00:00Z"}
    sandbox.upsert(sandbox_org.sandbox_token, "invoices", [moved])
    run = run_sync(sandbox_org, "invoices")
    assert run.updated == 1
    row = InvoiceRow.objects.get(invoice=first)
    assert row.billed_at == datetime(2031, 5, 17, 12, tzinfo=UTC) and row.total_cents == 123457
    months = stored_months(sandbox_org)
    assert months == months_by_hand(sandbox_org) and months[datetime(2031, 5, 1).date()] == (1, 123457)

    sandbox.delete(sandbox_org.sandbox_token, "invoices", [first.upstream_id])
    run = run_sync(sandbox_org, "invoices")
    assert run.vanished == 1
    assert not InvoiceRow.objects.filter(invoice=first).exists()
    assert InvoiceRow.objects.filter(organization=sandbox_org).count() == 59
    assert stored_months(sandbox_org) == months_by_hand(sandbox_org)
    assert not InvoiceMonth.objects.filter(organization=sandbox_org, month=datetime(2031, 5, 1).date()).exists()


def test_an_applied_order_payload_refreshes_only_the_rows_whose_copy_differs(org_a):
    make_invoices(org_a, 4, order_every=2)  # orders 200000 (invoices 700000-1) and 200001 (700002-3)
    before = {r.upstream_id: r.pk for r in InvoiceRow.objects.filter(organization=org_a)}
    apply_one(
        "orders", org_a, {"id": 200_000, "customer_order": "RENAMED-1", "purchase_order": "PO-X", "status": "Shipped"}
    )
    renamed = InvoiceRow.objects.filter(organization=org_a, upstream_id__in=[700_000, 700_001])
    assert {(r.customer_order, r.purchase_order) for r in renamed} == {("RENAMED-1", "PO-X")}
    assert all("renamed-1" in r.search_text for r in renamed)
    untouched = InvoiceRow.objects.filter(organization=org_a, upstream_id__in=[700_002, 700_003])
    assert {r.customer_order for r in untouched} == {"CO-200001"}
    # A status change alone writes no invoice row (the rows keep their ids: no upsert happened).
    stamp = {r.pk: r.updated_at for r in InvoiceRow.objects.filter(organization=org_a)}
    apply_one(
        "orders",
        org_a,
        {"id": 200_001, "customer_order": "CO-200001", "purchase_order": "PO-200001", "status": "Released"},
    )
    assert {r.pk: r.updated_at for r in InvoiceRow.objects.filter(organization=org_a)} == stamp
    assert {r.upstream_id: r.pk for r in InvoiceRow.objects.filter(organization=org_a)} == before


def test_an_order_mirrored_after_its_invoice_links_the_invoice_row(org_a):
    make_invoices(org_a, 1, orders=False)
    assert InvoiceRow.objects.get(organization=org_a).order_pk is None
    order = mirrored_order(org_a, 200_000, customer_order="LATE-1")
    rows.on_orders_page(org_a, None, [(order.pk, order.upstream_id, {})], None)
    row = InvoiceRow.objects.get(organization=org_a)
    assert (row.order_pk, row.customer_order) == (order.pk, "LATE-1")


def test_rebuild_gives_the_rows_and_months_the_changes_gave(org_a):
    make_invoices(org_a, 50, order_every=3)
    Invoice.objects.filter(organization=org_a, upstream_id=700_004).update(vanished_at=timezone.now())
    rows.vanished(org_a.pk)
    rows_before, months_before = snapshot(org_a), stored_months(org_a)
    assert len(rows_before) == 49
    InvoiceMonth.objects.filter(organization=org_a).update(invoices=0)  # damaged: the rebuild repairs it
    assert rows.rebuild(org_a.pk) == 49
    assert snapshot(org_a) == rows_before and stored_months(org_a) == months_before


def test_rows_and_months_never_cross_organizations(org_a, org_b):
    make_invoices(org_a, 5)
    theirs = make_invoices(org_b, 5, number_base=800_000, orders=False)
    theirs_pks = list(Invoice.objects.filter(organization=org_b).values_list("pk", flat=True))
    rows.refresh(org_a.pk, theirs_pks)  # ids of another organization are ignored, whoever passes them
    assert InvoiceRow.objects.filter(organization=org_a).count() == 5
    assert set(InvoiceRow.objects.filter(invoice_id__in=theirs_pks).values_list("organization_id", flat=True)) == {
        org_b.pk
    }
    # An order of organization B with the number A's invoices bill does not link them.
    other = mirrored_order(org_b, 200_000, customer_order="GLOBEX-1")
    rows.on_orders_page(org_b, None, [(other.pk, other.upstream_id, {})], None)
    assert InvoiceRow.objects.get(organization=org_a, upstream_id=700_000).customer_order == "CO-200000"
    assert stored_months(org_a) == months_by_hand(org_a) and stored_months(org_b) == months_by_hand(org_b)
    assert (
        len(theirs) == 5 and rows.rebuild(org_b.pk) == 5 and InvoiceRow.objects.filter(organization=org_a).count() == 5
    )


def test_the_rebuild_command_restores_every_row_and_month_and_refuses_an_unknown_organization(org_a, org_b):
    make_invoices(org_a, 30)
    make_invoices(org_b, 3, number_base=800_000, orders=False)
    rows_before, months_before = snapshot(org_a), stored_months(org_a)
    InvoiceRow.objects.filter(organization=org_a).delete()
    InvoiceMonth.objects.filter(organization=org_a).delete()
    out = io.StringIO()
    call_command("rebuild_invoices", "acme", stdout=out)
    assert out.getvalue() == f"acme: 30 invoice rows, {len(months_before)} months\n"
    assert snapshot(org_a) == rows_before and stored_months(org_a) == months_before
    assert InvoiceRow.objects.filter(organization=org_b).count() == 3
    with pytest.raises(CommandError, match="no organization nosuch"):
        call_command("rebuild_invoices", "nosuch")
