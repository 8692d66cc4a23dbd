"""Bulk upload: a CSV of orders, one row per line, grouped by customer_order; all or nothing.

Every order is checked with the same form and line rules as the order page. Any error, in
any row, and nothing is queued: the page lists each problem with its row number (the header
is row 1). Otherwise every order and its delivery is saved in one transaction.
"""

from __future__ import annotations

import csv
import io

from django import forms
from django.contrib import messages
from django.db import IntegrityError, transaction
from django.http import HttpResponse
from django.shortcuts import redirect, render

from accounts.access import member_required
from accounts.roles import Role
from upstream import limits

from . import services
from .forms import OrderForm, line_formset
from .models import PARTY_FIELDS

ORDER_COLUMNS = [
    "customer_order",
    "purchase_order",
    "ship_method_id",
    "ship_account",
    "notes",
    "customer_rma_case",
    "duties_and_taxes_account",
    *[f"recipient_{k}" for k in PARTY_FIELDS],
    *[f"importer_{k}" for k in PARTY_FIELDS],
]
LINE_COLUMNS = ["product_code", "quantity", "customs_declared_value"]
COLUMNS = ORDER_COLUMNS + LINE_COLUMNS
REQUIRED_COLUMNS = {
    "customer_order",
    "purchase_order",
    "ship_method_id",
    "recipient_name",
    "recipient_phone",
    "recipient_address_1",
    "recipient_city",
    "recipient_zip",
    "recipient_country",
    *LINE_COLUMNS,
}
MAX_BYTES = 5 * 1024 * 1024


class UploadForm(forms.Form):
    file = forms.FileField(
        label="CSV file", help_text="one row per order line; rows of one order share its customer_order; UTF-8"
    )

    def clean_file(self):
        f = self.cleaned_data["file"]
        if f.size > MAX_BYTES:
            raise forms.ValidationError("The file is larger than 5 MB; split it into several uploads.")
        try:
            text = f.read().decode("utf-8-sig")
        except UnicodeDecodeError:
            raise forms.ValidationError("The file is not UTF-8 text; save it as “CSV UTF-8”.") from None
        return text


def _message(row: int, column: str, message: str) -> str:
    """'row 7: quantity must be a positive whole number', 'row 3: recipient_zip: This field is required'."""
    message = message.rstrip(".")
    label = column.replace("_", " ")
    if message.lower().startswith(label):
        return f"row {row}: {label}{message[len(label) :]}"
    return f"row {row}: {column}: {message}"


def parse(text: str, organization) -> tuple[list[tuple[OrderForm, list[dict]]], list[str]]:
    """Validate the whole file. Returns (orders ready to submit, errors); errors empty means all valid."""
    reader = csv.DictReader(io.StringIO(text, newline=""))
    try:
        header = [h.strip() for h in reader.fieldnames or []]
        reader.fieldnames = header
        records = list(enumerate(reader, start=2))
    except csv.Error as exc:  # a stray quote or line break, a field past the csv module's limit
        return [], [f"row {max(reader.line_num, 1)}: the file is not valid CSV ({exc})"]
    missing = sorted(REQUIRED_COLUMNS - set(header))
    if missing:
        return [], [f"row 1: missing column(s): {', '.join(missing)}"]
    unknown = sorted(set(header) - set(COLUMNS))
    if unknown:
        return [], [f"row 1: unknown column(s): {', '.join(unknown)}"]
    groups: dict[str, list[tuple[int, dict]]] = {}
    spelled: dict[str, tuple[str, int]] = {}  # lower-cased number -> (as first written, its row)
    errors: list[str] = []
    for number, row in records:
        row = {k: (v or "").strip() for k, v in row.items() if k}
        if not any(row.values()):
            continue
        key = row.get("customer_order", "")
        if not key:
            errors.append(_message(number, "customer_order", "This field is required"))
            continue
        first_spelling, first_row = spelled.setdefault(key.lower(), (key, number))
        if first_spelling != key:  # the same number in another letter case: one order, or a typo
            errors.append(
                _message(
                    number,
                    "customer_order",
                    f"{key} is the number of row {first_row} ({first_spelling}) in another letter case; "
                    "customer order numbers are the same whatever the case",
                )
            )
            continue
        groups.setdefault(key, []).append((number, row))
    if not groups and not errors:
        return [], ["the file has no order rows"]
    ready = []
    for key, rows in groups.items():
        first_number, first = rows[0]
        for number, row in rows[1:]:
            for column in ORDER_COLUMNS:
                if row.get(column) and row[column] != first.get(column, ""):
                    errors.append(
                        _message(
                            number,
                            column,
                            f"differs from row {first_number} of order {key}; "
                            "order columns must match on every line of an order",
                        )
                    )
        data = {c: first.get(c, "") for c in ORDER_COLUMNS}
        data["ship_method"] = data.pop("ship_method_id")
        if not any(first.get(f"importer_{k}") for k in PARTY_FIELDS):
            data["importer_same_as_recipient"] = "on"
        data.update(
            {
                "lines-TOTAL_FORMS": str(len(rows)),
                "lines-INITIAL_FORMS": "0",
                "lines-MIN_NUM_FORMS": "1",
                "lines-MAX_NUM_FORMS": str(limits.LINES_PER_ORDER),
            }
        )
        for n, (_, row) in enumerate(rows):
            for column in LINE_COLUMNS:
                data[f"lines-{n}-{column}"] = row.get(column, "")
        form = OrderForm(data, organization=organization)
        formset = line_formset(data, organization=organization)
        form_ok, lines_ok = form.is_valid(), formset.is_valid()
        for name, messages_ in form.errors.items():
            column = "ship_method_id" if name == "ship_method" else name
            for message in messages_:
                errors.append(_message(first_number, column if name != "__all__" else "order", str(message)))
        for n, line_form in enumerate(formset.forms):
            for name, messages_ in line_form.errors.items():
                for message in messages_:
                    errors.append(_message(rows[n][0], name, str(message)))
        for message in formset.non_form_errors():
            errors.append(_message(first_number, "lines", str(message)))
        if form_ok and lines_ok:
            ready.append((form, formset.lines()))
    errors.sort(key=lambda e: int(e.split(":")[0].split()[1]) if e.startswith("row ") else 0)
    return ready, errors


@member_required(Role.BUYER)
def upload(request):
    if request.GET.get("template") == "csv":
        response = HttpResponse(",".join(COLUMNS) + "\n", content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = 'attachment; filename="orders-template.csv"'
        return response
    errors: list[str] = []
    if request.method == "POST":
        form = UploadForm(request.POST, request.FILES)
        if form.is_valid():
            ready, errors = parse(form.cleaned_data["file"], request.organization)
            if not errors:
                try:
                    with transaction.atomic():
                        for order_form, lines in ready:
                            services.submit(request.organization, request.user, order_form.save(commit=False), lines)
                except IntegrityError:  # a number taken between the check and the save: nothing is kept
                    errors = ["a customer order number of the file was just used by another order; upload again"]
                else:
                    messages.success(
                        request, f"{len(ready)} order{'s' if len(ready) != 1 else ''} queued for the upstream."
                    )
                    return redirect("orders:list")
    else:
        form = UploadForm()
    return render(request, "orders/upload.html", {"form": form, "errors": errors, "columns": COLUMNS})
