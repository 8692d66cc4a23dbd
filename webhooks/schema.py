"""What an Order Update webhook may carry: checked before anything touches a row.

Signature first (services.authenticate), then this schema, then the apply. The body is read
within limits (size before parsing; nesting depth, non-finite numbers and huge integer
literals while parsing), and every field the payload carries is checked for its type, its
bounds (upstream.limits, the ones the order form and the mirror use) and, for the status,
the vocabulary. A field the payload does not carry is left as it is: a valid partial update
changes only what it says.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from itertools import accumulate
from typing import Any

from upstream import limits
from upstream.records import OrderStatus, to_date, to_datetime

Errors = dict[str, list[str]]


class Invalid(ValueError):
    def __init__(self, errors: Errors):
        self.errors = errors
        super().__init__("; ".join(f"{path}: {' '.join(messages)}" for path, messages in errors.items()))


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number JSON allows")


def _float(text: str) -> float:
    value = float(text)
    if value in (float("inf"), float("-inf")):
        raise ValueError(f"the number {text[:20]} is out of range")
    return value


def _int(text: str) -> int:
    if len(text.lstrip("-")) > 19:  # beyond 64 bits (and int() of thousands of digits costs time)
        raise ValueError(f"the integer {text[:20]}… is out of range")
    return int(text)


def parse(body: bytes) -> dict:
    """The JSON object in `body`, or ValueError saying why not (size, depth, numbers, shape)."""
    if len(body) > limits.JSON_BYTES:
        raise ValueError(f"the body is larger than {limits.JSON_BYTES:,} bytes")
    if nesting(body) > limits.JSON_DEPTH:  # before the parser: it recurses once per level
        raise ValueError(f"the JSON is nested deeper than {limits.JSON_DEPTH} levels")
    try:
        payload = json.loads(body, parse_constant=_refuse_constant, parse_float=_float, parse_int=_int)
    except RecursionError:
        raise ValueError(f"the JSON is nested deeper than {limits.JSON_DEPTH} levels") from None
    except UnicodeDecodeError:
        raise ValueError("the body is not UTF-8") from None
    if _depth(payload) > limits.JSON_DEPTH:
        raise ValueError(f"the JSON is nested deeper than {limits.JSON_DEPTH} levels")
    if not isinstance(payload, dict):
        raise ValueError("the body is not a JSON object")
    return payload


# A JSON string with its escapes, matched without per-character backtracking.
_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"', re.S)
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")
_AS_SQUARE = bytes.maketrans(b"{}", b"[]")


def nesting(body: bytes) -> int:
    """How deeply the JSON text nests arrays and objects, brackets inside strings not counted:
    one linear scan of the raw bytes, so no parser ever recurses through a hostile body."""
    skeleton = _STRING.sub(b"", body).translate(_AS_SQUARE, _NOT_BRACKETS)
    return max(accumulate((1 if c == 0x5B else -1 for c in skeleton), initial=0))


def _depth(value: Any) -> int:
    """Nesting depth, without recursion."""
    deepest, todo = 0, [(value, 1)]
    while todo:
        item, level = todo.pop()
        if isinstance(item, dict | list):
            deepest = max(deepest, level)
            if level > limits.JSON_DEPTH:
                return level
            todo.extend((child, level + 1) for child in (item.values() if isinstance(item, dict) else item))
    return deepest


# -- field checks: each returns an error message, or None when the value is acceptable ---------
Check = Callable[[Any], str | None]


def integer(low: int, high: int) -> Check:
    def check(value: Any) -> str | None:
        if isinstance(value, bool) or not isinstance(value, int | str):
            return "must be a whole number"
        if isinstance(value, str):
            if not (value.isascii() and value.strip().lstrip("-").isdigit()) or len(value) > limits.NUMBER_TEXT:
                return "must be a whole number"
            value = int(value)
        return None if low <= value <= high else f"must be between {low:,} and {high:,}"

    return check


def decimal(low: Any, high: Any) -> Check:
    def check(value: Any) -> str | None:
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            return "must be a number"
        from upstream.records import to_decimal

        number = to_decimal(value)
        if number is None:
            return "must be a number"
        return None if low <= number <= high else f"must be between {low:,} and {high:,}"

    return check


def text(max_length: int) -> Check:
    def check(value: Any) -> str | None:
        if not isinstance(value, str):
            return "must be text"
        return None if len(value) <= max_length else f"at most {max_length} characters"

    return check


def timestamp(value: Any) -> str | None:
    if not isinstance(value, str) or to_datetime(value) is None:
        return f"must be an ISO 8601 date and time in the years {limits.YEARS.low}–{limits.YEARS.high}"
    return None


def day(value: Any) -> str | None:
    if not isinstance(value, str) or to_date(value) is None:
        return f"must be an ISO 8601 date in the years {limits.YEARS.low}–{limits.YEARS.high}"
    return None


def status(value: Any) -> str | None:
    known = {s.value.lower() for s in OrderStatus}
    if not isinstance(value, str) or value.strip().lower() not in known:
        return f"must be one of {', '.join(OrderStatus.values)}"
    return None


ID = integer(1, limits.MAX_ID)
PARTY = {
    "name": text(limits.NAME),
    "company": text(limits.NAME),
    "email": text(limits.NAME),
    "phone": text(limits.NAME),
    "address_1": text(limits.NAME),
    "address_2": text(limits.NAME),
    "address_3": text(limits.NAME),
    "city": text(limits.NAME),
    "state": text(limits.NAME),
    "zip": text(limits.NAME),
    "country": text(limits.COUNTRY_CODE),
}
LINE = {
    "product_code": text(limits.NAME),
    "quantity": integer(limits.QUANTITY.low, limits.QUANTITY.high),
    "customs_declared_value": decimal(limits.MONEY.low, limits.MONEY.high),
}
TRACKING = {"tracking_number": text(limits.NAME), "weight": decimal(0, 10**8)}
ORDER = {
    "organization_id": ID,
    "purchase_order": text(limits.NAME),
    "customer_order": text(limits.NAME),
    "ship_method_id": ID,
    "ship_method": text(limits.NAME),
    "ship_account": text(limits.NAME),
    "notes": text(limits.NOTES),
    "customer_rma_case": text(limits.NAME),
    "duties_and_taxes_account": text(limits.NAME),
    "end_user_po": text(limits.NAME),
    "end_user_name": text(limits.NAME),
    "end_user_order_dt": timestamp,
    "promise_date": day,
    "customer_data": text(limits.NOTES),
    "status": status,
    "recipient_id": ID,
    "importer_of_record_id": ID,
    "created_at": timestamp,
    "updated_at": timestamp,
}


def _object(errors: Errors, path: str, value: Any, fields: dict[str, Check]) -> None:
    if not isinstance(value, dict):
        errors.setdefault(path, []).append("must be an object")
        return
    for key, check in fields.items():
        item = value.get(key)
        if item is None:  # absent or null: nothing to check (optional everywhere but the id)
            continue
        message = check(item)
        if message:
            errors.setdefault(f"{path}.{key}" if path else key, []).append(message)


def _list(errors: Errors, path: str, value: Any, limit: int, each: Callable[[str, Any], None]) -> None:
    if not isinstance(value, list):
        errors.setdefault(path, []).append("must be a list")
        return
    if len(value) > limit:
        errors.setdefault(path, []).append(f"at most {limit} items")
        return
    for n, item in enumerate(value):
        each(f"{path}.{n}", item)


def validate_order(payload: dict) -> None:
    """Raise Invalid with every problem of an Order Update payload; return when it is acceptable."""
    errors: Errors = {}
    if payload.get("id") is None:
        errors["id"] = ["This field is required."]
    elif message := ID(payload["id"]):
        errors["id"] = [message]
    _object(errors, "", payload, ORDER)
    for part in ("recipient", "importer_of_record"):
        if payload.get(part) is not None:
            _object(errors, part, payload[part], PARTY)

    def line(path: str, item: Any) -> None:
        _object(errors, path, item, LINE)
        if isinstance(item, dict) and item.get("serial_numbers") is not None:
            _list(
                errors,
                f"{path}.serial_numbers",
                item["serial_numbers"],
                limits.QUANTITY.high,
                lambda p, s: (
                    errors.setdefault(p, []).append("must be text of at most 255 characters")
                    if not isinstance(s, str) or len(s) > limits.NAME
                    else None
                ),
            )

    def invoice(path: str, item: Any) -> None:
        number = item.get("invoice_number") if isinstance(item, dict) else item
        if message := ID(number) if number is not None else "must carry an invoice_number":
            errors.setdefault(path, []).append(message)

    if payload.get("lines") is not None:
        _list(errors, "lines", payload["lines"], limits.LINES_PER_ORDER, line)
    if payload.get("tracking_numbers") is not None:
        _list(
            errors,
            "tracking_numbers",
            payload["tracking_numbers"],
            limits.LINES_PER_ORDER,
            lambda p, t: _object(errors, p, t, TRACKING),
        )
    if payload.get("invoices") is not None:
        _list(errors, "invoices", payload["invoices"], limits.LINES_PER_ORDER, invoice)
    if errors:
        raise Invalid(errors)
