"""Admin lists of system-written tables count cheaply: exact up to the cap, estimated above it."""

from portal import lists
from portal.admin import EstimatedCountPaginator


def test_admin_counts_exactly_below_the_cap_and_never_all_rows_above_it(org_a, client_ops, monkeypatch):
    from orders.models import OrderRow
    from orders.tests.test_list import make_orders

    make_orders(org_a, 12)
    assert EstimatedCountPaginator(OrderRow.objects.all(), 5).count == 12
    monkeypatch.setattr(lists, "COUNT_CAP", 5)
    counted = EstimatedCountPaginator(OrderRow.objects.all(), 5).count
    assert counted >= 6  # more than the cap: an estimate on PostgreSQL, cap + 1 elsewhere
    response = client_ops.get("/admin/orders/orderrow/")
    assert response.status_code == 200 and b"LIST-00011" in response.content
