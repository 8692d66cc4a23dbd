"""The one chart piece (portal.charts + includes/chart.html): a figure with its caption, a canvas named for
assistive technology, the same numbers as a table (beside it or behind a toggle), and its data in a
json_script element (never an inline script). The browser test is invoices/tests/test_browser.py."""

from __future__ import annotations

import json
import re
from decimal import Decimal
from typing import Any

import pytest
from django.template.loader import render_to_string

from portal.charts import Chart, Series


def chart(**overrides: Any) -> Chart:
    values: dict[str, Any] = {
        "key": "spend",
        "caption": "Spend <per> month",
        "labels": ["Jan 2026", "Feb 2026"],
        "series": [Series("Total", [Decimal("1234.5"), None])],
        "places": 2,
        "label_heading": "Month",
        "links": ["/invoices/?m=1", "/invoices/?m=2"],
        "extra": [("Invoices", ["3", "0"])],
    }
    values.update(overrides)
    return Chart(**values)


def test_the_table_beside_the_chart_shows_the_exact_numbers_and_the_data_is_json_not_script():
    html = render_to_string("includes/chart.html", {"chart": chart()})
    assert '<figure class="chart chart-beside" id="chart-spend" data-chart="chart-spend-data"' in html
    assert 'data-chart-lib="/static/vendor/chartjs/chart.umd.min.js"' in html
    assert '<figcaption id="chart-spend-caption">Spend &lt;per&gt; month</figcaption>' in html
    assert '<canvas role="img" aria-labelledby="chart-spend-caption" aria-describedby="chart-spend-note">' in html
    assert "The numbers are in the table beside the chart." in html and "<details>" not in html
    row = r'<th scope="row"><a href="/invoices/\?m=1">Jan 2026</a></th><td class="num">1,234.50</td>'
    assert re.search(row + '<td class="num">3</td>', html)
    assert '<td class="num">–</td>' in html  # a missing value
    scripts = re.findall(r"<script([^>]*)>(.*?)</script>", html, re.S)
    assert [attrs for attrs, _body in scripts] == [' id="chart-spend-data" type="application/json"']
    data = json.loads(scripts[0][1])
    assert data == {
        "type": "bar",
        "labels": ["Jan 2026", "Feb 2026"],
        "datasets": [{"label": "Total", "data": [1234.5, None]}],
        "places": 2,
    }


def test_the_table_may_sit_behind_a_toggle_and_a_chart_may_be_a_line():
    html = render_to_string("includes/chart.html", {"chart": chart(table="toggle", kind="line", links=(), extra=())})
    assert "chart-toggle" in html and "<details><summary>Show the numbers</summary>" in html
    assert 'The numbers are in a table behind "Show the numbers".' in html
    assert '<th scope="row">Feb 2026</th>' in html and '"type": "line"' in html


@pytest.mark.parametrize(
    "overrides",
    [
        {"kind": "pie3d"},
        {"table": "hidden"},
        {"series": [Series("Total", [1])]},
        {"links": ["/only-one"]},
        {"extra": [("Invoices", ["1"])]},
    ],
)
def test_a_chart_whose_parts_do_not_match_is_refused(overrides):
    with pytest.raises(ValueError):
        chart(**overrides)
