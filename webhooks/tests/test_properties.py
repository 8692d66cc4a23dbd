"""Generated hostile Order Update deliveries, correctly signed (hypothesis): never a 500, and a
delivery that is refused or fails leaves the mirror exactly as it was."""

from __future__ import annotations

import json

from hypothesis import given
from hypothesis import strategies as st

from mirror.models import Order
from portal.tests.hostile import json_values, misfits, payloads, rolled_back
from sync.registry import get
from upstream import records
from upstream.records import OrderStatus
from webhooks import services
from webhooks.models import WebhookDelivery

from .conftest import ORDER_ID
from .test_hostile_webhooks import snapshot
from .test_order_update import order_payload, signed_post

ORDER_KEYS = sorted(order_payload())


def _body(payload) -> bytes:
    # allow_nan: NaN and Infinity go out as the bare words a hostile sender would write
    return json.dumps(payload, allow_nan=True).encode("utf-8", errors="surrogatepass")


deliveries = st.one_of(
    # the stored order's full payload with a few fields made hostile
    st.dictionaries(st.sampled_from(ORDER_KEYS), json_values, max_size=4).map(
        lambda changed: order_payload(order_id=ORDER_ID) | changed
    ),
    # a partial update of it
    st.dictionaries(st.sampled_from(ORDER_KEYS), json_values, max_size=3).map(lambda p: {**p, "id": ORDER_ID}),
    # anything shaped like an order, nested parts included
    payloads(records.Order),
    # anything at all
    json_values,
)


def test_a_signed_hostile_delivery_never_500s_and_never_changes_a_row_it_refuses(client, org_a, stored_order):
    seen = set()
    columns = get("orders").columns

    @given(deliveries)
    def check(payload):
        with rolled_back():
            before = snapshot(stored_order)
            others = Order.objects.exclude(upstream_id=ORDER_ID).count()
            response = signed_post(client, org_a, _body(payload))
            assert response.status_code in (202, 400)
            delivery = WebhookDelivery.objects.get(pk=response.json()["id"])
            status = services.process(delivery.pk) if response.status_code == 202 else delivery.status
            seen.add(status)
            if status == WebhookDelivery.Status.FAILED:
                assert delivery.error or WebhookDelivery.objects.get(pk=delivery.pk).error
                assert snapshot(stored_order) == before
                assert Order.objects.exclude(upstream_id=ORDER_ID).count() == others
            else:
                assert status in (WebhookDelivery.Status.PROCESSED, WebhookDelivery.Status.IGNORED)
                for order in Order.objects.filter(organization=org_a):
                    assert order.status in OrderStatus.values or order.status == ""
                    values = {name: getattr(order, name) for name in columns.names}
                    assert misfits(Order, values) == []

    check()
    assert {"failed", "processed"} <= seen
