"""The invoice page shows the invoice and the order it bills; the order page's invoice links lead to it."""

from __future__ import annotations

from decimal import Decimal

from django.utils import timezone

from invoices import rows
from mirror.models import Invoice, OrderInvoice, OrderLine

from .conftest import make_invoices, mirrored_order


def test_the_invoice_page_shows_the_invoice_and_the_order_it_bills_with_its_lines(client_alice, org_a):
    order = mirrored_order(org_a, 200_000, customer_order="ACME-9", purchase_order="PO-9", status="Shipped")
    OrderLine.objects.create(
        order=order, position=0, product_code="SKU-1", quantity=2, customs_declared_value=Decimal("10.50")
    )
    OrderLine.objects.create(
        order=order, position=1, product_code="SKU-2", quantity=1, customs_declared_value=Decimal("4")
    )
    make_invoices(org_a, 1, orders=False)
    Invoice.objects.filter(organization=org_a).update(total=Decimal("1234.565"))
    invoice = Invoice.objects.get(organization=org_a)
    response = client_alice.get(f"/invoices/{invoice.pk}/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "<h1>Invoice 700000</h1>" in html
    assert '<dd id="invoice-total">1234.57</dd>' in html  # 2 places, rounded half up, no currency symbol
    assert '<time datetime="2025-01-01T05:00:00+00:00">2025-01-01 05:00</time>' in html
    assert f'<a href="/orders/{order.pk}/">ACME-9</a>' in html and "PO-9" in html
    assert '<span class="badge" id="invoice-order-status">Shipped</span>' in html
    assert "SKU-1" in html and "SKU-2" in html and "25.00" in html  # the lines and their customs value
    assert 'href="/invoices/?order_id=200000"' in html  # every invoice of the order


def test_an_invoice_whose_order_is_not_mirrored_says_so_and_a_vanished_one_is_marked(client_alice, org_a):
    make_invoices(org_a, 1, orders=False)
    invoice = Invoice.objects.get(organization=org_a)
    html = client_alice.get(f"/invoices/{invoice.pk}/").content.decode()
    assert "Upstream order 200000" in html and "not mirrored yet" in html
    Invoice.objects.filter(pk=invoice.pk).update(vanished_at=timezone.now(), order_id=None)
    html = client_alice.get(f"/invoices/{invoice.pk}/").content.decode()
    assert "The upstream no longer lists this invoice" in html and "names no order" in html


def test_another_organizations_invoice_is_a_404(client_alice, client_bob, org_a):
    make_invoices(org_a, 1)
    invoice = Invoice.objects.get(organization=org_a)
    assert client_bob.get(f"/invoices/{invoice.pk}/").status_code == 404
    assert client_bob.post(f"/invoices/{invoice.pk}/").status_code == 404
    assert client_alice.get(f"/invoices/{invoice.pk}/").status_code == 200
    assert client_alice.get("/invoices/999999/").status_code == 404


def test_the_order_pages_invoice_links_lead_to_the_invoice_page_or_the_filtered_list(client_alice, org_a):
    order = mirrored_order(org_a, 200_000, customer_order="ACME-10")
    OrderInvoice.objects.create(order=order, invoice_number=700_000)
    OrderInvoice.objects.create(order=order, invoice_number=700_999)  # not mirrored (yet)
    make_invoices(org_a, 1, orders=False)
    rows.on_orders_page(org_a, None, [(order.pk, order.upstream_id, {})], None)
    invoice = Invoice.objects.get(organization=org_a, upstream_id=700_000)
    html = client_alice.get(f"/orders/{order.pk}/").content.decode()
    assert f'<a href="/invoices/{invoice.pk}/">Invoice 700000</a>' in html
    assert '<a href="/invoices/?order_id=200000">Invoice 700999</a>' in html
    listed = client_alice.get("/invoices/?order_id=200000")
    assert [r["upstream_id"] for r in listed.context["page"].rows] == [700_000]
