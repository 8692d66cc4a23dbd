"""The home dashboard's cards: each a tally (what a worker counts, and from what) and how it shows.

Every number links to the filtered list behind it, with the list's own filter names, so that
the list shows the same number: the orders list's tabs and `status` filter (`orders.lists`),
the RMA lists' Open tab and `status` filter (`rmas.lists`), the automation board's "In progress"
tab and `failed_since` filter (`automation.lists`), the inventory list's "below" tab, the invoices
list's billed range of a month (`invoices.tallies.list_url`), the freshness page's rows.

Who sees what: viewers (dashboards) and managers see every card; buyers orders, inventory and
invoices; service staff RMAs and inventory; operators the automation line; every member the
data freshness.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.contrib.humanize.templatetags.humanize import naturaltime
from django.utils.dateparse import parse_datetime

from accounts.roles import ALL_ROLES, Role
from automation.tallies import line_status
from inventory.tallies import below_reorder
from invoices.tallies import month_totals
from orders.tallies import by_status
from outbox.models import OPEN_STATUSES, Delivery
from rmas.tallies import open_by_status
from sync import registry
from sync.tallies import freshness
from upstream.records import OrderStatus

from .presenters import Figure, Group, link, number
from .tallies import RUNS, register

EVERYONE = ALL_ROLES
WATCHERS = (Role.VIEWER, Role.MANAGER)  # see every card


# -- orders --------------------------------------------------------------------------------------
ORDER_TABS = ((OrderStatus.PENDING, "pending"), (OrderStatus.RELEASED, "released"), (OrderStatus.SHIPPED, "shipped"))


def orders_card(value: dict[str, int], now: datetime) -> list[Group]:
    def n(*statuses: str) -> int:
        return sum(value.get(str(s), 0) for s in statuses)

    waiting = n(*OPEN_STATUSES)
    rejected = n(Delivery.Status.REJECTED)
    failed = n(Delivery.Status.FAILED)
    return [
        Group(
            "By status",
            [Figure(status.label, number(n(status)), link("orders:list", tab=tab)) for status, tab in ORDER_TABS],
        ),
        Group(
            "Sent from here",
            [
                Figure(
                    "Waiting to be sent",
                    number(waiting),
                    link("orders:list", status=[str(s) for s in OPEN_STATUSES]),
                    tone="warn" if n(Delivery.Status.RETRYING) else "",
                ),
                Figure(
                    "Rejected",
                    number(rejected),
                    link("orders:list", status=Delivery.Status.REJECTED),
                    "bad" * bool(rejected),
                ),
                Figure(
                    "Failed", number(failed), link("orders:list", status=Delivery.Status.FAILED), "bad" * bool(failed)
                ),
            ],
        ),
    ]


register(
    "orders",
    by_status,
    roles=(Role.BUYER, *WATCHERS),
    reads=("orders",),
    card=orders_card,
    title="Orders",
    link="orders:list",
)


# -- RMAs ----------------------------------------------------------------------------------------
def rmas_card(value: dict[str, Any], now: datetime) -> list[Group]:
    from rmas.lists import TONES, status_label
    from rmas.rows import row_url

    by_status: dict[str, int] = value.get("by_status") or {}
    total = sum(by_status.values())
    figures = [Figure("All open", number(total), link("rmas:list", tab="open"))]
    tones: dict[str, str] = {str(status): tone for status, tone in TONES.items()}
    for status, count in sorted(by_status.items(), key=lambda item: (-item[1], item[0])):
        url = link("rmas:list", tab="open", status=status)
        figures.append(Figure(status_label(status), number(count), url, tones.get(status, "")))
    groups = [Group("Open, by status", figures)]
    oldest = value.get("oldest")
    if oldest:
        started = date.fromisoformat(oldest["start_date"])
        days = (now.date() - started).days
        label = oldest["subject"] or oldest["manufacturer_serial"] or "RMA"
        if oldest.get("upstream_id"):
            label = f"{label} (RMA {oldest['upstream_id']})"
        groups.append(
            Group(
                "Oldest open",
                [
                    Figure(
                        label,
                        f"{days:,} day{'s' * (days != 1)}",
                        row_url(oldest["rma_id"], oldest["submission_id"]),
                        note=f"started {started:%-d %b %Y}",
                    )
                ],
            )
        )
    return groups


register(
    "rmas",
    open_by_status,
    roles=(Role.SERVICE, *WATCHERS),
    reads=("rmas",),
    card=rmas_card,
    title="RMAs",
    link="rmas:list",
)


# -- inventory (inventory.tallies, the inventory list's "Below reorder level" tab) -------------------
def inventory_card(value: int, now: datetime) -> list[Group]:
    return [
        Group(
            "Stock",
            [
                Figure(
                    "Items below reorder level",
                    number(value),
                    link("inventory:list", tab="below"),
                    "warn" * bool(value),
                )
            ],
        )
    ]


register(
    "inventory",
    below_reorder,
    roles=(Role.BUYER, Role.SERVICE, *WATCHERS),
    reads=("inventories", "items", "customer_catalog_items"),
    card=inventory_card,
    title="Inventory",
    link="inventory:list",
)


# -- invoices (invoices.tallies: the month table the invoices list keeps) ---------------------------
def invoice_months(organization_id: int) -> list[dict[str, Any]]:
    """Last month and this month (in the portal's time zone): how many invoices were billed, and their total."""
    return [
        {"month": m.month.isoformat(), "invoices": m.invoices, "total": str(m.total)}
        for m in month_totals(organization_id, months=2)
    ]


def invoices_card(value: list[dict[str, Any]], now: datetime) -> list[Group]:
    from invoices.tallies import list_url

    figures = []
    for label, month in zip(("Last month", "This month"), value[-2:], strict=False):
        first = date.fromisoformat(month["month"])
        figures.append(
            Figure(
                f"{label} ({first:%b %Y})",
                number(month["invoices"]),
                list_url(first),
                note=f"total {Decimal(month['total']):,.2f}",
            )
        )
    if len(value) >= 2:
        last, this = (Decimal(m["total"]) for m in value[-2:])
        if last:
            change = (this - last) / last * 100
            figures[-1] = replace(figures[-1], note=f"{figures[-1].note}, {change:+.0f} % on last month")
    return [Group("Billed", figures)]


register(
    "invoices",
    invoice_months,
    roles=(Role.BUYER, *WATCHERS),
    reads=("invoices",),
    card=invoices_card,
    title="Invoices",
    link="invoices:list",
    max_age=3600,  # "this month" moves on the first of the month: recounted hourly even when nothing changes
)


# -- automation ----------------------------------------------------------------------------------
def automation_card(value: dict[str, Any], now: datetime) -> list[Group]:
    failed = value.get("tasks_failed", 0)
    return [
        Group(
            "Line",
            [
                Figure(
                    "Queues in progress",
                    number(value.get("queues_in_progress")),
                    link("automation:list", tab="in_progress"),
                ),
                Figure(
                    "Tasks failed in the last 24 hours",
                    number(failed),
                    link("automation:list", failed_since=value.get("failed_since")),
                    "bad" * bool(failed),
                ),
            ],
        )
    ]


register(
    "automation",
    line_status,
    roles=(Role.OPERATOR, *WATCHERS),
    reads=("automation_queues", "automation_tasks"),
    card=automation_card,
    title="Automation",
    link="automation:list",
    max_age=300,  # the 24-hour window moves: recounted every 5 minutes even when nothing changes
)


# -- data freshness ------------------------------------------------------------------------------
def freshness_card(value: list[dict[str, Any]], now: datetime) -> list[Group]:
    figures = []
    for row in value:
        try:
            resource = registry.get(row["resource"])
        except KeyError:
            continue  # a resource since removed from the registry
        finished = parse_datetime(row["finished"]) if row.get("finished") else None
        stale = finished is None or (now - finished).total_seconds() > 3 * resource.schedule_seconds
        tone = "bad" if row.get("failed") else ("warn" if stale else "ok")
        note = "last run failed" if row.get("failed") else ("syncing now" if row.get("working") else "")
        figures.append(
            Figure(
                resource.title,
                str(naturaltime(finished)) if finished else "never",
                link("sync:freshness") + f"#resource-{resource.name}",
                tone,
                note,
            )
        )
    return [Group("Last success", figures, empty="Nothing synced yet.")]


register(
    "freshness",
    freshness,
    roles=EVERYONE,
    reads=(RUNS,),
    card=freshness_card,
    title="Data freshness",
    link="sync:freshness",
)
