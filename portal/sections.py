"""The portal's sections (navigation and dashboard cards), in one list.

Each section names its URL and, once its app mirrors data, a function that summarizes
the current organization's rows for the dashboard.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.urls import NoReverseMatch, reverse


@dataclass(frozen=True)
class Section:
    key: str
    label: str
    url_name: str
    summary: Callable | None = None  # (request) -> list[tuple[label, value]]

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
    Section("inventory", "Inventory", "mirror:inventory"),
    Section("invoices", "Invoices", "mirror:invoices"),
    Section("automation", "Automation", "automation:board"),
]


def register_summary(key: str, func: Callable) -> None:
    for i, section in enumerate(SECTIONS):
        if section.key == key:
            SECTIONS[i] = Section(section.key, section.label, section.url_name, func)
            return
    raise KeyError(key)


def summaries(request):
    out = []
    for section in SECTIONS[1:]:
        rows = section.summary(request) if section.summary else []
        out.append({"section": section, "rows": rows})
    return out
