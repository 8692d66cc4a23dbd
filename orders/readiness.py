"""What the order form needs from the integrator before it can take an order.

Ship methods, countries and catalog items are reference collections: a new organization's
first sync brings them in first (`sync.first_run`). Until each has rows, the form says what it
is still waiting for instead of offering an empty list, and refuses to submit (no order could
be valid yet). A collection that synced and is empty is the integrator's to fill: the form says
that instead.
"""

from __future__ import annotations

from dataclasses import dataclass

from mirror.models import CatalogItem, Country, ShipMethod
from sync import first_run

# (resource, mirror model, what the form calls it)
NEEDS = (
    ("ship_methods", ShipMethod, "ship methods"),
    ("countries", Country, "countries"),
    ("customer_catalog_items", CatalogItem, "catalog items"),
)
LOADING = "Still loading from the integrator…"
NONE_OFFERED = "None offered by the integrator"


@dataclass(frozen=True)
class Gap:
    resource: str
    label: str
    state: str  # "loading" (never synced yet), "failed" (its first sync failed; retried), "empty" (synced, none)

    @property
    def placeholder(self) -> str:
        return NONE_OFFERED if self.state == "empty" else LOADING


def gaps(organization) -> list[Gap]:
    """What the form lacks: one EXISTS per collection, and one query of the sync runs when one is empty."""
    empty = [
        (name, label) for name, model, label in NEEDS if not model.objects.for_org(organization).present().exists()
    ]
    if not empty:
        return []
    states = first_run.state(organization, [name for name, _ in empty])
    return [Gap(name, label, "empty" if states[name] == "ready" else states[name]) for name, label in empty]


def _listed(labels: list[str]) -> str:
    return labels[0] if len(labels) == 1 else ", ".join(labels[:-1]) + " and " + labels[-1]


def explain(found: list[Gap]) -> list[str]:
    """Sentences for the form's banner, most urgent first."""
    out = []
    waiting = [g.label for g in found if g.state != "empty"]
    if waiting:
        text = (
            f"{LOADING} Its {_listed(waiting)} have not arrived yet, so no order can be placed. "
            "A new organization's first sync brings them in first, usually within a minute: reload this page then."
        )
        if any(g.state == "failed" for g in found):
            text += " The last attempt failed and is retried on its own; Data freshness shows why."
        out.append(text)
    empty = [g.label for g in found if g.state == "empty"]
    if empty:
        out.append(
            f"The integrator lists no {_listed(empty)} for your organization: "
            "ask them to set these up before you order."
        )
    return out
