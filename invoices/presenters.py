"""An invoice as its page shows it: the mirrored invoice and the order it bills (when mirrored)."""

from __future__ import annotations

from decimal import Decimal
from functools import cached_property

from django.urls import reverse

from accounts.scoping import scoped
from mirror.models import Invoice, Order
from orders.presenters import OrderPage

from .models import money, to_cents


class InvoicePage:
    def __init__(self, request, invoice: Invoice):
        self.request = request
        self.invoice = invoice

    @property
    def number(self) -> int:
        return self.invoice.upstream_id

    @property
    def total(self) -> Decimal | None:
        """As the list shows and sums it: 2 places, within upstream.limits.INVOICE_TOTAL."""
        return money(to_cents(self.invoice.total))

    @cached_property
    def order(self) -> Order | None:
        if self.invoice.order_id is None:
            return None
        return scoped(self.request, Order).filter(upstream_id=self.invoice.order_id).first()

    @cached_property
    def order_page(self) -> OrderPage | None:
        """The order's status, texts and lines, as the order's own page shows them."""
        return OrderPage(self.request, order=self.order) if self.order is not None else None

    @property
    def order_invoices_url(self) -> str:
        """The invoices list filtered to this invoice's order (all its invoices)."""
        return f"{reverse('invoices:list')}?order_id={self.invoice.order_id}" if self.invoice.order_id else ""
