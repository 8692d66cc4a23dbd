"""Month totals follow every change of the rows, and the sum over any billed range is exact: the same as a
direct SUM over the rows, across month edges, within one month, open-ended, in any time zone."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from django.db.models import Count, Sum
from django.test import override_settings
from django.utils import timezone

from invoices import rows, tallies
from invoices.models import InvoiceMonth, InvoiceRow, money, to_cents
from mirror.models import Invoice

from .conftest import BASE, make_invoices


def direct(org, start=None, end=None) -> tuple[int, int]:
    """The count and cents of the rows billed in [start, end), read from every row."""
    qs = InvoiceRow.objects.filter(organization=org)
    if start is not None:
        qs = qs.filter(billed_at__gte=start)
    if end is not None:
        qs = qs.filter(billed_at__lt=end)
    found = qs.aggregate(n=Count("id"), cents=Sum("total_cents"))
    return found["n"], found["cents"] or 0


def months_by_hand(org) -> dict[date, tuple[int, int]]:
    out: dict[date, tuple[int, int]] = {}
    for billed, cents in InvoiceRow.objects.filter(organization=org, billed_at__isnull=False).values_list(
        "billed_at", "total_cents"
    ):
        month = timezone.localtime(billed, timezone.get_default_timezone()).date().replace(day=1)
        n, total = out.get(month, (0, 0))
        out[month] = (n + 1, total + (cents or 0))
    return out


def stored_months(org) -> dict[date, tuple[int, int]]:
    return {
        m: (n, c)
        for m, n, c in InvoiceMonth.objects.filter(organization=org).values_list("month", "invoices", "total_cents")
    }


def test_amounts_are_cents_rounded_half_up_within_the_bounds():
    assert to_cents(Decimal("12.345")) == 1235 and to_cents(Decimal("12.344")) == 1234
    assert to_cents(Decimal("-5.005")) == -501  # a credit
    assert to_cents(Decimal("9999999999.99")) == 999_999_999_999
    assert to_cents(Decimal("10000000000.00")) is None and to_cents(None) is None
    assert money(1235) == Decimal("12.35") and str(money(-501)) == "-5.01" and str(money(0)) == "0.00"


def test_month_totals_follow_new_changed_moved_and_vanished_invoices(org_a):
    make_invoices(org_a, 60)  # about three months
    assert stored_months(org_a) == months_by_hand(org_a) and len(stored_months(org_a)) == 4
    # A total changes, an invoice moves to another month, another has no date any more.
    moved, changed, undated = Invoice.objects.filter(organization=org_a).order_by("upstream_id")[:3]
    Invoice.objects.filter(pk=changed.pk).update(total=Decimal("123456.78"))
    Invoice.objects.filter(pk=moved.pk).update(billed_at=datetime(2025, 6, 15, tzinfo=UTC))
    Invoice.objects.filter(pk=undated.pk).update(billed_at=None)
    rows.refresh(org_a.pk, [moved.pk, changed.pk, undated.pk])
    assert stored_months(org_a) == months_by_hand(org_a)
    assert stored_months(org_a)[date(2025, 6, 1)] == (1, to_cents(moved.total))
    # Gone upstream: the rows go and their months are recounted; a month left empty goes.
    Invoice.objects.filter(pk=moved.pk).update(vanished_at=timezone.now())
    assert rows.vanished(org_a.pk) == 1
    assert date(2025, 6, 1) not in stored_months(org_a)
    assert stored_months(org_a) == months_by_hand(org_a)
    assert tallies.rebuild(org_a.pk) == 4 and stored_months(org_a) == months_by_hand(org_a)


@pytest.mark.parametrize("zone", ["UTC", "America/New_York", "Asia/Kolkata"])
def test_the_sum_over_any_billed_range_is_the_direct_sum(org_a, org_b, zone):
    """Ranges that start and end at month edges, inside months, in one month, open at either end or
    both: the month table plus the cut months give exactly what a SUM over every row gives."""
    with override_settings(TIME_ZONE=zone):
        make_invoices(org_a, 240)  # about a year
        make_invoices(org_b, 50, base=BASE + timedelta(hours=3))  # another organization's invoices never count
        Invoice.objects.filter(organization=org_a, upstream_id=700_007).update(billed_at=None)  # unbilled
        Invoice.objects.filter(organization=org_a, upstream_id=700_011).update(total=None)  # no total
        rows.rebuild(org_a.pk)
        tz = timezone.get_default_timezone()

        def at(y, m, d, h=0):
            return timezone.make_aware(datetime(y, m, d, h), tz)

        ranges = [
            (None, None),
            (at(2025, 3, 1), at(2025, 6, 1)),  # whole months only
            (at(2025, 3, 2), at(2025, 6, 1)),  # cut at the start: most of March
            (at(2025, 3, 28), at(2025, 6, 1)),  # cut at the start: the end of March
            (at(2025, 3, 1), at(2025, 5, 30)),  # cut at the end: most of May
            (at(2025, 3, 1), at(2025, 5, 3)),  # cut at the end: the start of May
            (at(2025, 3, 17), at(2025, 8, 9)),  # cut at both ends
            (at(2025, 4, 3), at(2025, 4, 9)),  # a few days of one month
            (at(2025, 4, 2), at(2025, 4, 30, 22)),  # most of one month
            (at(2025, 4, 30), at(2025, 5, 2)),  # across one month edge
            (at(2025, 2, 1), at(2025, 2, 1)),  # empty
            (at(2025, 5, 1), at(2025, 4, 1)),  # backwards
            (at(2025, 9, 13), None),  # open at the end
            (None, at(2025, 2, 20)),  # open at the start
            (at(2024, 1, 1), at(2024, 3, 1)),  # before any invoice
            (at(2025, 1, 1), at(2026, 1, 1)),  # the whole year
        ]
        for start, end in ranges:
            tally = tallies.billed_between(org_a.pk, start, end)
            expected = direct(org_a, start, end) if start is None or end is None or start < end else (0, 0)
            assert (tally.invoices, tally.cents) == expected, (start, end)
        everything = tallies.billed_between(org_a.pk, None, None)
        assert everything.invoices == 240 and everything.total == money(direct(org_a)[1])


def test_a_cut_month_reads_at_most_half_of_its_rows(org_a, django_assert_max_num_queries):
    make_invoices(org_a, 120)
    tz = timezone.get_default_timezone()
    start = timezone.make_aware(datetime(2025, 2, 27), tz)
    end = timezone.make_aware(datetime(2025, 5, 3), tz)
    with django_assert_max_num_queries(3):  # the month table, and one range per cut month
        tally = tallies.billed_between(org_a.pk, start, end)
    assert (tally.invoices, tally.cents) == direct(org_a, start, end)


def test_month_totals_are_the_last_months_oldest_first_with_empty_months_as_zero(org_a, django_assert_num_queries):
    make_invoices(org_a, 30, base=datetime(2026, 9, 20, 12, tzinfo=UTC), step=timedelta(days=1))  # to Oct 19
    with django_assert_num_queries(1):
        months = tallies.month_totals(org_a.pk, months=4, today=date(2026, 11, 30))
    assert [m.month for m in months] == [date(2026, 8, 1), date(2026, 9, 1), date(2026, 10, 1), date(2026, 11, 1)]
    assert [m.invoices for m in months] == [0, 11, 19, 0]
    assert months[1].total == money(direct(org_a, None, datetime(2026, 10, 1, tzinfo=UTC))[1])
    assert months[3].total == Decimal("0.00")
    last, this = tallies.month_totals(org_a.pk, today=date(2026, 10, 5))
    assert (last.month, this.month, this.invoices) == (date(2026, 9, 1), date(2026, 10, 1), 19)
    assert this.url == "/invoices/?billed_after=2026-10-01&billed_before=2026-10-31"
    assert tallies.list_url(date(2024, 2, 1)).endswith("billed_before=2024-02-29")


def test_the_capped_sum_is_exact_up_to_the_cap_and_none_above(org_a):
    make_invoices(org_a, 30)
    qs = InvoiceRow.objects.filter(organization=org_a, upstream_id__lt=700_020)
    tally = tallies.capped_sum(qs, cap=20)
    assert tally is not None and (tally.invoices, tally.cents) == (
        20,
        direct(org_a)[1]
        - sum(
            InvoiceRow.objects.filter(organization=org_a, upstream_id__gte=700_020).values_list(
                "total_cents", flat=True
            )
        ),
    )
    assert tallies.capped_sum(qs, cap=19) is None
