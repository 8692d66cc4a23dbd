"""The one sync registry: resource -> endpoint, model, record, schedule (and hooks).

A resource's quirks live here, in its column sources and hooks, never in the engine. Its
mirror columns come from its typed record (upstream.records, the one mapping of payloads)
through sync.columns: the column of the same name, or the dotted record attribute named in
`sources` where the names differ.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from mirror import models as m
from upstream import records as r
from upstream.api import AUTOMATION_TASKS_REPORT, COLLECTION_PATHS

from . import hooks
from .columns import Columns, column_plan

MINUTE = 60
HOUR = 3600
DAY = 24 * HOUR


@dataclass(frozen=True)
class Resource:
    name: str
    path: str
    model: type[m.MirrorModel]
    record: type[r.Record]
    schedule_seconds: int
    kind: str = "json"  # "json": paged envelope; "csv": a streamed report
    label: str = ""
    # (organization, client, changed: list[(mirror row id, upstream_id, raw)], run) -> None, inside the page's
    # transaction: rewrite child tables of rows whose content changed.
    after_page: Callable | None = None
    # (organization, client, run) -> None after a complete pass (e.g. fetch RMA details).
    after_run: Callable | None = None
    # column -> dotted record attribute, where they are named differently
    sources: Mapping[str, str] = field(default_factory=dict, compare=False)
    # columns of the model filled elsewhere (e.g. by a hook), not from the record
    skip: tuple[str, ...] = ()
    columns: Columns = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        plan = column_plan(self.model, self.record, sources=self.sources, skip=self.skip)
        object.__setattr__(self, "columns", plan)

    @property
    def title(self) -> str:
        return self.label or self.name.replace("_", " ").capitalize()

    @property
    def mapper(self) -> Callable[[Any], dict[str, Any]]:
        """Payload -> column values of the mirror row."""
        return self.columns.of

    @property
    def fields(self) -> tuple[str, ...]:
        """The mirror columns the mapper fills, in the model's order."""
        return self.columns.names


REGISTRY: dict[str, Resource] = {}


def register(resource: Resource) -> Resource:
    REGISTRY[resource.name] = resource
    return resource


# Hooks other apps add to a resource (in their hooks.py), run after the resource's own:
# "after_page" (organization, client, changed, run) inside each page's transaction,
# "after_vanish" (organization, run) inside the transaction that flags vanished rows,
# "after_detail" (organization, row) inside the transaction that stores a row's detail (RMAs), and
# "after_finish" (organization, run) once a run has ended and its row is saved, success or failure
# (outside any transaction of the run; an error there is logged, the run stands).
_LISTENERS: dict[tuple[str, str], list[Callable]] = {}


def listen(
    name: str,
    *,
    after_page: Callable | None = None,
    after_vanish: Callable | None = None,
    after_detail: Callable | None = None,
    after_finish: Callable | None = None,
) -> None:
    get(name)
    for when, hook in (
        ("after_page", after_page),
        ("after_vanish", after_vanish),
        ("after_detail", after_detail),
        ("after_finish", after_finish),
    ):
        if hook is not None and hook not in _LISTENERS.setdefault((name, when), []):
            _LISTENERS[(name, when)].append(hook)


def page_hooks(resource: Resource) -> list[Callable]:
    own = [resource.after_page] if resource.after_page else []
    return own + _LISTENERS.get((resource.name, "after_page"), [])


def vanish_hooks(resource: Resource) -> list[Callable]:
    return list(_LISTENERS.get((resource.name, "after_vanish"), []))


def detail_hooks(resource: Resource) -> list[Callable]:
    return list(_LISTENERS.get((resource.name, "after_detail"), []))


def finish_hooks(resource: Resource) -> list[Callable]:
    return list(_LISTENERS.get((resource.name, "after_finish"), []))


def get(name: str) -> Resource:
    try:
        return REGISTRY[name]
    except KeyError:
        raise KeyError(f"unknown resource {name!r}; known: {', '.join(REGISTRY)}") from None


UPDATED = {"updated_upstream_at": "updated_at"}

register(Resource("countries", COLLECTION_PATHS["countries"], m.Country, r.Country, DAY))
register(
    Resource("ship_methods", COLLECTION_PATHS["ship_methods"], m.ShipMethod, r.ShipMethod, DAY, label="Ship methods")
)
register(Resource("items", COLLECTION_PATHS["items"], m.Item, r.Item, DAY))
register(
    Resource(
        "customer_catalog_items",
        COLLECTION_PATHS["customer_catalog_items"],
        m.CatalogItem,
        r.CustomerCatalogItem,
        DAY,
        label="Catalog items",
    )
)
register(
    Resource("inventories", COLLECTION_PATHS["inventories"], m.Inventory, r.Inventory, 5 * MINUTE, sources=UPDATED)
)
register(Resource("invoices", COLLECTION_PATHS["invoices"], m.Invoice, r.Invoice, 15 * MINUTE, sources=UPDATED))
register(
    Resource(
        "orders",
        COLLECTION_PATHS["orders"],
        m.Order,
        r.Order,
        2 * MINUTE,
        after_page=hooks.order_children,
        sources={
            "recipient_name": "recipient.name",
            "recipient_company": "recipient.company",
            "recipient_country": "recipient.country",
            "created_upstream_at": "created_at",
            **UPDATED,
        },
    )
)
register(
    Resource(
        "rmas",
        COLLECTION_PATHS["rmas"],
        m.Rma,
        r.RmaSummary,
        2 * MINUTE,
        label="RMAs",
        after_run=hooks.rma_details,
        sources={"item_id": "item.id", "item_name": "item.name", "category_name": "item.category.name"},
        skip=("detail", "detail_hash", "detail_fetched_at"),  # hooks.rma_details
    )
)
register(
    Resource(
        "automation_queues", COLLECTION_PATHS["automation_queues"], m.AutomationQueue, r.AutomationQueue, 5 * MINUTE
    )
)
register(
    Resource(
        "automation_task_types",
        COLLECTION_PATHS["automation_task_types"],
        m.AutomationTaskType,
        r.AutomationTaskType,
        DAY,
        label="Automation task types",
    )
)
register(
    Resource("automation_tasks", AUTOMATION_TASKS_REPORT, m.AutomationTask, r.AutomationTask, 5 * MINUTE, kind="csv")
)
register(
    Resource(
        "serial_data", COLLECTION_PATHS["serial_data"], m.SerialDatum, r.SerialDatum, 15 * MINUTE, label="Serial data"
    )
)

REFERENCE = ["countries", "ship_methods", "items", "customer_catalog_items", "automation_task_types"]
