"""A list's cells as HTML (portal.lists.render_cell): what the page shows, escaped, in the member's time zone."""

from __future__ import annotations

from datetime import UTC, datetime

from django.utils import timezone

from portal.lists import Column, Row, render_cell

LINK = Column("name", "Name", kind="link")
STATUS = Column("status", "Status", kind="status")
WHEN = Column("at", "At", kind="datetime")
NUMBER = Column("n", "N", numeric=True)
TEXT = Column("t", "T")


def test_each_kind_of_cell():
    assert render_cell({"column": LINK, "value": "Widget", "url": "/items/5/?a=1&b=2"}) == (
        '<td><a href="/items/5/?a=1&amp;b=2">Widget</a></td>'
    )
    assert render_cell({"column": LINK, "value": "", "url": "/items/5/"}) == '<td><a href="/items/5/">–</a></td>'
    assert render_cell({"column": LINK, "value": "Item 77", "url": ""}) == "<td>Item 77</td>"  # no page to open
    assert render_cell({"column": STATUS, "value": "x", "label": "Rejected", "tone": "bad"}) == (
        '<td><span class="badge bad">Rejected</span></td>'
    )
    assert render_cell({"column": STATUS, "value": "x"}) == '<td><span class="badge "></span></td>'
    assert render_cell({"column": NUMBER, "value": "1,234.5"}) == '<td class="num">1,234.5</td>'
    assert render_cell({"column": NUMBER, "value": None}) == '<td class="num">–</td>'
    assert render_cell({"column": NUMBER, "value": 0}) == '<td class="num">0</td>'
    assert render_cell({"column": TEXT, "value": None}) == "<td></td>"
    assert render_cell({"column": TEXT, "value": False}) == "<td>False</td>"


def test_text_is_escaped_and_a_mark_is_said_first():
    cell = {"column": LINK, "value": "<b>A & B</b>", "url": '/x/"><script>', "mark": "Below <level>"}
    assert render_cell(cell) == (
        '<td><span class="visually-hidden">Below &lt;level&gt;: </span>'
        '<a href="/x/&quot;&gt;&lt;script&gt;">&lt;b&gt;A &amp; B&lt;/b&gt;</a></td>'
    )
    row = Row([{"column": TEXT, "value": "a"}, {"column": NUMBER, "value": 2}], "warn", "Below reorder level")
    assert row.html == ('<td><span class="visually-hidden">Below reorder level: </span>a</td><td class="num">2</td>')


def test_a_time_shows_in_the_current_time_zone():
    moment = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    assert render_cell({"column": WHEN, "value": moment}) == (
        '<td class="nowrap"><time datetime="2026-01-02T03:04:05+00:00">2026-01-02 03:04</time></td>'
    )
    with timezone.override("America/Toronto"):
        assert render_cell({"column": WHEN, "value": moment}) == (
            '<td class="nowrap"><time datetime="2026-01-01T22:04:05-05:00">2026-01-01 22:04</time></td>'
        )
    assert render_cell({"column": WHEN, "value": None}) == '<td class="nowrap">–</td>'
