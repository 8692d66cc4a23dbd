"""Typed records of the upstream's payloads, tolerant of what the vendor examples show.

Every record keeps the whole payload in `.raw` and fields it does not know in `.extra`
(never an error). Parsing accepts: `null` in optional fields, numbers sent as strings,
decimals sent as floats (kept as Decimal via str(), never float arithmetic), booleans as
"true"/"1" (CSV), ISO datetimes with `Z`, an offset, or none (taken as UTC), and status
names in any letter case.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, ClassVar

from django.db import models


class OrderStatus(models.TextChoices):
    """The upstream's order statuses (the contract), as the mirror stores them."""

    PENDING = "Pending", "Pending"
    RELEASED = "Released", "Released"
    SHIPPED = "Shipped", "Shipped"


_ORDER_STATUS_BY_LOWER = {s.value.lower(): s.value for s in OrderStatus}


def to_int(value: Any) -> int | None:
    if value is None or value == "" or isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    try:
        return int(str(value).strip())
    except ValueError:
        try:
            return int(Decimal(str(value).strip()))
        except (InvalidOperation, ValueError):
            return None


def to_decimal(value: Any) -> Decimal | None:
    if value is None or value == "" or isinstance(value, bool):
        return None
    try:
        return Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        return None


def to_bool(value: Any) -> bool | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return value
    return str(value).strip().lower() in {"true", "1", "t", "yes", "y"}


def to_datetime(value: Any) -> datetime | None:
    if not value:
        return None
    if isinstance(value, datetime):
        parsed = value
    else:
        try:
            parsed = datetime.fromisoformat(str(value).strip().replace("Z", "+00:00"))
        except ValueError:
            return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def to_date(value: Any) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(str(value).strip()[:10])
    except ValueError:
        return None


def to_str(value: Any) -> str:
    return "" if value is None else str(value)


def order_status(value: Any) -> str:
    text = to_str(value).strip()
    return _ORDER_STATUS_BY_LOWER.get(text.lower(), text.title())


@dataclass(slots=True)
class Record:
    raw: dict = field(default_factory=dict, repr=False)
    extra: dict = field(default_factory=dict, repr=False)
    KNOWN: ClassVar[tuple[str, ...]] = ()

    @classmethod
    def parse(cls, payload: dict, **values):
        known = (set(cls.KNOWN) | {f.name for f in fields(cls)}) - {"raw", "extra"}
        extra = {k: v for k, v in payload.items() if k not in known}
        return cls(raw=payload, extra=extra, **values)


@dataclass(slots=True)
class Country(Record):
    id: int | None = None
    iso_code: str = ""
    name: str = ""
    created_at: datetime | None = None
    updated_at: datetime | None = None

    @classmethod
    def from_api(cls, p: dict) -> Country:
        return cls.parse(
            p,
            id=to_int(p.get("id")),
            iso_code=to_str(p.get("iso_code")).upper(),
            name=to_str(p.get("name")),
            created_at=to_datetime(p.get("created_at")),
            updated_at=to_datetime(p.get("updated_at")),
        )


@dataclass(slots=True)
class ShipMethod(Record):
    id: int | None = None
    name: str = ""
    description: str = ""
    carrier: str = ""

    @classmethod
    def from_api(cls, p: dict) -> ShipMethod:
        return cls.parse(
            p,
            id=to_int(p.get("id")),
            name=to_str(p.get("name")),
            description=to_str(p.get("description")),
            carrier=to_str(p.get("carrier")),
        )


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

    @classmethod
    def from_api(cls, p: dict) -> Item:
        return cls.parse(
            p,
            id=to_int(p.get("id")),
            name=to_str(p.get("name")),
            description=to_str(p.get("description")),
            item_category_id=to_int(p.get("item_category_id")),
            stocked=to_bool(p.get("stocked")),
            serialized=to_bool(p.get("serialized")),
            weight=to_decimal(p.get("weight")),
            manufacturer_sku=to_str(p.get("manufacturer_sku")),
            owner_id=to_int(p.get("owner_id")),
            manufacturer_id=to_int(p.get("manufacturer_id")),
            purchasing_group_id=to_int(p.get("purchasing_group_id")),
            archived_at=to_datetime(p.get("archived_at")),
            created_at=to_datetime(p.get("created_at")),
            updated_at=to_datetime(p.get("updated_at")),
        )


@dataclass(slots=True)
class CustomerCatalogItem(Record):
    id: int | None = None
    customer_sku: str = ""
    price: Decimal | None = None
    item_id: int | None = None

    @classmethod
    def from_api(cls, p: dict) -> CustomerCatalogItem:
        return cls.parse(
            p,
            id=to_int(p.get("id")),
            customer_sku=to_str(p.get("customer_sku")),
            price=to_decimal(p.get("price")),
            item_id=to_int(p.get("item_id")),
        )


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

    @classmethod
    def from_api(cls, p: dict) -> Inventory:
        d = to_decimal
        return cls.parse(
            p,
            id=to_int(p.get("id")),
            item_id=to_int(p.get("item_id")),
            inventory_location_id=to_int(p.get("inventory_location_id")),
            quantity_on_hand=d(p.get("quantity_on_hand")),
            quantity_allocated=d(p.get("quantity_allocated")),
            quantity_on_order=d(p.get("quantity_on_order")),
            average_cost=d(p.get("average_cost")),
            last_cost=d(p.get("last_cost")),
            reorder_level=d(p.get("reorder_level")),
            order_up_to_level=d(p.get("order_up_to_level")),
            lead_time=to_int(p.get("lead_time")),
            created_at=to_datetime(p.get("created_at")),
            updated_at=to_datetime(p.get("updated_at")),
        )


@dataclass(slots=True)
class Invoice(Record):
    id: int | None = None
    order_id: int | None = None
    billed_at: datetime | None = None
    total: Decimal | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None

    @classmethod
    def from_api(cls, p: dict) -> Invoice:
        return cls.parse(
            p,
            id=to_int(p.get("id")),
            order_id=to_int(p.get("order_id")),
            billed_at=to_datetime(p.get("billed_at")),
            total=to_decimal(p.get("total")),
            created_at=to_datetime(p.get("created_at")),
            updated_at=to_datetime(p.get("updated_at")),
        )


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
    country: str = ""

    @classmethod
    def from_api(cls, p: dict | None) -> OrderParty:
        p = p or {}
        values = {
            f: to_str(p.get(f))
            for f in (
                "name",
                "company",
                "email",
                "phone",
                "address_1",
                "address_2",
                "address_3",
                "city",
                "state",
                "zip",
            )
        }
        return cls.parse(p, country=to_str(p.get("country")).upper(), **values)


@dataclass(slots=True)
class OrderLine(Record):
    product_code: str = ""
    quantity: int | None = None
    customs_declared_value: Decimal | None = None
    serial_numbers: list[str] = field(default_factory=list)

    @classmethod
    def from_api(cls, p: dict) -> OrderLine:
        return cls.parse(
            p,
            product_code=to_str(p.get("product_code")),
            quantity=to_int(p.get("quantity")),
            customs_declared_value=to_decimal(p.get("customs_declared_value")),
            serial_numbers=[to_str(s) for s in (p.get("serial_numbers") or [])],
        )


@dataclass(slots=True)
class TrackingNumber(Record):
    tracking_number: str = ""
    weight: Decimal | None = None

    @classmethod
    def from_api(cls, p: dict) -> TrackingNumber:
        return cls.parse(p, tracking_number=to_str(p.get("tracking_number")), weight=to_decimal(p.get("weight")))


@dataclass(slots=True)
class InvoiceRef(Record):
    invoice_number: int | None = None

    @classmethod
    def from_api(cls, p: dict) -> InvoiceRef:
        p = p if isinstance(p, dict) else {"invoice_number": p}
        return cls.parse(p, invoice_number=to_int(p.get("invoice_number")))


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
    status: str = ""
    recipient: OrderParty | None = None
    importer_of_record: OrderParty | None = None
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

    @classmethod
    def from_api(cls, p: dict) -> Order:
        return cls.parse(
            p,
            id=to_int(p.get("id")),
            organization_id=to_int(p.get("organization_id")),
            purchase_order=to_str(p.get("purchase_order")),
            customer_order=to_str(p.get("customer_order")),
            ship_method_id=to_int(p.get("ship_method_id")),
            ship_method=to_str(p.get("ship_method")),
            ship_account=to_str(p.get("ship_account")),
            notes=to_str(p.get("notes")),
            customer_rma_case=to_str(p.get("customer_rma_case")),
            duties_and_taxes_account=to_str(p.get("duties_and_taxes_account")),
            status=order_status(p.get("status")),
            recipient=OrderParty.from_api(p.get("recipient")),
            importer_of_record=OrderParty.from_api(p.get("importer_of_record")),
            lines=[OrderLine.from_api(ln) for ln in p.get("lines") or []],
            tracking_numbers=[TrackingNumber.from_api(t) for t in p.get("tracking_numbers") or []],
            invoices=[InvoiceRef.from_api(i) for i in p.get("invoices") or []],
            end_user_po=to_str(p.get("end_user_po")),
            end_user_name=to_str(p.get("end_user_name")),
            end_user_order_dt=to_datetime(p.get("end_user_order_dt")),
            promise_date=to_date(p.get("promise_date")),
            customer_data=to_str(p.get("customer_data")),
            recipient_id=to_int(p.get("recipient_id")),
            importer_of_record_id=to_int(p.get("importer_of_record_id")),
            created_at=to_datetime(p.get("created_at")),
            updated_at=to_datetime(p.get("updated_at")),
        )


@dataclass(slots=True)
class Category(Record):
    id: int | None = None
    name: str = ""

    @classmethod
    def from_api(cls, p: dict | None) -> Category:
        p = p or {}
        return cls.parse(p, id=to_int(p.get("id")), name=to_str(p.get("name")))


@dataclass(slots=True)
class RmaItem(Record):
    id: int | None = None
    name: str = ""
    description: str = ""
    category: Category | None = None

    @classmethod
    def from_api(cls, p: dict | None) -> RmaItem:
        p = p or {}
        return cls.parse(
            p,
            id=to_int(p.get("id")),
            name=to_str(p.get("name")),
            description=to_str(p.get("description")),
            category=Category.from_api(p.get("category")),
        )


@dataclass(slots=True)
class Note(Record):
    id: int | None = None
    message: str = ""
    created_at: datetime | None = None
    updated_at: datetime | None = None

    @classmethod
    def from_api(cls, p: dict) -> Note:
        return cls.parse(
            p,
            id=to_int(p.get("id")),
            message=to_str(p.get("message")),
            created_at=to_datetime(p.get("created_at")),
            updated_at=to_datetime(p.get("updated_at")),
        )


@dataclass(slots=True)
class RmaLine(Record):
    quantity: int | None = None
    item: RmaItem | None = None

    @classmethod
    def from_api(cls, p: dict) -> RmaLine:
        return cls.parse(p, quantity=to_int(p.get("quantity")), item=RmaItem.from_api(p.get("item")))


@dataclass(slots=True)
class RmaStatus(Record):
    id: int | None = None
    name: str = ""

    @classmethod
    def from_api(cls, p: Any) -> RmaStatus:
        p = p if isinstance(p, dict) else ({"name": p} if p else {})
        return cls.parse(p, id=to_int(p.get("id")), name=to_str(p.get("name")))


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
    item: RmaItem | None = None
    status: RmaStatus | None = None

    @classmethod
    def values(cls, p: dict) -> dict:
        return dict(
            id=to_int(p.get("id")),
            subject=to_str(p.get("subject")),
            organization_id=to_int(p.get("organization_id")),
            order_id=to_int(p.get("order_id")),
            repair_order_id=to_int(p.get("repair_order_id")),
            replacement_order_id=to_int(p.get("replacement_order_id")),
            manufacturer_serial=to_str(p.get("manufacturer_serial")),
            start_date=to_date(p.get("start_date")),
            closed_date=to_date(p.get("closed_date")),
            item=RmaItem.from_api(p.get("item")),
            status=RmaStatus.from_api(p.get("status")),
        )

    @classmethod
    def from_api(cls, p: dict) -> RmaSummary:
        return cls.parse(p, **cls.values(p))

    @property
    def status_id(self) -> int | None:
        return self.status.id if self.status else None

    @property
    def status_name(self) -> str:
        return self.status.name if self.status else ""

    @property
    def is_open(self) -> bool:
        return self.closed_date is None


@dataclass(slots=True)
class RmaDetail(RmaSummary):
    lines: list[RmaLine] = field(default_factory=list)
    problems: list[Note] = field(default_factory=list)
    troubleshootings: list[Note] = field(default_factory=list)
    results: list[Note] = field(default_factory=list)

    @classmethod
    def from_api(cls, p: dict) -> RmaDetail:
        return cls.parse(
            p,
            **cls.values(p),
            lines=[RmaLine.from_api(ln) for ln in p.get("lines") or []],
            problems=[Note.from_api(n) for n in p.get("problems") or []],
            troubleshootings=[Note.from_api(n) for n in p.get("troubleshootings") or []],
            results=[Note.from_api(n) for n in p.get("results") or []],
        )


@dataclass(slots=True)
class AutomationQueue(Record):
    id: int | None = None
    serial_id: int | None = None
    work_order_id: int | None = None
    finished: bool | None = None
    ip_address: str = ""

    @classmethod
    def from_api(cls, p: dict) -> AutomationQueue:
        return cls.parse(
            p,
            id=to_int(p.get("id")),
            serial_id=to_int(p.get("serial_id")),
            work_order_id=to_int(p.get("work_order_id")),
            finished=to_bool(p.get("finished")),
            ip_address=to_str(p.get("ip_address")),
        )


@dataclass(slots=True)
class AutomationTaskType(Record):
    id: int | None = None
    name: str = ""
    description: str = ""

    @classmethod
    def from_api(cls, p: dict) -> AutomationTaskType:
        return cls.parse(
            p, id=to_int(p.get("id")), name=to_str(p.get("name")), description=to_str(p.get("description"))
        )


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

    @classmethod
    def from_api(cls, p: dict) -> AutomationTask:
        i = to_int
        return cls.parse(
            p,
            id=i(p.get("id")),
            automation_queue_id=i(p.get("automation_queue_id")),
            automation_task_type_id=i(p.get("automation_task_type_id")),
            sequence=i(p.get("sequence")),
            started_at=to_datetime(p.get("started_at")),
            completed_at=to_datetime(p.get("completed_at")),
            failed=to_bool(p.get("failed")),
            message=to_str(p.get("message")),
            assignee_id=i(p.get("assignee_id")),
            assignee_name=to_str(p.get("assignee_name")),
            work_order_id=i(p.get("work_order_id")),
            serial_id=i(p.get("serial_id")),
            item_id=i(p.get("item_id")),
            manufacturer_serial=to_str(p.get("manufacturer_serial")),
        )


@dataclass(slots=True)
class SerialDatum(Record):
    id: int | None = None
    manufacturer_serial: str = ""
    serial_data_type_id: int | None = None
    metadata: str = ""
    value: str = ""

    @classmethod
    def from_api(cls, p: dict) -> SerialDatum:
        return cls.parse(
            p,
            id=to_int(p.get("id")),
            manufacturer_serial=to_str(p.get("manufacturer_serial")),
            serial_data_type_id=to_int(p.get("serial_data_type_id")),
            metadata=to_str(p.get("metadata")),
            value=to_str(p.get("value")),
        )
