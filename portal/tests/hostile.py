"""Hypothesis strategies for hostile input, shared by the property tests of every entry point
(order form, CSV upload, list parameters, webhook, mirror mappers), and the checks they share.

The examples are bounded per target (the "portal" profile in conftest.py: a few hundred,
derandomized so CI runs the same ones every time); HYPOTHESIS_PROFILE=deep runs thousands.
"""

from __future__ import annotations

import dataclasses
import typing
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

from django.db import connection, models, transaction
from hypothesis import strategies as st

from upstream import limits
from upstream.records import Record

# Strings that broke something once, or could: other scripts' digits, huge and odd numbers,
# dates at the edges of what datetime holds, spreadsheet formulas, control characters.
NASTY_TEXT = [
    "",
    " ",
    " " * 12,
    "²",
    "①",
    "٣",
    "１２",
    "-0",
    "+5",
    "0x10",
    "1_000",
    "1e999",
    "1e30",
    "-1e30",
    "1e1000000",
    "NaN",
    "nan",
    "Infinity",
    "-Infinity",
    "9" * 19,
    "9" * 20,
    "9" * 5000,
    str(2**63),
    str(2**63 - 1),
    str(-(2**63) - 1),
    "0.001",
    "12345678901.999",
    "9999-12-31T23:59:59-23:59",
    "0001-01-01T00:00:00+23:59",
    "2026-11-22T10:00:00-23:59",
    "2026-02-30",
    "2500-01-01",
    "1899-12-31T23:59:59Z",
    '=HYPERLINK("http://evil/","x")',
    "+cmd|' /C calc'!A0",
    "@SUM(1+1)",
    "\t=1+1",
    "\r\n",
    "\x00",
    "'; DROP TABLE orders; --",
    "<script>alert(1)</script>",
    "%",
    "_",
    "\\",
    '"',
    "ACME-1",
    "acme-1",
    "SKU-100",
    "CA",
    "Pending",
    "shipped",
]

# Long text is a short one repeated (cheap to generate) to lengths around every column's bound.
long_text = st.tuples(st.text(min_size=1, max_size=3), st.integers(min_value=30, max_value=2100)).map(
    lambda pair: (pair[0] * pair[1])[: pair[1]]
)
text = st.one_of(st.sampled_from(NASTY_TEXT), st.text(max_size=40), long_text)
numbers = st.one_of(
    st.integers(min_value=-(2**70), max_value=2**70),
    st.sampled_from([0, 1, -1, 2**31, 2**53 + 1, 2**63 - 1, 2**63, -(2**63) - 1, 10**20, 100_000, 100_001]),
    st.floats(allow_nan=True, allow_infinity=True),
)
number_text = st.one_of(numbers.map(str), st.sampled_from(NASTY_TEXT))
timestamps = st.datetimes(
    min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30), timezones=st.sampled_from([UTC, None])
).map(lambda d: d.isoformat())
offset_timestamps = st.tuples(
    st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30)),
    st.integers(min_value=-(24 * 60 - 1), max_value=24 * 60 - 1),
).map(lambda pair: pair[0].replace(tzinfo=timezone(timedelta(minutes=pair[1]))).isoformat())
scalars = st.one_of(st.none(), st.booleans(), numbers, text, timestamps, offset_timestamps)
json_values = st.recursive(
    scalars,
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3),
    max_leaves=6,
)


def payloads(record: type[Record], depth: int = 0) -> st.SearchStrategy[dict]:
    """Payloads shaped like `record` (any subset of its keys, nested records too) with hostile values."""
    hints = typing.get_type_hints(record)
    optional = {}
    for f in dataclasses.fields(record):
        if f.name == "raw":
            continue
        hint = hints[f.name]
        origin, args = typing.get_origin(hint), typing.get_args(hint)
        if isinstance(hint, type) and issubclass(hint, Record) and depth < 2:
            optional[f.name] = st.one_of(payloads(hint, depth + 1), json_values)
        elif origin is list and args and isinstance(args[0], type) and issubclass(args[0], Record) and depth < 2:
            optional[f.name] = st.one_of(st.lists(payloads(args[0], depth + 1), max_size=3), json_values)
        else:
            optional[f.name] = json_values
    return st.fixed_dictionaries({}, optional=optional)


def misfits(model: type[models.Model], values: dict[str, Any]) -> list[str]:
    """Why `values` would not fit `model`'s columns on every database (empty when they fit)."""
    problems = []
    for name, value in values.items():
        f = model._meta.get_field(name)
        assert isinstance(f, models.Field), name
        if value is None:
            if not f.null:
                problems.append(f"{name}: None in a NOT NULL column")
            continue
        if isinstance(f, models.CharField | models.TextField):
            if not isinstance(value, str):
                problems.append(f"{name}: {type(value).__name__} in a text column")
            elif f.max_length is not None and len(value) > f.max_length:
                problems.append(f"{name}: {len(value)} characters in a column of {f.max_length}")
            elif "\x00" in value and connection.vendor == "postgresql":
                problems.append(f"{name}: a NUL character PostgreSQL refuses")
        elif isinstance(f, models.BooleanField):
            if not isinstance(value, bool):
                problems.append(f"{name}: {value!r} in a boolean column")
        elif isinstance(f, models.DecimalField):
            top = Decimal(10) ** (f.max_digits - f.decimal_places)
            if not isinstance(value, Decimal) or not value.is_finite() or abs(value) >= top:
                problems.append(f"{name}: {value!r} does not fit ({f.max_digits},{f.decimal_places})")
        elif isinstance(f, models.IntegerField):
            low, high = connection.ops.integer_field_range(f.get_internal_type())
            if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
                problems.append(f"{name}: {value!r} outside {low}..{high}")
        elif isinstance(f, models.DateTimeField):
            if not isinstance(value, datetime) or value.tzinfo is None or value.year not in limits.YEARS:
                problems.append(f"{name}: {value!r} is not an aware datetime in {limits.YEARS.low}-{limits.YEARS.high}")
        elif isinstance(f, models.DateField) and (not isinstance(value, date) or value.year not in limits.YEARS):
            problems.append(f"{name}: {value!r} is not a date in {limits.YEARS.low}-{limits.YEARS.high}")
    return problems


@contextmanager
def rolled_back() -> Iterator[None]:
    """One example's writes, undone afterwards (a savepoint inside the test's transaction)."""
    with transaction.atomic():
        yield
        transaction.set_rollback(True)
