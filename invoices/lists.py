"""The invoices list: filtered, sorted, exported, with the sum of what it shows and a month chart.

The list pattern (portal.lists) over one table (`InvoiceRow`, kept by `invoices.rows`): every
sortable column has (organization, column, id); the search and the order filter read
`search_text` (a trigram index on PostgreSQL) and then check the columns they are about; the
upstream order id filter reads (organization, order_upstream_id).

Its URL parameters are stable (the home dashboard and the order pages link to them):

- `billed_after`, `billed_before`: days (YYYY-MM-DD), both included, in the portal's time zone;
  one month is `?billed_after=2026-11-01&billed_before=2026-11-30` (`invoices.tallies.list_url`);
- `order_id`: the upstream id of the order the invoices bill (the order page links there);
- `order`: text of the order's customer order or purchase order;
- `q`: an invoice number (or part of one), also found in the order's texts.

Above the table: the sum of the filtered invoices (`invoices.tallies`: from the month table and
at most two partial months for a billed range, a capped direct SUM for any other filter), and the
last twelve months as a chart and a table, this month against last month.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, time, timedelta
from decimal import Decimal
from functools import cached_property
from typing import Any

import django_filters as df
from django.db.models import CharField, Func, QuerySet
from django.urls import reverse
from django.utils import timezone

from portal.charts import Chart, Series
from portal.lists import (
    COUNT_CAP,
    MIN_SEARCH,
    Column,
    ContainsText,
    OrgListView,
    SearchFilter,
    UpstreamIdFilter,
    date_range,
)
from upstream import limits

from . import tallies
from .models import InvoiceRow


def amount(value: Decimal | None) -> str:
    """A total as people read it: thousands separated, 2 places, no currency symbol (the upstream names none)."""
    return "–" if value is None else f"{value:,.2f}"


def cents_amount(cents: int | None) -> str:
    """`amount()` of a total in cents, without building a Decimal (a cell of every row)."""
    if cents is None:
        return "–"
    whole, part = divmod(abs(cents), 100)
    return f"{'-' if cents < 0 else ''}{whole:,}.{part:02d}"


class CentsText(Func):
    """A total in cents as the text of its Decimal with 2 places ("-12.50"), made by the database for the export
    (exactly: integer arithmetic, no float)."""

    output_field = CharField()

    def as_postgresql(self, compiler, connection, **extra):
        return self.as_sql(compiler, connection, template="((%(expressions)s)::numeric * 0.01)::text", **extra)

    def as_sqlite(self, compiler, connection, **extra):
        template = (
            "(CASE WHEN %(expressions)s < 0 THEN '-' ELSE '' END || (abs(%(expressions)s) / 100) || '.' "
            "|| substr('0' || (abs(%(expressions)s) %% 100), -2))"
        )
        return self.as_sql(compiler, connection, template=template, **extra)


def number_cell(value: str | None) -> str:
    """An export cell of a number the database wrote ("-12.50" is a number, not a formula: not neutralised)."""
    return "" if value is None else value


PLACEHOLDER = 987_654_321_987  # an id no URL prefix holds: replaced by each row's own


def longest_word(text: str) -> str:
    """The longest run of letters and digits of a casefolded text (what pg_trgm makes trigrams of), or the whole
    text when no run has three characters."""
    words = re.findall(r"[^\W_]+", text.casefold())
    word = max(words, key=len, default="")
    return word if len(word) >= MIN_SEARCH else text.casefold()


class OrderTextFilter(df.CharFilter):
    """The order's customer order or purchase order contains the text: found through the search text's
    index first (it holds both), then checked on the two columns.

    The index is asked for the text's longest word only: pg_trgm splits a text at punctuation, and a common
    word ("SEED" in "SEED-B0385714", in every customer order) makes it read the postings of every row (70 ms
    at a million invoices, against 2.5 ms for "b0385714" alone). The columns then check the whole text."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("max_length", limits.ORDER_NUMBER)
        kwargs.setdefault("min_length", MIN_SEARCH)  # a trigram: a shorter text would read every row
        super().__init__(*args, **kwargs)

    def filter(self, qs: QuerySet, value: str) -> QuerySet:
        value = (value or "").strip()
        if not value:
            return qs
        return qs.filter(search_text__contains=longest_word(value)).filter(
            ContainsText("customer_order", value) | ContainsText("purchase_order", value)
        )


class InvoiceFilter(df.FilterSet):
    q = SearchFilter(label="Search", number_label="an invoice number")
    billed_after, billed_before = date_range("billed_at", "Billed")
    order = OrderTextFilter(label="Order (customer order or PO)")
    order_id = UpstreamIdFilter(field_name="order_upstream_id", label="Upstream order id")

    class Meta:
        model = InvoiceRow
        fields: list[str] = []

    def billed_range(self) -> tuple[datetime | None, datetime | None] | None:
        """[start, end) of the billed dates asked for, when that is the only filter (else None)."""
        data = self.form.cleaned_data
        if any(data.get(name) not in (None, "") for name in ("q", "order", "order_id")):
            return None
        after, before = data.get("billed_after"), data.get("billed_before")
        zone = tallies.zone()
        start = timezone.make_aware(datetime.combine(after, time.min), zone) if after else None
        end = timezone.make_aware(datetime.combine(before + timedelta(days=1), time.min), zone) if before else None
        return start, end


class InvoiceListView(OrgListView):
    model = InvoiceRow
    filterset_class = InvoiceFilter
    template_name = "invoices/list.html"
    export_filename = "invoices"
    list_key = "invoices"
    title = "Invoices"
    default_sort = "-billed_at"
    columns = (
        Column("upstream_id", "Invoice", sortable=True, kind="link", required=True),
        Column("billed_at", "Billed", sortable=True, kind="datetime"),
        Column("customer_order", "Order", sortable=True, kind="link"),
        Column("purchase_order", "Purchase order"),
        Column("order_upstream_id", "Upstream order id", numeric=True, default=False),
        Column("total_cents", "Total", sortable=True, numeric=True),
        Column("updated_at", "Updated", kind="datetime", default=False),
    )

    def row_fields(self) -> tuple[str, ...]:
        return ("invoice_id", "order_pk", "order_upstream_id")

    @cached_property
    def page_urls(self) -> tuple[str, str]:
        """The invoice and order page URLs with a placeholder id: one reverse() each per page, not one per row."""
        return reverse("invoices:detail", args=[PLACEHOLDER]), reverse("orders:detail", args=[PLACEHOLDER])

    def row_url(self, row: dict[str, Any]) -> str:
        return self.page_urls[0].replace(str(PLACEHOLDER), str(row["invoice_id"]))

    def cell(self, column: Column, row: dict[str, Any]) -> dict[str, Any]:
        if column.name == "customer_order":
            # The order's page once it is mirrored; its upstream id until then.
            if row["order_pk"]:
                url = self.page_urls[1].replace(str(PLACEHOLDER), str(row["order_pk"]))
                return {"column": column, "value": row["customer_order"] or row["order_upstream_id"], "url": url}
            upstream_id = row["order_upstream_id"]
            text = "" if upstream_id is None else f"{upstream_id} (not mirrored)"
            return {"column": replace(column, kind="text"), "value": text}
        if column.name == "total_cents":
            return {"column": column, "value": cents_amount(row["total_cents"])}
        return super().cell(column, row)

    def export_expression(self, column: Column) -> Any:
        if column.name == "total_cents":
            return CentsText("total_cents")
        return super().export_expression(column)

    def export_converter(self, column: Column) -> Callable[[Any], Any]:
        if column.name == "total_cents":
            return number_cell
        return super().export_converter(column)

    def filtered_sum(self, filterset: InvoiceFilter, valid: bool) -> dict[str, Any]:
        """The count and total of the invoices the filters keep (see invoices.tallies)."""
        organization_id = self.request.organization.pk  # type: ignore[attr-defined]
        if not valid:
            return {}
        billed = filterset.billed_range() if filterset.is_bound else (None, None)
        tally: tallies.Tally | None
        if billed is not None:
            tally = tallies.billed_between(organization_id, *billed)
        else:
            tally = tallies.capped_sum(filterset.qs, COUNT_CAP)
        if tally is None:
            return {"over_cap": COUNT_CAP}
        return {"invoices": tally.invoices, "total": amount(tally.total)}

    def month_chart(self) -> tuple[Chart, dict[str, Any]]:
        months = tallies.month_totals(self.request.organization.pk, months=12)  # type: ignore[attr-defined]
        path = reverse("invoices:list")
        urls = [tallies.list_url(m.month, path) for m in months]
        chart = Chart(
            key="invoice-months",
            caption="Invoiced per month, last 12 months",
            labels=[m.month.strftime("%b %Y") for m in months],
            series=[Series("Total", [m.total for m in months])],
            places=2,
            links=urls,
            extra=[("Invoices", [f"{m.invoices:,}" for m in months])],
        )
        last, this = months[-2], months[-1]
        change = this.total - last.total
        compare = {
            "this": this,
            "last": last,
            "this_url": urls[-1],
            "last_url": urls[-2],
            "this_total": amount(this.total),
            "last_total": amount(last.total),
            "change": ("+" if change > 0 else "") + amount(change),
            "percent": f"{change / last.total:+.1%}" if last.total else "",
            "direction": "up" if change > 0 else ("down" if change < 0 else "same"),
        }
        return chart, compare

    def get_context_data(self, **context: Any) -> dict[str, Any]:
        context["table_id"] = "invoices-table"
        context["empty_text"] = "No invoices match."
        context["filtered_sum"] = self.filtered_sum(context["filter"], context["valid"])
        context["month_chart"], context["compare"] = self.month_chart()
        return context
