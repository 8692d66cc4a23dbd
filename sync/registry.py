"""The one sync registry: resource -> endpoint, model, mapper, schedule (and hooks).

A resource's quirks live here, in its mapper and hooks, never in the engine.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from mirror import models as m
from upstream.api import AUTOMATION_TASKS_REPORT, COLLECTION_PATHS
from upstream.records import order_status, to_bool, to_date, to_datetime, to_decimal, to_int, to_str

from . import hooks

Mapper = Callable[[dict], dict]

MINUTE = 60
HOUR = 3600
DAY = 24 * HOUR


@dataclass(frozen=True)
class Resource:
    name: str
    path: str
    model: type
    mapper: Mapper
    schedule_seconds: int
    kind: str = "json"  # "json": paged envelope; "csv": a streamed report
    label: str = ""
    # (organization, client, changed: list[(mirror row id, upstream_id, raw)], run) -> None, inside the page's
    # transaction: rewrite child tables of rows whose content changed.
    after_page: Callable | None = None
    # (organization, client, run) -> None after a complete pass (e.g. fetch RMA details).
    after_run: Callable | None = None
    fields: tuple[str, ...] = field(default=())

    @property
    def title(self) -> str:
        return self.label or self.name.replace("_", " ").capitalize()


def _s(limit: int):
    return lambda v: to_str(v)[:limit]


REGISTRY: dict[str, Resource] = {}


def register(resource: Resource) -> Resource:
    fields = tuple(resource.mapper({}).keys())  # mappers tolerate an empty payload
    resource = Resource(**{**resource.__dict__, "fields": fields})
    REGISTRY[resource.name] = resource
    return resource


def get(name: str) -> Resource:
    try:
        return REGISTRY[name]
    except KeyError:
        raise KeyError(f"unknown resource {name!r}; known: {', '.join(REGISTRY)}") from None


register(
    Resource(
        "countries",
        COLLECTION_PATHS["countries"],
        m.Country,
        lambda r: {"iso_code": to_str(r.get("iso_code")).upper()[:10], "name": to_str(r.get("name"))[:255]},
        DAY,
    )
)
register(
    Resource(
        "ship_methods",
        COLLECTION_PATHS["ship_methods"],
        m.ShipMethod,
        lambda r: {
            "name": to_str(r.get("name"))[:255],
            "description": to_str(r.get("description"))[:510],
            "carrier": to_str(r.get("carrier"))[:255],
        },
        DAY,
        label="Ship methods",
    )
)
register(
    Resource(
        "items",
        COLLECTION_PATHS["items"],
        m.Item,
        lambda r: {
            "name": to_str(r.get("name"))[:510],
            "description": to_str(r.get("description"))[:510],
            "item_category_id": to_int(r.get("item_category_id")),
            "serialized": to_bool(r.get("serialized")),
            "stocked": to_bool(r.get("stocked")),
            "manufacturer_sku": to_str(r.get("manufacturer_sku"))[:255],
            "archived_at": to_datetime(r.get("archived_at")),
        },
        DAY,
    )
)
register(
    Resource(
        "customer_catalog_items",
        COLLECTION_PATHS["customer_catalog_items"],
        m.CatalogItem,
        lambda r: {
            "customer_sku": to_str(r.get("customer_sku"))[:255],
            "price": to_decimal(r.get("price")),
            "item_id": to_int(r.get("item_id")),
        },
        DAY,
        label="Catalog items",
    )
)
register(
    Resource(
        "inventories",
        COLLECTION_PATHS["inventories"],
        m.Inventory,
        lambda r: {
            "item_id": to_int(r.get("item_id")),
            "inventory_location_id": to_int(r.get("inventory_location_id")),
            "quantity_on_hand": to_decimal(r.get("quantity_on_hand")),
            "quantity_allocated": to_decimal(r.get("quantity_allocated")),
            "quantity_on_order": to_decimal(r.get("quantity_on_order")),
            "updated_upstream_at": to_datetime(r.get("updated_at")),
        },
        5 * MINUTE,
    )
)
register(
    Resource(
        "invoices",
        COLLECTION_PATHS["invoices"],
        m.Invoice,
        lambda r: {
            "order_id": to_int(r.get("order_id")),
            "billed_at": to_datetime(r.get("billed_at")),
            "total": to_decimal(r.get("total")),
            "updated_upstream_at": to_datetime(r.get("updated_at")),
        },
        15 * MINUTE,
    )
)


def _order(r: dict) -> dict:
    recipient = r.get("recipient") or {}
    return {
        "purchase_order": to_str(r.get("purchase_order"))[:255],
        "customer_order": to_str(r.get("customer_order"))[:255],
        "status": order_status(r.get("status"))[:20],
        "ship_method_id": to_int(r.get("ship_method_id")),
        "ship_method": to_str(r.get("ship_method"))[:255],
        "recipient_name": to_str(recipient.get("name"))[:255],
        "recipient_company": to_str(recipient.get("company"))[:255],
        "recipient_country": to_str(recipient.get("country")).upper()[:10],
        "created_upstream_at": to_datetime(r.get("created_at")),
        "updated_upstream_at": to_datetime(r.get("updated_at")),
    }


register(Resource("orders", COLLECTION_PATHS["orders"], m.Order, _order, 2 * MINUTE, after_page=hooks.order_children))


def _rma(r: dict) -> dict:
    item = r.get("item") or {}
    status = r.get("status") or {}
    category = item.get("category") or {} if isinstance(item, dict) else {}
    closed = to_date(r.get("closed_date"))
    return {
        "subject": to_str(r.get("subject"))[:255],
        "order_id": to_int(r.get("order_id")),
        "repair_order_id": to_int(r.get("repair_order_id")),
        "replacement_order_id": to_int(r.get("replacement_order_id")),
        "manufacturer_serial": to_str(r.get("manufacturer_serial"))[:255],
        "start_date": to_date(r.get("start_date")),
        "closed_date": closed,
        "status_id": to_int(status.get("id")) if isinstance(status, dict) else None,
        "status_name": to_str(status.get("name") if isinstance(status, dict) else status)[:100],
        "item_id": to_int(item.get("id")) if isinstance(item, dict) else None,
        "item_name": to_str(item.get("name") if isinstance(item, dict) else "")[:255],
        "category_name": to_str(category.get("name"))[:255],
        "is_open": closed is None,
    }


register(Resource("rmas", COLLECTION_PATHS["rmas"], m.Rma, _rma, 2 * MINUTE, label="RMAs", after_run=hooks.rma_details))
register(
    Resource(
        "automation_queues",
        COLLECTION_PATHS["automation_queues"],
        m.AutomationQueue,
        lambda r: {
            "serial_id": to_int(r.get("serial_id")),
            "work_order_id": to_int(r.get("work_order_id")),
            "finished": to_bool(r.get("finished")),
            "ip_address": to_str(r.get("ip_address"))[:255],
        },
        5 * MINUTE,
    )
)
register(
    Resource(
        "automation_task_types",
        COLLECTION_PATHS["automation_task_types"],
        m.AutomationTaskType,
        lambda r: {"name": to_str(r.get("name"))[:255], "description": to_str(r.get("description"))[:255]},
        DAY,
        label="Automation task types",
    )
)
register(
    Resource(
        "automation_tasks",
        AUTOMATION_TASKS_REPORT,
        m.AutomationTask,
        lambda r: {
            "automation_queue_id": to_int(r.get("automation_queue_id")),
            "automation_task_type_id": to_int(r.get("automation_task_type_id")),
            "sequence": to_int(r.get("sequence")),
            "started_at": to_datetime(r.get("started_at")),
            "completed_at": to_datetime(r.get("completed_at")),
            "failed": to_bool(r.get("failed")),
            "message": to_str(r.get("message"))[:500],
            "assignee_name": to_str(r.get("assignee_name"))[:255],
            "work_order_id": to_int(r.get("work_order_id")),
            "item_id": to_int(r.get("item_id")),
            "manufacturer_serial": to_str(r.get("manufacturer_serial"))[:255],
        },
        5 * MINUTE,
        kind="csv",
    )
)
register(
    Resource(
        "serial_data",
        COLLECTION_PATHS["serial_data"],
        m.SerialDatum,
        lambda r: {
            "manufacturer_serial": to_str(r.get("manufacturer_serial"))[:255],
            "serial_data_type_id": to_int(r.get("serial_data_type_id")),
            "metadata": to_str(r.get("metadata"))[:255],
            "value": to_str(r.get("value"))[:255],
        },
        15 * MINUTE,
        label="Serial data",
    )
)

REFERENCE = ["countries", "ship_methods", "items", "customer_catalog_items", "automation_task_types"]
