"""An order's status history says which statuses it went past unseen, instead of leaving them out.

Webhooks arrive out of order (newest wins: a late Pending after Shipped changes nothing), so an order
can reach Shipped with no Pending or Released event. Its page lists those as "not seen (skipped)",
in OrderStatus's order, before the first status seen past them.
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from mirror.models import Order
from orders.mirror_apply import apply_order_payload
from orders.models import OrderEvent
from orders.presenters import status_history
from upstream.records import OrderStatus

from .test_pages import shipped_payload

PENDING, RELEASED, SHIPPED = OrderStatus.PENDING.value, OrderStatus.RELEASED.value, OrderStatus.SHIPPED.value


def shown(statuses: list[str]) -> list[str]:
    """The history of events with these statuses, as "Status" or "Status (skipped)"."""
    events = [OrderEvent(upstream_id=1, status=s, source=OrderEvent.Source.WEBHOOK) for s in statuses]
    return [f"{h.status} (skipped)" if h.skipped else h.status for h in status_history(events)]


@pytest.mark.parametrize(
    "seen, history",
    [
        ([], []),
        ([PENDING, RELEASED, SHIPPED], [PENDING, RELEASED, SHIPPED]),
        ([SHIPPED], ["Pending (skipped)", "Released (skipped)", SHIPPED]),
        ([PENDING, SHIPPED], [PENDING, "Released (skipped)", SHIPPED]),
        ([RELEASED, SHIPPED], ["Pending (skipped)", RELEASED, SHIPPED]),
        ([RELEASED], ["Pending (skipped)", RELEASED]),
        ([PENDING], [PENDING]),
        # a status the portal does not know keeps its place and skips nothing
        ([PENDING, "On Hold", SHIPPED], [PENDING, "On Hold", "Released (skipped)", SHIPPED]),
        (["On Hold"], ["On Hold"]),
        # seen later (the upstream moved it back): listed where it was seen, never as skipped as well
        ([SHIPPED, PENDING], ["Released (skipped)", SHIPPED, PENDING]),
    ],
)
def test_statuses_gone_past_unseen_are_listed_as_skipped_in_the_upstreams_order(seen, history):
    assert shown(seen) == history


def test_a_shipped_webhook_arriving_before_pending_shows_pending_and_released_as_skipped(client_alice, org_a):
    apply_order_payload(org_a, shipped_payload(250040, "OOO-1", updated="2026-11-22T12:00:00Z"), "webhook")
    late = apply_order_payload(
        org_a, shipped_payload(250040, "OOO-1", status="Pending", updated="2026-11-22T10:00:00Z"), "webhook"
    )
    assert not late.changed  # older than what the mirror holds: dropped, so never an event
    assert list(OrderEvent.objects.values_list("status", flat=True)) == [SHIPPED]

    order = Order.objects.get(upstream_id=250040)
    response = client_alice.get(f"/orders/{order.pk}/")
    history = response.context["page"].history
    assert [(h.status, h.skipped) for h in history] == [(PENDING, True), (RELEASED, True), (SHIPPED, False)]
    html = response.content.decode()
    items = re.findall(
        r"<li( class=\"skipped\"[^>]*)?><strong>(\w+)</strong> <span class=\"muted\">([^<]*)</span>", html
    )
    assert [(status, text.startswith("not seen")) for _, status, text in items] == [
        (PENDING, True),
        (RELEASED, True),
        (SHIPPED, False),
    ]
    assert html.count("not seen (skipped)") == 2 and "Order Update webhook" in html


def test_an_order_seen_in_every_status_skips_none(client_alice, org_a):
    for status, hour in ((PENDING, 10), (RELEASED, 11), (SHIPPED, 12)):
        payload = shipped_payload(250041, "ALL-1", status=status, updated=f"2026-11-22T{hour}:00:00Z")
        apply_order_payload(org_a, payload, "webhook")
    order = Order.objects.get(upstream_id=250041)
    html = client_alice.get(f"/orders/{order.pk}/").content.decode()
    assert "skipped" not in html
    assert [h.status for h in client_alice.get(f"/orders/{order.pk}/").context["page"].history] == [
        PENDING,
        RELEASED,
        SHIPPED,
    ]


def test_the_skipped_status_is_filled_in_once_it_is_seen(client_alice, org_a):
    apply_order_payload(
        org_a, shipped_payload(250042, "GAP-1", status="Pending", updated="2026-11-22T10:00:00Z"), "webhook"
    )
    apply_order_payload(org_a, shipped_payload(250042, "GAP-1", updated="2026-11-22T12:00:00Z"), "webhook")
    order = Order.objects.get(upstream_id=250042)
    before = client_alice.get(f"/orders/{order.pk}/").context["page"].history
    assert [(h.status, h.skipped) for h in before] == [(PENDING, False), (RELEASED, True), (SHIPPED, False)]
    # The history is derived when shown: an event recorded later for Released takes its place at once.
    OrderEvent.objects.create(
        organization=org_a, upstream_id=250042, status=RELEASED, source=OrderEvent.Source.SYNC, upstream_updated_at=None
    )
    after = client_alice.get(f"/orders/{order.pk}/").context["page"].history
    assert not any(h.skipped for h in after) and {h.status for h in after} == {PENDING, RELEASED, SHIPPED}
    # Without a date from the upstream it takes its place by when the portal saw it (now): last, on
    # SQLite and PostgreSQL alike (a NULL date used to sort first on one and last on the other).
    assert [h.status for h in after] == [PENDING, SHIPPED, RELEASED]


def test_an_order_known_only_from_the_sync_shows_its_current_status_not_no_status(sandbox_org, client):
    """The periodic sync stores no events: the page takes the order's status from the mirror (derived, never
    stored), after the statuses before it as skipped, instead of "No upstream status yet" under "Shipped"."""
    from conftest import make_member
    from sync.engine import run_sync

    assert run_sync(sandbox_org, "orders").status == "success"
    assert not OrderEvent.objects.filter(organization=sandbox_org).exists()
    client.force_login(make_member("sid", sandbox_org))
    order = Order.objects.filter(organization=sandbox_org, status=SHIPPED).exclude(updated_upstream_at=None).first()
    assert order is not None, "the sandbox's orders include a shipped one"

    response = client.get(f"/orders/{order.pk}/")
    history = response.context["page"].history
    assert [(h.status, h.skipped) for h in history] == [(PENDING, True), (RELEASED, True), (SHIPPED, False)]
    assert history[-1].event.upstream_updated_at == order.updated_upstream_at
    html = response.content.decode()
    assert "No upstream status yet" not in html
    assert f"{order.updated_upstream_at:%Y-%m-%d %H:%M:%S} · Sync" in html
    assert not OrderEvent.objects.filter(organization=sandbox_org).exists()  # shown, not stored

    # A webhook for an earlier status keeps its place, and the mirror's status still ends the history.
    OrderEvent.objects.create(
        organization=sandbox_org,
        upstream_id=order.upstream_id,
        status=RELEASED,
        source=OrderEvent.Source.WEBHOOK,
        upstream_updated_at=order.updated_upstream_at - timedelta(hours=1),
    )
    history = client.get(f"/orders/{order.pk}/").context["page"].history
    assert [(h.status, h.skipped, h.event and h.event.source) for h in history] == [
        (PENDING, True, None),
        (RELEASED, False, OrderEvent.Source.WEBHOOK),
        (SHIPPED, False, OrderEvent.Source.SYNC),
    ]
    # Once an event of the current status is recorded, it is shown in place of the derived one.
    OrderEvent.objects.create(
        organization=sandbox_org, upstream_id=order.upstream_id, status=SHIPPED, source=OrderEvent.Source.WEBHOOK
    )
    history = client.get(f"/orders/{order.pk}/").context["page"].history
    assert [h.event.source for h in history if h.status == SHIPPED] == [OrderEvent.Source.WEBHOOK]
