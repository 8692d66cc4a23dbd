"""Invoice totals that never scan a million invoices: per month, and over any billed range.

`InvoiceMonth` holds, per organization and calendar month (in settings.TIME_ZONE), how many
invoices were billed and their total. `recount()` recomputes it from `InvoiceRow` for the months
a refresh touches (the months the changed rows were billed in before and after), in the same
transaction, so the month chart, "this month against last month" (`month_totals()`, which the
home dashboard uses too) and the list's sums read a few dozen rows at most.

The sum of the filtered invoices (what the list shows above its table), exact and cheap:

- **A billed range only** (or no filter): `billed_between()`. Whole months come from the month
  table. A month the range cuts (at most two: where it starts and where it ends) is read from
  `InvoiceRow` through its index on (organization, billed_at, id) INCLUDE (total_cents): an
  index-only range scan on PostgreSQL, of the smaller side: the part of the month in the range, or
  the part outside it subtracted from the month's total. So at most half a month of rows is read
  (about 14,000 at a million invoices over three years), whatever the range: three queries.
- **Any other filter** (an order, a search): the filter selects through its own index, and a
  direct `SUM` over at most `COUNT_CAP` + 1 of its rows (`capped_sum()`) is exact when the filter
  keeps no more than the cap; an order's invoices are a handful. Above the cap the list says so
  instead of scanning a large share of the table on every page view.

Money is in cents (exact integer sums on every database; see `invoices.models`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from django.db import connections
from django.db.models import Count, Q, QuerySet, Sum
from django.db.models.functions import TruncMonth
from django.urls import reverse
from django.utils import timezone

from .models import InvoiceMonth, InvoiceRow, money

# -- months ------------------------------------------------------------------------------------------


def zone() -> Any:
    """The time zone months are counted in: the portal's (settings.TIME_ZONE), whoever asks."""
    return timezone.get_default_timezone()


def month_of(moment: datetime) -> date:
    """The first day of the month a moment falls in (in the portal's time zone)."""
    return timezone.localtime(moment, zone()).date().replace(day=1)


def next_month(month: date) -> date:
    return (month.replace(day=28) + timedelta(days=4)).replace(day=1)


def previous_month(month: date) -> date:
    return (month - timedelta(days=1)).replace(day=1)


def month_start(month: date) -> datetime:
    """The first moment of a month (its first day at midnight, in the portal's time zone)."""
    return timezone.make_aware(datetime.combine(month, time.min), zone())


def this_month(today: date | None = None) -> date:
    return (today or timezone.localdate(timezone=zone())).replace(day=1)


def list_url(month: date, path: str = "") -> str:
    """The invoices list filtered to one month's invoices (a stable URL: the dashboard links to it).
    `path`: the list's, when the caller has it already."""
    last_day = next_month(month) - timedelta(days=1)
    return f"{path or reverse('invoices:list')}?billed_after={month.isoformat()}&billed_before={last_day.isoformat()}"


# -- keeping the month table -------------------------------------------------------------------------


def _ranges(months: list[date]) -> list[tuple[datetime, datetime]]:
    """Sorted months as [start, end) ranges, consecutive months merged."""
    ranges: list[tuple[date, date]] = []
    for month in months:
        if ranges and ranges[-1][1] == month:
            ranges[-1] = (ranges[-1][0], next_month(month))
        else:
            ranges.append((month, next_month(month)))
    return [(month_start(a), month_start(b)) for a, b in ranges]


def _per_month(rows: QuerySet) -> dict[date, tuple[int, int]]:
    counted = (
        rows.annotate(billed_month=TruncMonth("billed_at", tzinfo=zone()))
        .order_by()
        .values("billed_month")
        .annotate(n=Count("id"), cents=Sum("total_cents"))
        .values_list("billed_month", "n", "cents")
    )
    out: dict[date, tuple[int, int]] = {}
    for moment, n, cents in counted:
        month = timezone.localtime(moment, zone()).date() if isinstance(moment, datetime) else moment
        out[month] = (n, cents or 0)
    return out


def _store(organization_id: int, counted: dict[date, tuple[int, int]]) -> None:
    InvoiceMonth.objects.bulk_create(
        [
            InvoiceMonth(organization_id=organization_id, month=month, invoices=n, total_cents=cents)
            for month, (n, cents) in counted.items()
        ],
        update_conflicts=True,
        unique_fields=["organization", "month"],
        update_fields=["invoices", "total_cents"],
    )


def recount(organization_id: int, months: Iterable[date]) -> None:
    """Recompute these months of one organization from its rows (one grouped query over their ranges)."""
    wanted = sorted(set(months))
    if not wanted:
        return
    where = Q()
    for start, end in _ranges(wanted):
        where |= Q(billed_at__gte=start, billed_at__lt=end)
    counted = _per_month(InvoiceRow.objects.filter(where, organization_id=organization_id))
    InvoiceMonth.objects.filter(organization_id=organization_id, month__in=wanted).exclude(
        month__in=list(counted)
    ).delete()
    _store(organization_id, counted)


def rebuild(organization_id: int) -> int:
    """Every month of one organization, from its rows. Returns how many months have invoices."""
    counted = _per_month(InvoiceRow.objects.filter(organization_id=organization_id, billed_at__isnull=False))
    InvoiceMonth.objects.filter(organization_id=organization_id).exclude(month__in=list(counted)).delete()
    _store(organization_id, counted)
    return len(counted)


# -- reading ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Tally:
    """How many invoices and their total (in cents; `total` as a Decimal with 2 places)."""

    invoices: int
    cents: int

    @property
    def total(self) -> Decimal:
        return money(self.cents) or Decimal("0.00")

    def __add__(self, other: Tally) -> Tally:
        return Tally(self.invoices + other.invoices, self.cents + other.cents)


NOTHING = Tally(0, 0)


@dataclass(frozen=True)
class MonthTotal:
    month: date  # its first day
    invoices: int
    total: Decimal

    @property
    def url(self) -> str:
        return list_url(self.month)


def month_totals(organization_id: int, months: int = 2, today: date | None = None) -> list[MonthTotal]:
    """The last `months` calendar months up to this one (in the portal's time zone), oldest first, each
    with its invoice count and total (zero for a month without invoices): one query on the month table.
    `month_totals(org_id)` is [last month, this month]."""
    newest = this_month(today)
    oldest = newest
    for _ in range(max(1, months) - 1):
        oldest = previous_month(oldest)
    found = InvoiceMonth.objects.filter(organization_id=organization_id, month__gte=oldest, month__lte=newest)
    stored = {month: (n, cents) for month, n, cents in found.order_by().values_list("month", "invoices", "total_cents")}
    out = []
    month = oldest
    while month <= newest:
        n, cents = stored.get(month, (0, 0))
        out.append(MonthTotal(month, n, money(cents) or Decimal("0.00")))
        month = next_month(month)
    return out


def _rows_sum(rows: QuerySet) -> Tally:
    found = rows.aggregate(n=Count("id"), cents=Sum("total_cents"))
    return Tally(found["n"] or 0, found["cents"] or 0)


def billed_between(organization_id: int, start: datetime | None, end: datetime | None) -> Tally:
    """The exact count and total of one organization's invoices billed in [start, end); None is no bound.
    With neither bound: every invoice, unbilled ones (no date) too. See the module's docstring."""
    rows = InvoiceRow.objects.filter(organization_id=organization_id)
    stored = InvoiceMonth.objects.filter(organization_id=organization_id)
    if start is None and end is None:
        found = stored.order_by().aggregate(n=Sum("invoices"), cents=Sum("total_cents"))
        return Tally(found["n"] or 0, found["cents"] or 0) + _rows_sum(rows.filter(billed_at__isnull=True))
    if start is not None and end is not None and start >= end:
        return NOTHING
    if start is not None:
        stored = stored.filter(month__gte=month_of(start))
    if end is not None:
        stored = stored.filter(month__lte=month_of(end))
    months = {
        month: Tally(n, cents) for month, n, cents in stored.order_by().values_list("month", "invoices", "total_cents")
    }

    # The months the range cuts: where it starts (unless on a month's first moment) and where it ends.
    cut: dict[date, tuple[datetime, datetime]] = {}
    if start is not None and start != month_start(month_of(start)):
        first = month_of(start)
        cut[first] = (
            start,
            min(month_start(next_month(first)), end) if end is not None else month_start(next_month(first)),
        )
    if end is not None and end != month_start(month_of(end)):
        last = month_of(end)
        a = max(month_start(last), start) if start is not None else month_start(last)
        cut[last] = (a, end)  # the same month as `first` when the range lies within one month
    total = NOTHING
    for month, tally in months.items():
        whole = (start is None or month_start(month) >= start) and (
            end is None or month_start(next_month(month)) <= end
        )
        if whole:
            total += tally
    for month, (a, b) in cut.items():
        m_start, m_end = month_start(month), month_start(next_month(month))
        if month not in months or (b - a) * 2 <= m_end - m_start:  # (a month without invoices: 0, read as such)
            total += _rows_sum(rows.filter(billed_at__gte=a, billed_at__lt=b))
        else:  # most of the month: its total, less the rest of it
            rest = _rows_sum(
                rows.filter(Q(billed_at__gte=m_start, billed_at__lt=a) | Q(billed_at__gte=b, billed_at__lt=m_end))
            )
            total += Tally(months[month].invoices - rest.invoices, months[month].cents - rest.cents)
    return total


def capped_sum(rows: QuerySet, cap: int) -> Tally | None:
    """The count and total of `rows` when there are at most `cap` of them (one query reading at most cap + 1
    rows), else None."""
    sql, params = rows.order_by().values("total_cents")[: cap + 1].query.sql_with_params()
    with connections[rows.db].cursor() as cursor:
        cursor.execute(f"SELECT COUNT(*), SUM(capped.total_cents) FROM ({sql}) capped", params)  # nosec B608  # sql: Django's own compiled query; values bound
        n, cents = cursor.fetchone()
    return Tally(int(n), int(cents or 0)) if n <= cap else None
