"""The one way the portal draws a chart: a figure with its caption, a canvas, and the same numbers as a table.

A view builds a `Chart`; its template includes `includes/chart.html` with it:

    chart = Chart(
        key="invoice-months",                     # unique on the page (the figure's id: chart-<key>)
        caption="Invoiced per month, last 12 months",
        labels=["Jan 2026", "Feb 2026", ...],     # one per point (the table's rows)
        series=[Series("Total", [Decimal("1234.50"), ...])],
        places=2,                                 # decimals in the table, the axis and the tooltips
        links=[url_of_january, ...],              # optional: each row's label links there
        extra=[("Invoices", ["12", "15", ...])],  # optional: more table columns, already formatted
    )

    {% include "includes/chart.html" with chart=chart %}

The include renders a `<figure>` with a `<figcaption>`, a `<canvas>` (an image to assistive
technology, named by the caption) and a table of the same numbers, beside the chart
(`table="beside"`) or behind a "Show the numbers" toggle (`table="toggle"`). The data reaches
the browser through `json_script` (no inline script: the Content-Security-Policy forbids it);
`static/js/charts.js`, loaded by every page, draws every such figure with the vendored Chart.js
(`static/vendor/chartjs/`, fetched only by pages that have a chart). Without JavaScript the
table is there all the same.

The table shows the exact values (a Decimal stays exact); the canvas gets floats, which only
place the bars.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

Number = Decimal | int | float | None

KINDS = ("bar", "line")
TABLES = ("beside", "toggle")


@dataclass(frozen=True)
class Series:
    label: str
    values: Sequence[Number]


@dataclass(frozen=True)
class Chart:
    key: str
    caption: str
    labels: Sequence[str]
    series: Sequence[Series]
    kind: str = "bar"
    places: int = 0
    table: str = "beside"
    label_heading: str = ""
    links: Sequence[str] = ()
    extra: Sequence[tuple[str, Sequence[str]]] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}")
        if self.table not in TABLES:
            raise ValueError(f"table must be one of {TABLES}")
        for series in self.series:
            if len(series.values) != len(self.labels):
                raise ValueError(
                    f"series {series.label!r} has {len(series.values)} values for {len(self.labels)} labels"
                )
        if self.links and len(self.links) != len(self.labels):
            raise ValueError("one link per label")
        for heading, cells in self.extra:
            if len(cells) != len(self.labels):
                raise ValueError(f"column {heading!r} has {len(cells)} cells for {len(self.labels)} labels")

    @property
    def dom_id(self) -> str:
        return f"chart-{self.key}"

    @property
    def data_id(self) -> str:
        return f"chart-{self.key}-data"

    def data(self) -> dict[str, Any]:
        """What charts.js draws (through json_script)."""
        return {
            "type": self.kind,
            "labels": list(self.labels),
            "datasets": [
                {"label": s.label, "data": [None if v is None else float(v) for v in s.values]} for s in self.series
            ],
            "places": self.places,
        }

    def formatted(self, value: Number) -> str:
        if value is None:
            return "–"
        return f"{value:,.{self.places}f}"

    @property
    def headings(self) -> list[str]:
        return [self.label_heading, *(s.label for s in self.series), *(heading for heading, _cells in self.extra)]

    @property
    def rows(self) -> list[dict[str, Any]]:
        """The table's rows: a label (and its link), then each series' value and each extra cell."""
        return [
            {
                "label": label,
                "url": self.links[n] if self.links else "",
                "values": [self.formatted(s.values[n]) for s in self.series],
                "extra": [cells[n] for _heading, cells in self.extra],
            }
            for n, label in enumerate(self.labels)
        ]
