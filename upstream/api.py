"""Typed functions for every endpoint of both vendor editions, over one UpstreamClient.

Collections return lazy iterators of records (paged with offset/limit); writes take an
idempotency key so a lost answer can be retried safely.
"""

from __future__ import annotations

from collections.abc import Iterator

from .client import Page, UpstreamClient
from .records import (
    AutomationQueue,
    AutomationTask,
    AutomationTaskType,
    Country,
    CustomerCatalogItem,
    Inventory,
    Invoice,
    Item,
    Order,
    RmaDetail,
    RmaSummary,
    SerialDatum,
    ShipMethod,
)

# The one table of the upstream's paths: the typed calls below, the sync registry and its hooks
# take theirs from here (a collection's list and create, and its objects via object_path).
COLLECTION_PATHS = {
    "countries": "/v2/countries",
    "ship_methods": "/v2/ship_methods",
    "items": "/v2/items",
    "customer_catalog_items": "/v2/customer_catalog_items",
    "inventories": "/v2/inventories",
    "invoices": "/v2/invoices",
    "orders": "/v2/customer_order_submissions",
    "rmas": "/v2/rmas",
    "open_rmas": "/v2/rmas/open",
    "closed_rmas": "/v2/rmas/closed",
    "automation_queues": "/v2/automation_queues",
    "automation_task_types": "/v2/automation_task_types",
    "serial_data": "/v2/serial_data",
    # no list: a PUT updates a task's status, and the CSV report below lists every task
    "automation_tasks": "/v2/automation_tasks",
}
AUTOMATION_TASKS_REPORT = f"{COLLECTION_PATHS['automation_tasks']}/details.csv"
RECORDS = {
    "countries": Country,
    "ship_methods": ShipMethod,
    "items": Item,
    "customer_catalog_items": CustomerCatalogItem,
    "inventories": Inventory,
    "invoices": Invoice,
    "orders": Order,
    "rmas": RmaSummary,
    "open_rmas": RmaSummary,
    "closed_rmas": RmaSummary,
    "automation_queues": AutomationQueue,
    "automation_task_types": AutomationTaskType,
    "serial_data": SerialDatum,
}


def object_path(name: str, id_: int) -> str:
    """The path of one object of the collection `name` of COLLECTION_PATHS, e.g. /v2/rmas/15000."""
    return f"{COLLECTION_PATHS[name]}/{int(id_)}"


def pages(client: UpstreamClient, name: str, *, page_size: int = 1000, start_offset: int = 0) -> Iterator[Page]:
    """Raw pages (dict rows) of the collection `name` of COLLECTION_PATHS, for the sync engine."""
    return client.paginate(COLLECTION_PATHS[name], page_size=page_size, start_offset=start_offset)


def _each(client: UpstreamClient, name: str, record, page_size: int) -> Iterator:
    for page in pages(client, name, page_size=page_size):
        for row in page.results:
            yield record.from_api(row)


def _one(client: UpstreamClient, name: str, record, id_: int):
    return record.from_api(client.get(object_path(name, id_)))


def countries(client: UpstreamClient, page_size: int = 1000) -> Iterator[Country]:
    return _each(client, "countries", Country, page_size)


def country(client: UpstreamClient, id_: int) -> Country:
    return _one(client, "countries", Country, id_)


def ship_methods(client: UpstreamClient, page_size: int = 1000) -> Iterator[ShipMethod]:
    return _each(client, "ship_methods", ShipMethod, page_size)


def ship_method(client: UpstreamClient, id_: int) -> ShipMethod:
    return _one(client, "ship_methods", ShipMethod, id_)


def items(client: UpstreamClient, page_size: int = 1000) -> Iterator[Item]:
    return _each(client, "items", Item, page_size)


def item(client: UpstreamClient, id_: int) -> Item:
    return _one(client, "items", Item, id_)


def customer_catalog_items(client: UpstreamClient, page_size: int = 1000) -> Iterator[CustomerCatalogItem]:
    return _each(client, "customer_catalog_items", CustomerCatalogItem, page_size)


def customer_catalog_item(client: UpstreamClient, id_: int) -> CustomerCatalogItem:
    return _one(client, "customer_catalog_items", CustomerCatalogItem, id_)


def inventories(client: UpstreamClient, page_size: int = 1000) -> Iterator[Inventory]:
    return _each(client, "inventories", Inventory, page_size)


def inventory(client: UpstreamClient, id_: int) -> Inventory:
    return _one(client, "inventories", Inventory, id_)


def invoices(client: UpstreamClient, page_size: int = 1000) -> Iterator[Invoice]:
    return _each(client, "invoices", Invoice, page_size)


def invoice(client: UpstreamClient, id_: int) -> Invoice:
    return _one(client, "invoices", Invoice, id_)


def orders(client: UpstreamClient, page_size: int = 1000) -> Iterator[Order]:
    return _each(client, "orders", Order, page_size)


def order(client: UpstreamClient, id_: int) -> Order:
    return _one(client, "orders", Order, id_)


def create_order(client: UpstreamClient, payload: dict, idempotency_key: str) -> Order:
    return Order.from_api(client.post(COLLECTION_PATHS["orders"], payload, idempotency_key=idempotency_key))


def rmas(client: UpstreamClient, page_size: int = 1000) -> Iterator[RmaSummary]:
    return _each(client, "rmas", RmaSummary, page_size)


def open_rmas(client: UpstreamClient, page_size: int = 1000) -> Iterator[RmaSummary]:
    return _each(client, "open_rmas", RmaSummary, page_size)


def closed_rmas(client: UpstreamClient, page_size: int = 1000) -> Iterator[RmaSummary]:
    return _each(client, "closed_rmas", RmaSummary, page_size)


def rma(client: UpstreamClient, id_: int) -> RmaDetail:
    return _one(client, "rmas", RmaDetail, id_)


def create_rma(client: UpstreamClient, payload: dict, idempotency_key: str) -> RmaDetail:
    return RmaDetail.from_api(client.post(COLLECTION_PATHS["rmas"], payload, idempotency_key=idempotency_key))


def automation_queues(client: UpstreamClient, page_size: int = 1000) -> Iterator[AutomationQueue]:
    return _each(client, "automation_queues", AutomationQueue, page_size)


def automation_queue(client: UpstreamClient, id_: int) -> AutomationQueue:
    return _one(client, "automation_queues", AutomationQueue, id_)


def create_automation_queue(client: UpstreamClient, payload: dict, idempotency_key: str) -> AutomationQueue:
    return AutomationQueue.from_api(
        client.post(COLLECTION_PATHS["automation_queues"], payload, idempotency_key=idempotency_key)
    )


def automation_task_types(client: UpstreamClient, page_size: int = 1000) -> Iterator[AutomationTaskType]:
    return _each(client, "automation_task_types", AutomationTaskType, page_size)


def automation_task_type(client: UpstreamClient, id_: int) -> AutomationTaskType:
    return _one(client, "automation_task_types", AutomationTaskType, id_)


def update_automation_task(client: UpstreamClient, payload: dict, idempotency_key: str) -> AutomationTask:
    return AutomationTask.from_api(
        client.put(COLLECTION_PATHS["automation_tasks"], payload, idempotency_key=idempotency_key)
    )


def serial_data(client: UpstreamClient, page_size: int = 1000) -> Iterator[SerialDatum]:
    return _each(client, "serial_data", SerialDatum, page_size)


def create_serial_datum(client: UpstreamClient, payload: dict, idempotency_key: str) -> SerialDatum:
    return SerialDatum.from_api(client.post(COLLECTION_PATHS["serial_data"], payload, idempotency_key=idempotency_key))


def automation_tasks_report(client: UpstreamClient) -> Iterator[AutomationTask]:
    for row in client.get_csv(AUTOMATION_TASKS_REPORT):
        yield AutomationTask.from_api(row)
