"""The portal's sections (the main navigation), in one list.

The home dashboard's cards are tallies kept by a worker (`home.tallies`), not summaries counted here.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.urls import NoReverseMatch, reverse


@dataclass(frozen=True)
class Section:
    key: str
    label: str
    url_name: str

    @property
    def url(self) -> str:
        try:
            return reverse(self.url_name)
        except NoReverseMatch:
            return "#"


SECTIONS: list[Section] = [
    Section("dashboard", "Dashboard", "dashboard"),
    Section("orders", "Orders", "orders:list"),
    Section("rmas", "RMAs", "rmas:list"),
    Section("inventory", "Inventory", "inventory:list"),
    Section("invoices", "Invoices", "invoices:list"),
    Section("automation", "Automation", "automation:list"),
]
