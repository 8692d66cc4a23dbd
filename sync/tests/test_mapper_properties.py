"""Every mirror mapper, fed generated hostile payloads: never an exception, and every value fits
its column (length, range, digits, years), so no upstream payload can fail a sync page's write."""

from __future__ import annotations

import pytest
from django.utils import timezone
from hypothesis import given

from mirror.models import MirrorModel
from portal.tests.hostile import misfits, payloads, rolled_back
from sync import hooks
from sync.columns import Columns
from sync.registry import REGISTRY

PLANS: dict[str, Columns] = {name: resource.columns for name, resource in REGISTRY.items()}
PLANS.update(
    {
        "order line": hooks.ORDER_LINE,
        "tracking number": hooks.TRACKING_NUMBER,
        "invoice ref": hooks.INVOICE_REF,
        "rma line": hooks.RMA_LINE,
        "rma note": hooks.RMA_NOTE,
    }
)


def test_every_mapper_of_the_mirror_is_covered():
    assert set(REGISTRY) <= set(PLANS) and len(PLANS) == len(REGISTRY) + 5
    assert "orders" in PLANS and "inventories" in PLANS and "automation_tasks" in PLANS


@pytest.mark.parametrize("name", sorted(PLANS))
def test_a_hostile_payload_maps_to_values_that_fit_every_column(org_a, name):
    plan = PLANS[name]
    top_level = issubclass(plan.model, MirrorModel)
    now = timezone.now()

    @given(payloads(plan.record))
    def check(payload):
        values = plan.of(payload)
        assert set(values) == set(plan.names)
        if plan is hooks.INVOICE_REF and values["invoice_number"] is None:
            return  # order_children writes no row for an invoice without a number
        assert misfits(plan.model, values) == [], payload
        if top_level:  # the database takes the row as mapped
            with rolled_back():
                row = plan.model.objects.create(
                    organization=org_a,
                    upstream_id=1,
                    raw={},
                    content_hash="x",
                    first_seen_at=now,
                    changed_at=now,
                    **values,
                )
                row.refresh_from_db()
                assert all(getattr(row, k) is None for k, v in values.items() if v is None)

    check()
