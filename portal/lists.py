"""The one list-page pattern, fast by construction at a million rows.

    class OrderListView(OrgListView):
        model = OrderRow                        # one table, one row per listed thing
        filterset_class = OrderFilter           # django-filter: the form and its validation
        columns = [Column("customer_order", "Customer order", sortable=True, kind="link", required=True), ...]
        tabs = [Tab("", "All"), Tab("shipped", "Shipped", Q(status="Shipped")), ...]
        default_sort = "-created_at"
        list_key = "orders"                     # where a user's columns and page size are remembered

What makes it fast, whatever the row count:

- Counting: one query per page. Each tab's count (and so the list's) is a count capped at
  `count_cap` + 1 rows: exact up to the cap. Above it, PostgreSQL's planner estimate of the
  list's own query gives "about 1,000,000" (one EXPLAIN); other databases show "10,000+".
  Never an exact COUNT(*) over a large scope.
- Sorting: only by columns marked sortable, each backed by an index on
  (organization, column, id) (a test checks every one with EXPLAIN). Ties break on the id.
- Paging: keyset ("cursor") pagination with first, previous, next and last. A page is
  `WHERE (column, id) < (last value, last id) ORDER BY column DESC, id DESC LIMIT n + 1`: as
  fast on the 20,000th page as on the first. A cursor past the end shows the last page. A
  nullable column (an RMA's closed date) keeps its empty values where the database sorts them,
  so its one index serves both directions; a page that crosses from values to empty ones (or
  back) reads the second range with a second indexed query.
- Filtering and search: what the FilterSet does, over indexed columns (on PostgreSQL a trigram
  index serves substring search). The pieces every list's FilterSet uses are here:
  `SearchFilter` (the search box: `search_text`, or the upstream id for a number),
  `SubstringFilter` (one column, found through `search_text` first), both needing three
  characters (a trigram); `date_range()` (from/to days, on a date or a timestamp column) and
  `distinct_values()` (a filter's choices from an indexed column, one index probe per value).
- Export: `?export=csv` streams the filtered, sorted rows with `values_list()` in chunks
  (memory stays flat), ISO 8601 timestamps without microseconds, cells a spreadsheet would
  run as a formula neutralised (OWASP), and a last line that says how many rows it wrote.
"""

from __future__ import annotations

import base64
import csv
import io
import json
import logging
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from decimal import Decimal
from typing import Any, NamedTuple

import django_filters as df
from django import forms
from django.contrib import messages
from django.db import connections, models
from django.db.models import Case, Func, IntegerField, Q, QuerySet, Value, When
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, QueryDict, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import render
from django.utils import timezone
from django.utils.formats import date_format, localize
from django.utils.html import conditional_escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.timezone import template_localtime  # type: ignore[attr-defined]  # not in the stubs
from django.views import View

from accounts.access import member_required
from accounts.scoping import scoped
from upstream import limits
from upstream.records import to_decimal

log = logging.getLogger("portal.lists")

PER_PAGE_CHOICES = (25, 50, 100, 250)
DEFAULT_PER_PAGE = 50
COUNT_CAP = 10_000
LISTS: dict[str, type[OrgListView]] = {}  # every list by its list_key (saved views name their list by it)
EXPORT_CHUNK = 2000
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_FORMULA_FIRST = frozenset(FORMULA_STARTS)
# Paging and display parameters: not filters (no chip, not carried into a filter change).
NAV_PARAMS = ("after", "before", "last", "page", "export")


@dataclass(frozen=True)
class Column:
    name: str  # the model field it shows, sorts by and exports
    label: str
    sortable: bool = False  # then it needs an index on (organization, name, id)
    kind: str = "text"  # text | link | status | datetime | number
    default: bool = True  # shown until the user hides it
    required: bool = False  # cannot be hidden (the row's link)
    numeric: bool = False


@dataclass(frozen=True)
class Tab:
    key: str  # the value of ?tab= ("" for everything)
    label: str
    q: Q | None = None


@dataclass(frozen=True)
class Cursor:
    """A position in a sorted list: the sort value and id of one row, and that row's index (if known)."""

    value: Any
    id: int
    pos: int | None

    def encode(self) -> str:
        value = self.value
        if isinstance(value, date):
            value = value.isoformat()
        elif isinstance(value, Decimal):  # a quantity or an amount: exact, as text
            value = str(value)
        raw = json.dumps([value, self.id, self.pos], separators=(",", ":")).encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    @classmethod
    def decode(cls, text: str, field_: Any) -> Cursor | None:
        try:
            raw = json.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
            value, id_, pos = raw
            if not isinstance(id_, int) or not (pos is None or isinstance(pos, int)):
                return None
            if value is None:  # a row without a value in a nullable column
                return cls(None, id_, pos) if getattr(field_, "null", False) else None
            if isinstance(field_, models.DateTimeField):
                value = datetime.fromisoformat(value)
            elif isinstance(field_, models.DateField):
                value = date.fromisoformat(value)
            elif isinstance(field_, models.IntegerField | models.BigIntegerField):
                value = int(value)
            elif isinstance(field_, models.DecimalField):
                value = to_decimal(value) if isinstance(value, str) else None  # bounded: no 1e999999
                if value is None:
                    return None
            elif not isinstance(value, str):
                return None
            return cls(value, id_, pos)
        except (ValueError, TypeError, json.JSONDecodeError):
            return None


@dataclass
class Page:
    rows: list[dict[str, Any]]
    start: int | None  # index of the first row, when known
    has_next: bool
    has_prev: bool
    next_cursor: str = ""
    prev_cursor: str = ""
    at_end: bool = False  # the last page (asked for, or reached past the end)


class Row(list):
    """One table row: its cells, how it stands out (`row_mark`) and its own attributes (`row_attrs`:
    an id and data a live page refreshes it by)."""

    def __init__(
        self, cells: Iterable[dict[str, Any]], css: str = "", mark: str = "", attrs: dict[str, Any] | None = None
    ) -> None:
        super().__init__(cells)
        self.css = css
        self.attrs = attrs or {}
        if mark and self:
            self[0]["mark"] = mark  # said before the first cell's text

    @property
    def attributes(self) -> SafeString:
        """The `<tr>`'s attributes, each escaped: its tone's class, then `attrs`."""
        pairs = ([("class", f"row-{self.css}")] if self.css else []) + list(self.attrs.items())
        return mark_safe("".join(f' {conditional_escape(k)}="{conditional_escape(v)}"' for k, v in pairs))  # nosec B308 B703  # keys and values escaped

    @property
    def html(self) -> SafeString:
        """The row's cells as HTML (see `render_cell`)."""
        return mark_safe("".join([render_cell(cell) for cell in self]))  # nosec B308 B703  # render_cell escapes


def _shown(value: Any) -> str:
    """A value as a template shows it: in the current time zone, localized and escaped."""
    return conditional_escape(localize(template_localtime(value)))


def render_cell(cell: dict[str, Any]) -> str:
    """One table cell (a dict from `OrgListView.cell`) as HTML: by its column's kind a link, a status badge,
    a time, a number (right-aligned, a dash when empty) or text; its `mark` said first to a screen reader.

    Written in Python, not a template per cell: the template language took about 0.15 ms a cell, most of a
    50-row page's time (100 of 130 ms for 50 rows of 11 columns on a loaded machine; 7 ms here).
    """
    column = cell["column"]
    kind = column.kind
    value = cell.get("value")
    if kind == "datetime":
        html = '<td class="nowrap">'
    elif column.numeric:
        html = '<td class="num">'
    else:
        html = "<td>"
    if cell.get("mark"):
        html += f'<span class="visually-hidden">{_shown(cell["mark"])}: </span>'
    if kind == "html":  # built by the view from escaped parts (format_html)
        html += conditional_escape(value) if value is not None else ""
    elif kind == "link":
        text = _shown(value or "–")
        url = cell.get("url")
        html += f'<a href="{conditional_escape(url)}">{text}</a>' if url else text
    elif kind == "status":
        html += f'<span class="badge {_shown(cell.get("tone", ""))}">{_shown(cell.get("label", ""))}</span>'
    elif kind == "datetime":
        if value:
            moment = template_localtime(value)
            stamp, shown = _shown(date_format(moment, "c")), _shown(date_format(moment, "Y-m-d H:i"))
            html += f'<time datetime="{stamp}">{shown}</time>'
        else:
            html += "–"
    elif column.numeric:
        html += _shown("–" if value is None else value)
    else:
        html += _shown("" if value is None else value)
    return html + "</td>"


class Filtered(NamedTuple):
    """A list's rows under the request's filters and tab (`OrgListView.filtered`)."""

    filterset: Any
    valid: bool  # the filters are valid (else `base` and `current` are empty)
    base: QuerySet  # filtered, every tab
    tab: Tab | None  # the tab asked for (the first when none or an unknown one is)
    current: QuerySet  # filtered, in the tab

    @property
    def rows(self) -> QuerySet | None:
        """The rows shown, or None when a filter is invalid (what exports take)."""
        return self.current if self.valid else None


@dataclass
class Counts:
    tabs: dict[str, int] = field(default_factory=dict)  # capped at cap + 1
    estimate: int | None = None  # the planner's, for the list when above the cap
    cap: int = COUNT_CAP

    def text(self, key: str) -> str:
        n = self.tabs.get(key)
        if n is None:
            return ""
        return f"{self.cap:,}+" if n > self.cap else f"{n:,}"


def neutralise(value: str) -> str:
    """A cell a spreadsheet would run as a formula starts with a quote instead (OWASP CSV injection)."""
    return "'" + value if value.startswith(FORMULA_STARTS) else value


def capped_counts(base: QuerySet, groups: dict[str, Q | None], cap: int) -> dict[str, int]:
    """How many rows of `base` fall in each group (None: all of them), up to cap + 1, in one query.

    One capped scan of `base` serves every group while `base` has at most `cap` rows: each
    group is a flag on the sampled rows. Only above the cap does a group count its own rows
    (again capped); the database never runs the branch it does not need.
    """
    if not groups:
        return {}
    connection = connections[base.db]
    base = base.order_by()
    if base.query.distinct and not base.query.distinct_fields:
        # A list's table has one row per listed thing: DISTINCT (django-filter's default for a multiple
        # choice) would count the distinct flag combinations of the sample instead of its rows.
        base = base.all()
        base.query.distinct = False
    flags = {
        f"group_{n}": Case(When(q, then=Value(1)), default=Value(0), output_field=IntegerField())
        for n, q in enumerate(groups.values())
        if q is not None
    }
    sample_sql, sample_params = base.annotate(**flags).values(*(flags or ["pk"]))[: cap + 1].query.sql_with_params()
    parts: list[str] = []
    params: list[Any] = list(sample_params)
    for n, q in enumerate(groups.values()):
        if q is None:
            parts.append("(SELECT COUNT(*) FROM capped)")
            continue
        sql, p = base.filter(q).values("pk")[: cap + 1].query.sql_with_params()
        parts.append(
            f"CASE WHEN (SELECT COUNT(*) FROM capped) <= {int(cap)} "  # nosec B608  # int(cap); sql compiled by Django, values bound
            f"THEN (SELECT COALESCE(SUM(group_{n}), 0) FROM capped) "
            f"ELSE (SELECT COUNT(*) FROM ({sql}) alone{n}) END"
        )
        params.extend(p)
    materialized = "MATERIALIZED " if connection.vendor == "postgresql" else ""
    with connection.cursor() as cursor:
        cursor.execute(f"WITH capped AS {materialized}({sample_sql}) SELECT {', '.join(parts)}", params)
        values = cursor.fetchone()
    return dict(zip(groups, (int(v) for v in values), strict=True))


def planner_estimate(qs: QuerySet) -> int | None:
    """PostgreSQL's estimate of the rows `qs` returns (no scan); None elsewhere."""
    connection = connections[qs.db]
    if connection.vendor != "postgresql":
        return None
    sql, params = qs.order_by().values("pk").query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (FORMAT JSON) " + sql, params)
        plan = cursor.fetchone()[0]
    if isinstance(plan, str):
        plan = json.loads(plan)
    return int(plan[0]["Plan"]["Plan Rows"])


def about(n: int) -> str:
    """1234567 -> '1,230,000': an estimate shown with three significant digits."""
    digits = len(str(n))
    return f"{round(n, -(digits - 3)) if digits > 3 else n:,}"


class OrgListView(View):
    model: type[models.Model]
    filterset_class: Any = None
    columns: Sequence[Column] = ()
    tabs: Sequence[Tab] = ()
    default_sort = "-id"
    list_key = ""
    required_role: str | None = None
    export_filename = "export"
    template_name = "portal/list.html"
    title = ""
    count_cap = COUNT_CAP

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if cls.list_key:
            LISTS[cls.list_key] = cls

    @classmethod
    def url(cls) -> str:
        """The list's own URL (named "<list_key>:list")."""
        from django.urls import reverse

        return reverse(f"{cls.list_key}:list")

    def dispatch(self, request, *args, **kwargs):
        return member_required(self.required_role)(super().dispatch)(request, *args, **kwargs)

    # -- what a subclass may change ------------------------------------------------------------
    def base_queryset(self) -> QuerySet:
        return self.model._default_manager.all()

    def row_url(self, row: dict[str, Any]) -> str:
        return ""

    def row_fields(self) -> tuple[str, ...]:
        """Fields fetched besides the columns (for links, badges)."""
        return ()

    def cell(self, column: Column, row: dict[str, Any]) -> dict[str, Any]:
        """How one cell shows: its text, and a link or tone where it has one."""
        value = row.get(column.name)
        if isinstance(value, date) and not isinstance(value, datetime):
            value = value.isoformat()  # a day reads the same everywhere (and sorts as it reads)
        cell: dict[str, Any] = {"column": column, "value": value}
        if column.kind == "link":
            cell["url"] = self.row_url(row)
        return cell

    def row_attrs(self, row: dict[str, Any]) -> dict[str, Any]:
        """Attributes of the row's `<tr>` (an id, data a live page reads), escaped when drawn."""
        return {}

    def row_mark(self, row: dict[str, Any]) -> tuple[str, str]:
        """A row that stands out: (CSS class, words a screen reader hears), or ("", "") for a plain row.
        The class is one of the stylesheet's row tones (`warn`, `bad`)."""
        return "", ""

    def get_context_data(self, **context: Any) -> dict[str, Any]:
        return context

    # -- settings of the user: columns and page size -------------------------------------------
    def settings(self) -> dict[str, Any]:
        membership = getattr(self.request, "membership", None)
        stored = (getattr(membership, "list_settings", None) or {}).get(self.list_key) or {}
        return stored if isinstance(stored, dict) else {}

    def saved_view(self) -> Any:
        """The saved view `?view=` opens (savedviews): this list's, the member's own or shared; else None."""
        if not hasattr(self, "_saved_view"):
            from savedviews.queries import visible_view

            self._saved_view = visible_view(self.request, self.list_key, self.request.GET.get("view", ""))
        return self._saved_view

    def visible_columns(self) -> list[Column]:
        view = self.saved_view()
        chosen = view.columns if view is not None else self.settings().get("columns")
        if not isinstance(chosen, list):
            return [c for c in self.columns if c.default or c.required]
        return [c for c in self.columns if c.required or c.name in chosen]

    def per_page(self) -> int:
        try:
            wanted = int(self.request.GET.get("per_page") or self.settings().get("per_page") or DEFAULT_PER_PAGE)
        except ValueError:
            wanted = DEFAULT_PER_PAGE
        return wanted if wanted in PER_PAGE_CHOICES else DEFAULT_PER_PAGE

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        """Remember the user's columns and page size for this list."""
        membership = request.membership  # type: ignore[attr-defined]
        names = {c.name for c in self.columns}
        columns = [n for n in request.POST.getlist("columns") if n in names]
        stored = dict(membership.list_settings or {})
        mine = dict(stored.get(self.list_key) or {})
        mine["columns"] = columns
        try:
            per_page = int(request.POST.get("per_page", ""))
        except ValueError:
            per_page = 0
        if per_page in PER_PAGE_CHOICES:
            mine["per_page"] = per_page
        stored[self.list_key] = mine
        membership.list_settings = stored
        membership.save(update_fields=["list_settings"])
        messages.success(request, "Your columns are saved for this list.")
        query = request.POST.get("query", "")
        return HttpResponseRedirect(request.path + (f"?{query}" if query else ""))

    # -- sorting --------------------------------------------------------------------------------
    def sort(self) -> tuple[str, bool]:
        """(column, descending) from ?sort=, falling back to the default."""
        sortable = {c.name for c in self.columns if c.sortable}
        for text in (self.request.GET.get("sort", ""), self.default_sort):
            name = text.lstrip("-")
            if name in sortable or (text == self.default_sort and name):
                return name, text.startswith("-")
        return "id", True

    # -- the page -------------------------------------------------------------------------------
    def filtered(self) -> Filtered:
        """The organization's rows under the request's filters and tab: the one place a list builds
        them, for its page, its exports and a live page's refresh."""
        request = self.request
        scope = scoped(request, self.base_queryset())
        filterset = self.filterset_class(request.GET or None, queryset=scope, request=request)
        valid = filterset.is_valid() if filterset.is_bound else True
        base = filterset.qs if filterset.is_bound and valid else (scope if valid else scope.none())
        tab = next((t for t in self.tabs if t.key == request.GET.get("tab", "")), self.tabs[0] if self.tabs else None)
        current = base.filter(tab.q) if tab and tab.q is not None else base
        return Filtered(filterset, valid, base, tab, current)

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        filterset, valid, base, tab, current = self.filtered()
        sort_name, descending = self.sort()
        if request.GET.get("export") == "csv" and valid:
            return self.export(current, sort_name, descending)
        page = self.page(current, sort_name, descending, self.per_page()) if valid else Page([], 0, False, False)
        counts = Counts(cap=self.count_cap)
        if valid:
            counts.tabs = capped_counts(base, {t.key: t.q for t in self.tabs} or {"": None}, self.count_cap)
            key = tab.key if tab else ""
            n = counts.tabs.get(key, 0)
            if n > self.count_cap:
                counts.estimate = planner_estimate(current)
            elif page.at_end and page.start is None:  # the last page: its place is known from the exact count
                page = self._page(page.rows, n - len(page.rows), False, page.has_prev, sort_name)
                page.at_end = True
        columns = self.visible_columns()
        chips = list(self.chips(filterset)) if valid else []
        context = self.get_context_data(
            title=self.title or str(self.model._meta.verbose_name_plural).capitalize(),
            filter=filterset,
            valid=valid,
            tabs=[self.tab_link(t, t == tab, counts) for t in self.tabs],
            tab=tab,
            columns=columns,
            all_columns=self.columns,
            headers=[self.header(c, sort_name, descending) for c in columns],
            rows=[self.row(columns, row) for row in page.rows],
            page=page,
            summary=self.summary(page, counts, tab.key if tab else ""),
            chips=chips,
            per_page=self.per_page(),
            per_page_links=[(n, self.link(per_page=str(n))) for n in PER_PAGE_CHOICES],
            first_link=self.link(),
            last_link=self.link(last="1"),
            next_link=self.link(after=page.next_cursor) if page.has_next else "",
            prev_link=self.link(before=page.prev_cursor) if page.has_prev else "",
            export_link=self.link(export="csv", keep_sort=True),
            query=self.request.GET.urlencode(),
            list_key=self.list_key,
            **self.saved_view_context(),
            active_filters=len({c["label"] for c in chips}),
        )
        return render(request, self.template_name, context)

    def row(self, columns: Sequence[Column], row: dict[str, Any]) -> Row:
        """One row of the table as drawn (a live page redraws a changed row with it)."""
        return Row((self.cell(c, row) for c in columns), *self.row_mark(row), attrs=self.row_attrs(row))

    def fetch_fields(self, columns: Iterable[Column]) -> list[str]:
        names = ["id", *(c.name for c in columns), *self.row_fields()]
        return list(dict.fromkeys(names))

    def page(self, qs: QuerySet, sort_name: str, descending: bool, size: int) -> Page:
        get = self.request.GET
        field_ = self.model._meta.get_field(sort_name) if sort_name != "id" else self.model._meta.pk
        fields = self.fetch_fields(self.visible_columns())
        if sort_name not in fields:
            fields.append(sort_name)
        after = Cursor.decode(get.get("after", ""), field_) if get.get("after") else None
        before = Cursor.decode(get.get("before", ""), field_) if get.get("before") else None
        forward = self._order(sort_name, descending)
        backward = self._order(sort_name, not descending)
        if before is not None:
            rows = self._rows_beyond(qs, sort_name, not descending, before, fields, size + 1)
            if not rows:  # nothing before it any more: the first page
                return self.page_from_start(qs, forward, fields, size, sort_name)
            has_prev = len(rows) > size
            rows = list(reversed(rows[:size]))
            start = None if before.pos is None else max(0, before.pos - len(rows))
            if not has_prev:
                start = 0
            return self._page(rows, start, True, has_prev, sort_name)
        if get.get("last"):
            return self.page_at_end(qs, backward, fields, size, sort_name)
        if after is not None:
            rows = self._rows_beyond(qs, sort_name, descending, after, fields, size + 1)
            if not rows:  # past the end (a stale link): the last page
                return self.page_at_end(qs, backward, fields, size, sort_name)
            start = None if after.pos is None else after.pos + 1
            return self._page(rows[:size], start, len(rows) > size, True, sort_name)
        return self.page_from_start(qs, forward, fields, size, sort_name)

    def page_from_start(self, qs, order, fields, size, sort_name) -> Page:
        rows = list(qs.order_by(*order).values(*fields)[: size + 1])
        return self._page(rows[:size], 0, len(rows) > size, False, sort_name)

    def page_at_end(self, qs, backward, fields, size, sort_name) -> Page:
        rows = list(qs.order_by(*backward).values(*fields)[: size + 1])
        page = self._page(list(reversed(rows[:size])), None, False, len(rows) > size, sort_name)
        page.at_end = True
        return page

    def _page(self, rows: list[dict], start: int | None, has_next: bool, has_prev: bool, sort_name: str) -> Page:
        page = Page(rows, start, has_next, has_prev)
        if rows:
            last, first = rows[-1], rows[0]
            last_pos = None if start is None else start + len(rows) - 1
            page.next_cursor = Cursor(last[sort_name], last["id"], last_pos).encode()
            page.prev_cursor = Cursor(first[sort_name], first["id"], start).encode()
        return page

    @staticmethod
    def _order(name: str, descending: bool) -> list[str]:
        sign = "-" if descending else ""
        return [f"{sign}{name}", f"{sign}id"] if name != "id" else [f"{sign}id"]

    def _rows_beyond(
        self, qs: QuerySet, name: str, descending: bool, cursor: Cursor, fields: list[str], limit: int
    ) -> list[dict[str, Any]]:
        """Up to `limit` rows after `cursor` in this order: each range of `_beyond` in turn, until enough."""
        order = self._order(name, descending)
        rows: list[dict[str, Any]] = []
        nullable = name != "id" and bool(getattr(self.model._meta.get_field(name), "null", False))
        nulls_largest = connections[qs.db].features.nulls_order_largest
        for q in self._beyond(name, descending, cursor, nullable=nullable, nulls_largest=nulls_largest):
            rows += qs.filter(q).order_by(*order).values(*fields)[: limit - len(rows)]
            if len(rows) >= limit:
                break
        return rows

    @staticmethod
    def _beyond(
        name: str, descending: bool, cursor: Cursor, *, nullable: bool = False, nulls_largest: bool = True
    ) -> list[Q]:
        """The rows after `cursor` in this order, as consecutive ranges (each one index range scan).

        `name <= v` bounds the scan and the OR breaks ties on the id. A nullable column sorts its
        empty values where the database puts them (PostgreSQL: after every value; SQLite: before),
        so that its one index serves the sort both ways: past the cursor come the rest of the
        cursor's part (the values, or the empty ones) and then, if they follow, the other part.
        """
        if name == "id":
            return [Q(id__lt=cursor.id) if descending else Q(id__gt=cursor.id)]
        nulls_follow = nullable and nulls_largest != descending  # empty values come after every value in this order
        if cursor.value is None:
            ties = Q(**{f"{name}__isnull": True}) & (Q(id__lt=cursor.id) if descending else Q(id__gt=cursor.id))
            return [ties] if nulls_largest != descending else [ties, Q(**{f"{name}__isnull": False})]
        if descending:
            values = Q(**{f"{name}__lte": cursor.value}) & (Q(**{f"{name}__lt": cursor.value}) | Q(id__lt=cursor.id))
        else:
            values = Q(**{f"{name}__gte": cursor.value}) & (Q(**{f"{name}__gt": cursor.value}) | Q(id__gt=cursor.id))
        return [values, Q(**{f"{name}__isnull": True})] if nulls_follow else [values]

    # -- what the page says ----------------------------------------------------------------------
    def summary(self, page: Page, counts: Counts, key: str) -> str:
        n = counts.tabs.get(key)
        if not page.rows:
            return "No rows match." if n == 0 or n is None else "No rows on this page."
        if n is not None and n <= counts.cap:
            total = f"{n:,}"
        elif counts.estimate is not None:
            total = f"about {about(max(counts.estimate, counts.cap + 1))}"
        else:
            total = f"more than {counts.cap:,}"
        if page.start is None:
            where = "the last" if page.at_end else ""
            return f"Showing {where} {len(page.rows):,} of {total}".replace("  ", " ")
        return f"Showing {page.start + 1:,}–{page.start + len(page.rows):,} of {total}"

    def saved_view_context(self) -> dict[str, Any]:
        """The saved views menu: the open view, the views of this list the member may open (their own and
        the shared ones, one query) and what saving would keep."""
        from savedviews.models import NAME_LENGTH
        from savedviews.queries import views_of_list

        return {
            "saved_view": self.saved_view(),
            "saved_views": views_of_list(self.request, self.list_key),
            "view_query": self.view_query(),
            "view_name_length": NAME_LENGTH,
        }

    def view_query(self) -> str:
        """What a saved view keeps of the current URL: filters, tab and sort (no paging, no view)."""
        query = self.request.GET.copy()
        for name in (*NAV_PARAMS, "view", "per_page"):
            query.pop(name, None)
        return query.urlencode()

    def link(self, *, keep_sort: bool = True, **params: str) -> str:
        """This list's URL with the current filters, tab and sort, without paging, plus `params`."""
        query = self.request.GET.copy()
        for name in NAV_PARAMS:
            query.pop(name, None)
        if not keep_sort:
            query.pop("sort", None)
        for name, value in params.items():
            if value == "":
                query.pop(name, None)
            else:
                query[name] = value
        text = query.urlencode()
        return f"{self.request.path}?{text}" if text else self.request.path

    def tab_link(self, tab: Tab, active: bool, counts: Counts) -> dict[str, Any]:
        return {"label": tab.label, "url": self.link(tab=tab.key), "active": active, "count": counts.text(tab.key)}

    def header(self, column: Column, sort_name: str, descending: bool) -> dict[str, Any]:
        header: dict[str, Any] = {"column": column, "sorted": "", "url": ""}
        if column.sortable:
            if column.name == sort_name:
                header["sorted"] = "desc" if descending else "asc"
                header["url"] = self.link(sort=column.name if descending else f"-{column.name}")
            else:
                header["url"] = self.link(sort=column.name)
        return header

    def chips(self, filterset) -> Iterator[dict[str, str]]:
        """The active filters, each with a link that removes it."""
        data: QueryDict = self.request.GET
        for name, form_field in filterset.form.fields.items():
            values = [v for v in data.getlist(name) if v.strip()]
            if not values:
                continue
            choices = dict(getattr(form_field, "choices", []) or [])
            for value in values:
                query = data.copy()
                for nav in NAV_PARAMS:
                    query.pop(nav, None)
                query.setlist(name, [v for v in values if v != value])
                text = query.urlencode()
                yield {
                    "label": str(form_field.label),
                    "value": str(choices.get(value, value)),
                    "remove": f"{self.request.path}?{text}" if text else self.request.path,
                }

    # -- export ---------------------------------------------------------------------------------
    def export(self, qs: QuerySet, sort_name: str, descending: bool) -> StreamingHttpResponse:
        columns = self.visible_columns()
        texts = {f"export_{c.name}": e for c in columns if (e := self.export_expression(c)) is not None}
        names = [f"export_{c.name}" if f"export_{c.name}" in texts else c.name for c in columns]
        rows = qs.order_by(*self._order(sort_name, descending)).annotate(**texts).values_list(*names)
        response = StreamingHttpResponse(
            self.stream_csv([str(c.label) for c in columns], columns, rows.iterator(chunk_size=EXPORT_CHUNK)),
            content_type="text/csv; charset=utf-8",
        )
        stamp = timezone.now().strftime("%Y%m%d-%H%M")
        response["Content-Disposition"] = f'attachment; filename="{self.export_filename}-{stamp}.csv"'
        return response

    def stream_csv(self, header: list[str], columns: list[Column], rows: Iterator[tuple]) -> Iterator[str]:
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow([neutralise(h) for h in header])
        # Only the cells that need it are converted (a number the database wrote as text passes as it is).
        converters = [(n, convert) for n, c in enumerate(columns) if (convert := self.export_converter(c)) is not as_is]
        written = 0
        chunk: list[list[Any]] = []
        for row in rows:
            cells = list(row)
            for n, convert in converters:
                cells[n] = convert(cells[n])
            chunk.append(cells)
            if len(chunk) >= EXPORT_CHUNK:
                writer.writerows(chunk)
                written += len(chunk)
                chunk = []
                yield buffer.getvalue()
                buffer.seek(0)
                buffer.truncate()
        writer.writerows(chunk)
        written += len(chunk)
        writer.writerow([f"# {written} rows"])
        yield buffer.getvalue()
        log.info("%s export: %s rows", self.list_key or self.export_filename, written)

    def export_converter(self, column: Column) -> Callable[[Any], Any]:
        """How one column's database value becomes a CSV cell: text is neutralised, None is empty. `as_is`:
        the value as the database sent it (text it formatted that no spreadsheet runs, e.g. a number)."""
        return export_cell

    def export_expression(self, column: Column) -> Any:
        """A database expression that gives the column's cell as text (formatted by the database, no Python
        object per cell), or None for the column's value. Timestamps leave as ISO 8601 text in UTC."""
        if isinstance(self.model._meta.get_field(column.name), models.DateTimeField):
            return IsoSecondsUTC(column.name)
        return None


def as_is(value: Any) -> Any:
    """An export converter that leaves the cell as the database sent it (None is empty): never called."""
    return value


def export_cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, str):
        return "'" + value if value[:1] in _FORMULA_FIRST else value
    if isinstance(value, datetime):  # a database without IsoSecondsUTC's SQL
        return value.astimezone(UTC).replace(microsecond=0).isoformat()
    return value


class IsoSecondsUTC(Func):
    """A timestamp as ISO 8601 text in UTC without microseconds, formatted by the database."""

    output_field = models.CharField()
    template = "%(expressions)s"  # elsewhere: the value itself, which export_cell formats in Python

    def as_postgresql(self, compiler, connection, **extra):
        template = "to_char(%(expressions)s AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"+00:00\"')"
        return self.as_sql(compiler, connection, template=template, **extra)

    def as_sqlite(self, compiler, connection, **extra):
        # Django stores SQLite timestamps as 'YYYY-MM-DD HH:MM:SS[.ffffff]' in UTC.
        template = "(substr(%(expressions)s, 1, 10) || 'T' || substr(%(expressions)s, 12, 8) || '+00:00')"
        return self.as_sql(compiler, connection, template=template, **extra)


# -- filters: the pieces every list's FilterSet uses ------------------------------------------------

MIN_SEARCH = 3  # a trigram index needs three characters; shorter terms would scan every row
MAX_ID = 2**63 - 1  # an upstream id fits 63 bits; a longer number is searched as text


class SearchField(forms.CharField):
    """Text to look for: at least `MIN_SEARCH` characters, or a number (an upstream id)."""

    def __init__(self, *args: Any, number_label: str = "an upstream id", **kwargs: Any) -> None:
        self.number_label = number_label
        super().__init__(*args, **kwargs)

    def validate(self, value: str) -> None:
        super().validate(value)
        text = (value or "").strip()
        if text and len(text) < MIN_SEARCH and not (text.isascii() and text.isdigit()):
            raise forms.ValidationError(f"Type at least {MIN_SEARCH} characters (or {self.number_label}).")


class SearchFilter(df.CharFilter):
    """The list's search box: `search_text` contains the term (trigram-indexed), or the upstream id is it."""

    field_class = SearchField

    def __init__(self, *args: Any, id_field: str = "upstream_id", **kwargs: Any) -> None:
        kwargs.setdefault("max_length", 200)
        super().__init__(*args, **kwargs)
        self.id_field = id_field

    def filter(self, qs: QuerySet, value: str) -> QuerySet:
        value = (value or "").strip()
        if not value:
            return qs
        q = Q(search_text__contains=value.casefold())
        if value.isascii() and value.isdigit() and int(value) <= MAX_ID:
            q |= Q(**{self.id_field: int(value)})
        return qs.filter(q)


class UpstreamIdFilter(df.NumberFilter):
    """An upstream id, exactly (a whole number of 63 bits at most)."""

    field_class = forms.IntegerField

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", limits.MAX_ID)
        super().__init__(*args, **kwargs)


class MomentField(forms.DateTimeField):
    """An ISO 8601 moment (a link carries one, e.g. the home page's "failed since"), within limits.YEARS."""

    input_formats: list[str] = []

    def to_python(self, value: Any) -> datetime | None:
        if value in self.empty_values:
            return None
        if isinstance(value, datetime):
            moment: datetime | None = value
        else:
            text = str(value).strip()
            try:
                moment = datetime.fromisoformat(text) if len(text) <= limits.DATETIME_TEXT else None
            except ValueError:
                moment = None
        moment = limits.clamp_datetime(moment) if moment is not None else None
        if moment is None:
            raise forms.ValidationError("Enter a date and time such as 2026-12-01T08:30:00+00:00.", code="invalid")
        return moment


class SinceFilter(df.Filter):
    """Rows whose timestamp column is at or after a moment."""

    field_class = MomentField

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("lookup_expr", "gte")
        super().__init__(*args, **kwargs)


class SubstringFilter(df.CharFilter):
    """One column contains the text: found through the search text's index first, then checked on the column."""

    field_class = SearchField

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("max_length", 100)
        super().__init__(*args, **kwargs)

    def filter(self, qs: QuerySet, value: str) -> QuerySet:
        value = (value or "").strip()
        if not value:
            return qs
        return qs.filter(search_text__contains=value.casefold()).filter(ContainsText(self.field_name, value))


class SuggestingInput(forms.TextInput):
    """A text box with a datalist that htmx fills as the user types: it GETs the view named
    `url_name` with the box's own value (`?<field name>=<text>`, see `typed()`), which answers `<option>`s."""

    def __init__(self, url_name: str, attrs: dict[str, Any] | None = None) -> None:
        super().__init__(attrs)
        self.url_name = url_name

    def render(self, name: str, value: Any, attrs: dict[str, Any] | None = None, renderer: Any = None) -> Any:
        from django.urls import reverse
        from django.utils.html import format_html

        attrs = dict(attrs or {})
        options = f"{attrs.get('id') or name}-options"
        attrs.update(
            {
                "list": options,
                "autocomplete": "off",
                "hx-get": reverse(self.url_name),
                "hx-trigger": "input changed delay:250ms, focus once",
                "hx-target": f"#{options}",
                "hx-swap": "innerHTML",
            }
        )
        box = super().render(name, value, attrs, renderer)
        return format_html('{}<datalist id="{}"></datalist>', box, options)


def typed(request: HttpRequest, limit: int = 100) -> str:
    """What a `SuggestingInput` sent: the value of its one parameter, trimmed and bounded."""
    return str(next(iter(request.GET.values()), "")).strip()[:limit]


class ExactFilter(df.CharFilter):
    """One indexed column equals the text (trimmed): an equality is one index range whatever the table's
    size, where a substring of a common word costs a trigram bitmap of every row holding it. For values
    picked from suggestions (`suggest`: the URL name of a view answering `?<field name>=` with `<option>`s)."""

    def __init__(self, *args: Any, suggest: str = "", **kwargs: Any) -> None:
        kwargs.setdefault("max_length", 255)
        if suggest:
            kwargs.setdefault("widget", SuggestingInput(suggest))
        super().__init__(*args, **kwargs)

    def filter(self, qs: QuerySet, value: str) -> QuerySet:
        value = (value or "").strip()
        return qs.filter(**{self.field_name: value}) if value else qs


class ContainsText(Func):
    """`column` contains `text` whatever its letter case: `column ILIKE '%text%'` on PostgreSQL (LIKE
    elsewhere, as Django's icontains). Django's icontains compares UPPER(column), which has no
    statistics: the planner then expected a handful of rows where the filter kept 12 % of a
    million, and sorted 130,000 rows instead of walking the sort's index (700 ms instead of 60)."""

    output_field = models.BooleanField()

    def __init__(self, column: str, text: str) -> None:
        super().__init__(models.F(column))
        self.text = text

    def as_sql(self, compiler: Any, connection: Any, **extra: Any) -> tuple[str, list[Any]]:  # type: ignore[override]
        column, params = compiler.compile(self.source_expressions[0])
        pattern = f"%{connection.ops.prep_for_like_query(self.text)}%"
        if connection.vendor == "postgresql":
            return f"{column} ILIKE %s", [*params, pattern]
        return f"{column} LIKE %s ESCAPE '\\'", [*params, pattern]


class DayFilter(df.DateFilter):
    """One end of a date range (`lookup_expr` "gte" or "lte"). On a timestamp column the day runs
    from its first to its last moment in the current time zone."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("widget", forms.DateInput(attrs={"type": "date"}))
        super().__init__(*args, **kwargs)

    def filter(self, qs: QuerySet, value: Any) -> QuerySet:
        if value and isinstance(qs.model._meta.get_field(self.field_name), models.DateTimeField):
            moment = time.min if self.lookup_expr == "gte" else time.max
            value = timezone.make_aware(datetime.combine(value, moment))
        return super().filter(qs, value)


def date_range(field_name: str, label: str) -> tuple[DayFilter, DayFilter]:
    """The two filters of a date range on one column: "<label> from" and "<label> to", both days included."""
    return (
        DayFilter(field_name=field_name, lookup_expr="gte", label=f"{label} from"),
        DayFilter(field_name=field_name, lookup_expr="lte", label=f"{label} to"),
    )


def _column(model: type[models.Model], name: str) -> str:
    field_ = model._meta.get_field(name)
    assert isinstance(field_, models.Field) and field_.column  # nosec B101  # narrows the type for mypy; guards nothing
    return field_.column


def distinct_values(model: type[models.Model], organization_id: int, column: str, limit: int = 100) -> list[Any]:
    """The distinct values of one organization's indexed column, in order, at most `limit`: one index
    probe on (organization, column, ...) per value (a recursive "loose index scan"), not a scan of
    every row. For a filter's choices."""
    connection = connections[model._default_manager.db]
    qn = connection.ops.quote_name
    table = qn(model._meta.db_table)
    col = qn(_column(model, column))
    org = qn(_column(model, "organization"))
    sql = (
        f"WITH RECURSIVE d(v, n) AS ("  # nosec B608  # quoted model identifiers; values bound
        f"SELECT * FROM (SELECT {col}, 1 FROM {table} WHERE {org} = %s AND {col} IS NOT NULL "
        f"ORDER BY {col} LIMIT 1) AS first "
        f"UNION ALL SELECT (SELECT {col} FROM {table} WHERE {org} = %s AND {col} > d.v ORDER BY {col} LIMIT 1), n + 1 "
        f"FROM d WHERE d.v IS NOT NULL AND n < %s"
        f") SELECT v FROM d WHERE v IS NOT NULL"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [organization_id, organization_id, int(limit)])
        return [row[0] for row in cursor.fetchall()]
