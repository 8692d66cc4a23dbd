"""Typed records of the upstream's payloads, tolerant of what the vendor examples show.

This module is the one place that knows the payloads' field names and how each is converted.
A record is declarative: each dataclass field is read from the payload key of the same name
and converted by its annotation (`int | None` by to_int, `str` by to_str, `Decimal | None`
by to_decimal, `bool | None` by to_bool, `datetime | None` by to_datetime, `date | None` by
to_date, a nested record by its from_api (never None: null reads as an empty part), `list[...]`
element by element), or by a converter named in the field's metadata (`using(...)`). The plan
of (payload key, converter) is worked out once per class, on its first parse.

Every record keeps the whole payload in `.raw`, and `.extra` gives the fields it does not
know (never an error). Parsing accepts: `null` in optional fields, numbers sent as strings,
decimals sent as floats (kept as Decimal via str(), never float arithmetic), booleans as
"true"/"1" (CSV), ISO datetimes with `Z`, an offset, or none (taken as UTC), and status
names in any letter case.
"""

from __future__ import annotations

import math
import types
import typing
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, ClassVar, Self

from django.db import models

from . import limits

Converter = Callable[[Any], Any]


class OrderStatus(models.TextChoices):
    """The upstream's order statuses, spelled once (the payloads send them in any letter case)."""

    PENDING = "Pending", "Pending"
    RELEASED = "Released", "Released"
    SHIPPED = "Shipped", "Shipped"


_ORDER_STATUSES: dict[str, str] = {status.value.lower(): status.value for status in OrderStatus}


class RmaRequestType(models.IntegerChoices):
    """The five RMA request types of the vendor docs (POST /v2/rmas `request_type_id`)."""

    REPLACEMENT_PARTS = 1, "Replacement Parts"
    ADVANCE_SYSTEM_REPLACEMENT = 2, "Advance System Replacement"
    DEPOT_REPAIR_AND_RETURN = 3, "Depot Repair and Return"
    TRIAL_AND_STOCK = 4, "Trial and Stock"
    REPAIR_AND_STOCK = 5, "Repair and Stock"


def rma_request_type_label(value: Any) -> str:
    """The request type's name; the number itself for one the portal does not know."""
    return RmaRequestType(value).label if value in RmaRequestType.values else ("" if value is None else str(value))


# What happens with each request type, in one line (the RMA form shows it beside the choice).
RMA_REQUEST_EXPLAINED: dict[int, str] = {
    RmaRequestType.REPLACEMENT_PARTS: "The integrator ships the parts that failed; the system stays with you.",
    RmaRequestType.ADVANCE_SYSTEM_REPLACEMENT: (
        "A replacement system ships first, to the destination below; you send the failed one back afterwards."
    ),
    RmaRequestType.DEPOT_REPAIR_AND_RETURN: (
        "You send the system to the integrator's depot; it is repaired and shipped back to the destination below."
    ),
    RmaRequestType.TRIAL_AND_STOCK: "The system goes back to the integrator to be tested and kept in your stock there.",
    RmaRequestType.REPAIR_AND_STOCK: (
        "The system goes back to the integrator to be repaired and kept in your stock there."
    ),
}


def _int_in_range(value: int) -> int | None:
    return value if limits.MIN_INT <= value <= limits.MAX_INT else None


def to_int(value: Any) -> int | None:
    """An integer that fits 64 bits (the upstream's ids and every integer column), else None.

    Text longer than limits.NUMBER_TEXT is refused before it is parsed: int() of a million digits,
    or of Decimal("1e1000000"), costs seconds.
    """
    if type(value) is int:  # the common case first (not bool, a subclass of int)
        return _int_in_range(value)
    if value is None or value == "" or isinstance(value, bool):
        return None
    if isinstance(value, int):
        return _int_in_range(int(value))
    if isinstance(value, float):
        return _int_in_range(int(value)) if math.isfinite(value) and value.is_integer() else None
    text = str(value).strip()
    if len(text) > limits.NUMBER_TEXT:
        return None
    try:
        return _int_in_range(int(text))
    except ValueError:
        number = to_decimal(text)
        if number is None or number != number.to_integral_value():
            return None
        return _int_in_range(int(number))


def _decimal_in_range(number: Decimal) -> Decimal | None:
    """Finite, and within 10^±30: larger or finer numbers fit no column and cost to handle."""
    if not number.is_finite():
        return None
    if number and not -limits.DECIMAL_EXPONENT <= number.adjusted() <= limits.DECIMAL_EXPONENT:
        return None
    return number


def to_decimal(value: Any) -> Decimal | None:
    if type(value) is float:  # a JSON decimal: exactly as written (its shortest repr), never binary float
        return _decimal_in_range(Decimal(repr(value))) if math.isfinite(value) else None
    if value is None or value == "" or isinstance(value, bool):
        return None
    if isinstance(value, int):
        return _decimal_in_range(Decimal(value)) if _int_in_range(value) is not None else None
    text = str(value).strip()
    if len(text) > limits.NUMBER_TEXT:
        return None
    try:
        return _decimal_in_range(Decimal(text))
    except (InvalidOperation, ValueError):
        return None


def to_bool(value: Any) -> bool | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return value
    return str(value).strip().lower() in {"true", "1", "t", "yes", "y"}


def to_datetime(value: Any) -> datetime | None:
    """A timestamp in UTC within limits.YEARS, else None."""
    if not value:
        return None
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, str) and len(value) <= limits.DATETIME_TEXT:
        try:
            parsed = datetime.fromisoformat(value)  # the common case: a clean ISO string
        except ValueError:
            try:
                parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
            except ValueError:
                return None
    else:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    if parsed.tzinfo is UTC:
        return parsed if limits.year_ok(parsed) else None
    return limits.clamp_datetime(parsed)


def to_date(value: Any) -> date | None:
    if not value:
        return None
    try:
        parsed = date.fromisoformat(str(value).strip()[:10])
    except ValueError:
        return None
    return parsed if limits.year_ok(parsed) else None


def to_str(value: Any) -> str:
    return "" if value is None else str(value)


def to_upper(value: Any) -> str:
    """Codes (ISO country codes) in upper case."""
    return to_str(value).upper()


def order_status(value: Any) -> str:
    """An OrderStatus value for a known status in any letter case; other text title-cased."""
    text = to_str(value).strip()
    return _ORDER_STATUSES.get(text.lower(), text.title())


def using(convert: Converter) -> dict[str, Converter]:
    """Field metadata: convert this field with `convert` instead of by its annotation."""
    return {"convert": convert}


_SCALARS: dict[Any, Converter] = {
    int: to_int,
    str: to_str,
    bool: to_bool,
    Decimal: to_decimal,
    datetime: to_datetime,
    date: to_date,
}


def _list_of(convert: Converter) -> Converter:
    def convert_list(value: Any) -> list:
        return [convert(v) for v in value] if isinstance(value, list) else []  # not a list: none

    return convert_list


def _converter(annotation: Any) -> Converter:
    """The converter of a field annotated `annotation` (resolved, not a string)."""
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        present = [a for a in typing.get_args(annotation) if a is not type(None)]
        if len(present) == 1:  # `X | None`: converted as X (the converters give None for null)
            annotation = present[0]
            origin = typing.get_origin(annotation)
    if origin is list:
        return _list_of(_converter(typing.get_args(annotation)[0]))
    if annotation in _SCALARS:
        return _SCALARS[annotation]
    if isinstance(annotation, type) and issubclass(annotation, Record):
        return annotation.from_api
    raise TypeError(f"no converter for a field annotated {annotation!r}; name one with using()")


@dataclass(slots=True)
class Record:
    raw: dict = field(default_factory=dict, repr=False)

    # Worked out once per class, on its first parse: (payload key, converter) in field order,
    # and the payload keys the record knows.
    _PLAN: ClassVar[tuple[tuple[str, Converter], ...]]
    _KNOWN: ClassVar[frozenset[str]]

    @classmethod
    def _wrap(cls, payload: Any) -> dict:
        """A payload that is not an object: null (or anything else) reads as an empty object."""
        return {}

    @classmethod
    def _plan(cls) -> tuple[tuple[str, Converter], ...]:
        plan = cls.__dict__.get("_PLAN")
        if plan is None:
            hints = typing.get_type_hints(cls)
            plan = tuple(
                (f.name, f.metadata.get("convert") or _converter(hints[f.name])) for f in fields(cls) if f.name != "raw"
            )
            cls._KNOWN = frozenset(key for key, _ in plan)
            cls._PLAN = plan
        return plan

    @classmethod
    def from_api(cls, payload: Any) -> Self:
        plan = cls.__dict__.get("_PLAN") or cls._plan()
        if not isinstance(payload, dict):
            payload = cls._wrap(payload)
        get = payload.get
        return cls(payload, *[convert(get(key)) for key, convert in plan])

    @property
    def extra(self) -> dict:
        """The payload's fields this record does not know."""
        cls = type(self)
        cls._plan()
        return {k: v for k, v in self.raw.items() if k not in cls._KNOWN}


@dataclass(slots=True)
class Country(Record):
    id: int | None = None
    iso_code: str = field(default="", metadata=using(to_upper))
    name: str = ""
    created_at: datetime | None = None
    updated_at: datetime | None = None


@dataclass(slots=True)
class ShipMethod(Record):
    id: int | None = None
    name: str = ""
    description: str = ""
    carrier: str = ""


@dataclass(slots=True)
class Item(Record):
    id: int | None = None
    name: str = ""
    description: str = ""
    item_category_id: int | None = None
    stocked: bool | None = None
    serialized: bool | None = None
    weight: Decimal | None = None
    manufacturer_sku: str = ""
    owner_id: int | None = None
    manufacturer_id: int | None = None
    purchasing_group_id: int | None = None
    archived_at: datetime | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None


@dataclass(slots=True)
class CustomerCatalogItem(Record):
    id: int | None = None
    customer_sku: str = ""
    price: Decimal | None = None
    item_id: int | None = None


@dataclass(slots=True)
class Inventory(Record):
    id: int | None = None
    item_id: int | None = None
    inventory_location_id: int | None = None
    quantity_on_hand: Decimal | None = None
    quantity_allocated: Decimal | None = None
    quantity_on_order: Decimal | None = None
    average_cost: Decimal | None = None
    last_cost: Decimal | None = None
    reorder_level: Decimal | None = None
    order_up_to_level: Decimal | None = None
    lead_time: int | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None


@dataclass(slots=True)
class Invoice(Record):
    id: int | None = None
    order_id: int | None = None
    billed_at: datetime | None = None
    total: Decimal | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None


@dataclass(slots=True)
class OrderParty(Record):
    name: str = ""
    company: str = ""
    email: str = ""
    phone: str = ""
    address_1: str = ""
    address_2: str = ""
    address_3: str = ""
    city: str = ""
    state: str = ""
    zip: str = ""
    country: str = field(default="", metadata=using(to_upper))


@dataclass(slots=True)
class OrderLine(Record):
    product_code: str = ""
    quantity: int | None = None
    customs_declared_value: Decimal | None = None
    serial_numbers: list[str] = field(default_factory=list)


@dataclass(slots=True)
class TrackingNumber(Record):
    tracking_number: str = ""
    weight: Decimal | None = None


@dataclass(slots=True)
class InvoiceRef(Record):
    invoice_number: int | None = None

    @classmethod
    def _wrap(cls, payload: Any) -> dict:
        return {"invoice_number": payload}  # the bare number, as some examples send it


@dataclass(slots=True)
class Order(Record):
    id: int | None = None
    organization_id: int | None = None
    purchase_order: str = ""
    customer_order: str = ""
    ship_method_id: int | None = None
    ship_method: str = ""
    ship_account: str = ""
    notes: str = ""
    customer_rma_case: str = ""
    duties_and_taxes_account: str = ""
    status: str = field(default="", metadata=using(order_status))
    recipient: OrderParty = field(default_factory=OrderParty)
    importer_of_record: OrderParty = field(default_factory=OrderParty)
    lines: list[OrderLine] = field(default_factory=list)
    tracking_numbers: list[TrackingNumber] = field(default_factory=list)
    invoices: list[InvoiceRef] = field(default_factory=list)
    # MBX edition / POST response extras
    end_user_po: str = ""
    end_user_name: str = ""
    end_user_order_dt: datetime | None = None
    promise_date: date | None = None
    customer_data: str = ""
    recipient_id: int | None = None
    importer_of_record_id: int | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None

    @property
    def invoice_numbers(self) -> list[int]:
        return [i.invoice_number for i in self.invoices if i.invoice_number]


@dataclass(slots=True)
class Category(Record):
    id: int | None = None
    name: str = ""


@dataclass(slots=True)
class RmaItem(Record):
    id: int | None = None
    name: str = ""
    description: str = ""
    category: Category = field(default_factory=Category)


@dataclass(slots=True)
class Note(Record):
    id: int | None = None
    message: str = ""
    created_at: datetime | None = None
    updated_at: datetime | None = None


@dataclass(slots=True)
class RmaLine(Record):
    quantity: int | None = None
    item: RmaItem = field(default_factory=RmaItem)


@dataclass(slots=True)
class RmaStatus(Record):
    id: int | None = None
    name: str = ""

    @classmethod
    def _wrap(cls, payload: Any) -> dict:
        return {"name": payload} if payload else {}  # the bare name, as some examples send it


@dataclass(slots=True)
class RmaSummary(Record):
    id: int | None = None
    subject: str = ""
    organization_id: int | None = None
    order_id: int | None = None
    repair_order_id: int | None = None
    replacement_order_id: int | None = None
    manufacturer_serial: str = ""
    start_date: date | None = None
    closed_date: date | None = None
    item: RmaItem = field(default_factory=RmaItem)
    status: RmaStatus = field(default_factory=RmaStatus)
    request_type_id: int | None = None

    @property
    def status_id(self) -> int | None:
        return self.status.id

    @property
    def status_name(self) -> str:
        return self.status.name

    @property
    def is_open(self) -> bool:
        return self.closed_date is None


@dataclass(slots=True)
class RmaDetail(RmaSummary):
    lines: list[RmaLine] = field(default_factory=list)
    problems: list[Note] = field(default_factory=list)
    troubleshootings: list[Note] = field(default_factory=list)
    results: list[Note] = field(default_factory=list)


@dataclass(slots=True)
class AutomationQueue(Record):
    id: int | None = None
    serial_id: int | None = None
    work_order_id: int | None = None
    finished: bool | None = None
    ip_address: str = ""


@dataclass(slots=True)
class AutomationTaskType(Record):
    id: int | None = None
    name: str = ""
    description: str = ""


@dataclass(slots=True)
class AutomationTask(Record):
    id: int | None = None
    automation_queue_id: int | None = None
    automation_task_type_id: int | None = None
    sequence: int | None = None
    started_at: datetime | None = None
    completed_at: datetime | None = None
    failed: bool | None = None
    message: str = ""
    assignee_id: int | None = None
    assignee_name: str = ""
    work_order_id: int | None = None
    serial_id: int | None = None
    item_id: int | None = None
    manufacturer_serial: str = ""


@dataclass(slots=True)
class SerialDatum(Record):
    id: int | None = None
    manufacturer_serial: str = ""
    serial_data_type_id: int | None = None
    metadata: str = ""
    value: str = ""
