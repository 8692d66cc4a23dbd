"""The invoices list's search: a trigram index on InvoiceRow.search_text (PostgreSQL), and the rows and
months of invoices mirrored before the list had its tables."""

from django.db import migrations

from portal.migration_ops import fill_rows, search_index


class Migration(migrations.Migration):
    dependencies = [
        ("invoices", "0001_invoice_rows_and_months"),
    ]

    operations = [
        search_index("invoices_invoicerow", "invoices_row_search_trgm"),
        fill_rows("mirror.Invoice", "invoices.rows.rebuild"),
    ]
