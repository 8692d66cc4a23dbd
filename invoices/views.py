"""The invoice page (the list is `invoices.lists`)."""

from __future__ import annotations

from django.shortcuts import redirect, render

from accounts.access import member_required
from accounts.scoping import get_scoped_or_404
from mirror.models import Invoice

from .presenters import InvoicePage


@member_required()
def invoice_detail(request, pk):
    invoice = get_scoped_or_404(request, Invoice, pk=pk)
    if request.method == "POST":
        return redirect("invoices:detail", pk=invoice.pk)
    return render(request, "invoices/detail.html", {"page": InvoicePage(request, invoice)})
