"""Every mirror mapper, fed generated hostile payloads: never an exception, and every value fits
its column (length, range, digits, years), so no upstream payload can fail a sync page's write."""

from __future__ import annotations

import json

import pytest
from django.utils import timezone
from hypothesis import given

from mirror.models import MirrorModel
from portal.tests.hostile import misfits, payloads, rolled_back
from sync import hooks
from sync.columns import Columns
from sync.engine import storable
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


def strings(value):
    """Every key and string inside a JSON value."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield key
            yield from strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from strings(item)


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
                # as the engine stores it: the payload as read from the wire, made storable
                _, raw = storable(json.loads(storable(payload)[0]))
                assert not any("\x00" in s for s in strings(raw))
                row = plan.model.objects.create(
                    organization=org_a,
                    upstream_id=1,
                    raw=raw,
                    content_hash="x",
                    first_seen_at=now,
                    changed_at=now,
                    **values,
                )
                row.refresh_from_db()
                assert all(getattr(row, k) is None for k, v in values.items() if v is None)

    check()


def test_a_payload_is_stored_without_nul_characters_and_keeps_every_other_backslash():
    text, raw = storable({"notes": "a\x00b", "path": "C:\\u0000", "odd": "\\\x00", "n": 2**70, "x": float("nan")})
    assert raw == {"notes": "ab", "path": "C:\\u0000", "odd": "\\", "n": 2**70, "x": None}
    assert json.loads(text) == raw and "\\u0000" not in text.replace("\\\\u0000", "")
    assert storable({"plain": "text"}) == ('{"plain":"text"}', {"plain": "text"})
