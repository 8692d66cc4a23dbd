"""The one list-page pattern: a scoped queryset, a FilterSet, a Table, CSV export.

    class OrderListView(OrgListView):
        model = Order
        filterset_class = OrderFilter
        table_class = OrderTable
        template_name = "orders/list.html"   # extends "portal/list.html"
        export_filename = "orders"
        required_role = None                 # or a Role

The queryset is always scoped to the current organization (accounts.scoping); the
filters, sorting and `?export=csv` all apply to that scoped queryset. CSV export streams
(memory does not grow with the row count).
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator

from django.db import models
from django.http import StreamingHttpResponse
from django.utils import timezone
from django_filters.views import FilterView
from django_tables2 import SingleTableMixin

from accounts.access import member_required
from accounts.scoping import scoped


class _Echo:
    def write(self, value):
        return value


def stream_csv(header: list[str], rows: Iterable[list]) -> Iterator[str]:
    writer = csv.writer(_Echo())
    yield writer.writerow(header)
    for row in rows:
        yield writer.writerow(row)


def csv_response(filename: str, header: list[str], rows: Iterable[list]) -> StreamingHttpResponse:
    response = StreamingHttpResponse(stream_csv(header, rows), content_type="text/csv; charset=utf-8")
    stamp = timezone.now().strftime("%Y%m%d-%H%M")
    response["Content-Disposition"] = f'attachment; filename="{filename}-{stamp}.csv"'
    return response


class OrgListView(SingleTableMixin, FilterView):
    model: type[models.Model]  # set by each list
    required_role: str | None = None
    export_filename = "export"
    paginate_by = 50
    template_name = "portal/list.html"
    title = ""

    def dispatch(self, request, *args, **kwargs):
        return member_required(self.required_role)(super().dispatch)(request, *args, **kwargs)

    def get_queryset(self):
        return scoped(self.request, self.base_queryset())

    def base_queryset(self) -> models.QuerySet:
        return self.model._default_manager.all()

    def get_table_pagination(self, table):
        return {"per_page": self.paginate_by}

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["title"] = self.title or str(self.model._meta.verbose_name_plural).capitalize()
        params = self.request.GET.copy()
        params["export"] = "csv"
        params.pop("page", None)
        context["export_query"] = params.urlencode()
        return context

    def render_to_response(self, context, **kwargs):
        if self.request.GET.get("export") == "csv":
            return self.export_csv(context)
        return super().render_to_response(context, **kwargs)

    def export_columns(self, table) -> list:
        return [c for c in table.columns if c.name not in getattr(table.Meta, "exclude_from_export", ())]

    def export_csv(self, context):
        """The filtered, sorted rows as CSV, through the same table columns users see."""
        table = context["table"]
        columns = self.export_columns(table)
        header = [str(c.header) for c in columns]
        queryset = table.data.data  # filtered and ordered queryset, unpaginated

        def rows():
            for record in queryset.iterator(chunk_size=2000):
                yield [_plain(_value(c, record)) for c in columns]

        return csv_response(self.export_filename, header, rows())


def _value(column, record):
    accessor = column.accessor
    return accessor.resolve(record, quiet=True) if accessor else None


def _plain(value):
    if value is None:
        return ""
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)
