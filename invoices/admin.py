from django.contrib import admin

from portal.admin import ReadOnlyAdmin

from .models import InvoiceMonth, InvoiceRow


@admin.register(InvoiceRow)
class InvoiceRowAdmin(ReadOnlyAdmin):
    """The invoices list as staff see it (a table kept by invoices.rows)."""

    list_display = ["upstream_id", "billed_at", "total", "customer_order", "order_upstream_id", "organization"]
    list_filter = ["organization"]
    search_fields = ["=upstream_id", "customer_order", "purchase_order", "=order_upstream_id"]


@admin.register(InvoiceMonth)
class InvoiceMonthAdmin(ReadOnlyAdmin):
    """Invoices per organization and month (kept by invoices.tallies)."""

    list_display = ["month", "organization", "invoices", "total"]
    list_filter = ["organization", "month"]
    search_fields = ["organization__name"]
