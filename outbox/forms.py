"""The upstream's field errors (a delivery's 422) on the form the member corrects."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from django import forms

REFUSED = "The upstream refused this: {message}"


def upstream_messages(field_errors: dict[str, Any] | None) -> Iterator[tuple[str, str]]:
    """(dotted path, message) of a delivery's field errors, whatever their shape."""
    for path, messages in (field_errors or {}).items():
        for message in [messages] if isinstance(messages, str) else messages or []:
            yield str(path), str(message)


def add_upstream_errors(
    form: forms.BaseForm,
    field_errors: dict[str, Any] | None,
    fields: dict[str, str],
    *,
    rows: tuple[str, forms.BaseFormSet, dict[str, str]] | None = None,
) -> None:
    """Each message next to its field (`fields` maps a payload path to a form field), the rest
    at the top of the form with the path they name.

    `rows`: (payload list, formset, payload field -> form field) for a list of rows in the payload:
    "automation_tasks.1.sequence" goes next to the sequence of the formset's second form, and a
    message about the list itself above the formset."""
    for path, message in upstream_messages(field_errors):
        if rows is not None and (path == rows[0] or path.startswith(rows[0] + ".")):
            _add_row_error(rows, path, message)
            continue
        name = fields.get(path, path)
        if name in form.fields:
            form.add_error(name, REFUSED.format(message=message))
        else:
            form.add_error(None, f"{path}: {message}")


def _add_row_error(rows: tuple[str, forms.BaseFormSet, dict[str, str]], path: str, message: str) -> None:
    _prefix, formset, names = rows
    parts = path.split(".")
    text = REFUSED.format(message=message)
    index = parts[1] if len(parts) >= 3 else ""
    if index.isascii() and index.isdigit() and len(index) <= 6 and int(index) < len(formset.forms):
        row = formset.forms[int(index)]
        name = names.get(parts[2], parts[2])
        if name in row.fields:
            row.add_error(name, text)
            return
    formset._non_form_errors = [*formset.non_form_errors(), f"{path}: {message}"]  # type: ignore[attr-defined]
