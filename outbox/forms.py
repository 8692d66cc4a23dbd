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


def add_upstream_errors(form: forms.BaseForm, field_errors: dict[str, Any] | None, fields: dict[str, str]) -> None:
    """Each message next to its field (`fields` maps a payload path to a form field), the rest
    at the top of the form with the path they name."""
    for path, message in upstream_messages(field_errors):
        name = fields.get(path, path)
        if name in form.fields:
            form.add_error(name, REFUSED.format(message=message))
        else:
            form.add_error(None, f"{path}: {message}")
