"""The one mapping of typed upstream records to the columns of mirror tables.

A model's columns are read off its concrete fields; each column takes the record attribute of
the same name, or the dotted attribute path named once in `sources` where the names differ
(e.g. recipient_name <- recipient.name). Strings are cut to the column's max_length and None
in a non-null text column becomes "", both read from the model's _meta; a number that does not
fit its column (an integer beyond its range, a decimal beyond its max_digits) becomes None, so
no payload can fail a page's write. The plan is worked out once per table (at import), never
per row.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from operator import attrgetter
from typing import Any

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import connection, models

from mirror.models import MirrorModel
from upstream.records import Record

# Written by the sync engine for every mirror row, never taken from a record.
MIRROR_BASE = frozenset(f.name for f in MirrorModel._meta.local_fields)


@dataclass(frozen=True)
class Columns:
    """The columns of `model` filled from a `record`, with what each needs."""

    model: type[models.Model]
    record: type[Record]
    names: tuple[str, ...]
    sources: tuple[str, ...]  # the record attribute path of each column
    fixes: tuple[tuple[str, int | None, bool], ...]  # text columns: (name, max_length, None becomes "")
    bounds: tuple[tuple[str, Any, Any], ...] = ()  # number columns: (name, lowest, highest)
    _get: Callable[[Record], tuple] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        getter = attrgetter(*self.sources)  # one call reads every column's attribute
        get = (lambda record: (getter(record),)) if len(self.sources) == 1 else getter
        object.__setattr__(self, "_get", get)

    def values(self, record: Record) -> dict[str, Any]:
        """Column name -> value of one record."""
        row = dict(zip(self.names, self._get(record), strict=True))
        for name, max_length, blank in self.fixes:
            value = row[name]
            if value is None:
                if blank:
                    row[name] = ""
            elif isinstance(value, str):
                if "\x00" in value:  # no database column holds a NUL on PostgreSQL
                    row[name] = value = value.replace("\x00", "")
                if max_length is not None and len(value) > max_length:
                    row[name] = value[:max_length]
        for name, low, high in self.bounds:
            value = row[name]
            if value is not None and not low <= value <= high:
                row[name] = None
        return row

    def of(self, payload: Any) -> dict[str, Any]:
        """Column name -> value of one upstream payload."""
        return self.values(self.record.from_api(payload))


def number_bounds(f: models.Field) -> tuple[Any, Any] | None:
    """The lowest and highest value a number column holds (the same on every database), narrowed by
    the field's MinValueValidator / MaxValueValidator (a bound of upstream.limits)."""
    low: Any
    high: Any
    if isinstance(f, models.DecimalField):
        top = Decimal(10) ** (f.max_digits - f.decimal_places) - Decimal(1).scaleb(-f.decimal_places)
        low, high = -top, top
    elif isinstance(f, models.IntegerField):
        low, high = connection.ops.integer_field_range(f.get_internal_type())
    else:
        return None
    for v in f.validators:
        if isinstance(v, MinValueValidator) and not callable(v.limit_value):
            low = v.limit_value if low is None else max(low, v.limit_value)
        elif isinstance(v, MaxValueValidator) and not callable(v.limit_value):
            high = v.limit_value if high is None else min(high, v.limit_value)
    return low, high


def column_plan(
    model: type[models.Model],
    record: type[Record],
    *,
    sources: Mapping[str, str] | None = None,
    skip: Collection[str] = (),
) -> Columns:
    """The columns of `model` that come from `record`: every concrete field except the primary
    key, the MirrorModel base fields (of a mirror table) and `skip` (filled elsewhere)."""
    sources = dict(sources or {})
    written = MIRROR_BASE if issubclass(model, MirrorModel) else frozenset()
    names, paths, fixes, bounds = [], [], [], []
    for f in model._meta.concrete_fields:
        if f.primary_key or f.name in written or f.name in skip:
            continue
        names.append(f.name)
        paths.append(sources.pop(f.name, f.name))
        if isinstance(f, models.CharField | models.TextField):
            fixes.append((f.name, f.max_length, not f.null))
        elif bound := number_bounds(f):
            bounds.append((f.name, *bound))
    unknown = [*sources, *(name for name in skip if name not in {f.name for f in model._meta.concrete_fields})]
    if unknown:
        raise ValueError(f"{model.__name__} has no column(s) {', '.join(unknown)}")
    plan = Columns(model, record, tuple(names), tuple(paths), tuple(fixes), tuple(bounds))
    plan.values(record.from_api({}))  # every source path resolves on a record (AttributeError otherwise)
    return plan
