"""Layout a person would notice at once, checked in real Chromium: a checkbox sits on its label's line,
before it (it stood alone, centred, above its label on the order form), and the dashboard's labels break
only between words (the freshness card showed "Countri es")."""

from __future__ import annotations

import pytest

from conftest import PASSWORD, make_member

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.timeout(120)]


def sign_in(page, live_server, org, roles):
    member = make_member("lena", org, roles=roles)
    page.goto(live_server.url + "/accounts/login/")
    page.fill("input[name=username]", member.username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(live_server.url + "/")


def test_a_checkbox_sits_before_its_label_on_one_line(page, live_server, org_a):
    sign_in(page, live_server, org_a, ["buyer"])
    for url, box_id in (
        ("/orders/new/", "id_importer_same_as_recipient"),
        ("/accounts/preferences/", "id_notify_order_updates"),
    ):
        page.goto(live_server.url + url)
        box = page.locator(f"#{box_id}").bounding_box()
        label = page.locator(f"label[for={box_id}]").bounding_box()
        assert box and label, url
        assert box["x"] + box["width"] <= label["x"] <= box["x"] + box["width"] + 16, (url, box, label)
        middle = box["y"] + box["height"] / 2
        assert label["y"] <= middle <= label["y"] + label["height"], (url, box, label)


def test_the_dashboards_labels_break_only_between_words(page, live_server, org_a):
    from datetime import timedelta

    from django.utils import timezone

    from home import services
    from sync import registry
    from sync.models import SyncRun

    # Every resource synced 50 s ago: the freshness card says "50 seconds ago" beside each one.
    finished = timezone.now() - timedelta(seconds=50)
    for name in registry.REGISTRY:
        SyncRun.objects.create(organization=org_a, resource=name, status="success", finished_at=finished)
    services.recompute(org_a.pk)
    sign_in(page, live_server, org_a, ["buyer", "service", "operator"])
    page.set_viewport_size({"width": 1024, "height": 800})
    page.goto(live_server.url + "/")
    cut = page.evaluate(
        """() => [...document.querySelectorAll(".home-card dt")].filter(dt => {
            const node = dt.firstChild;  // the label's text (a note follows in a <span>)
            if (!node || node.nodeType !== Node.TEXT_NODE) return false;
            const range = document.createRange();
            let at = 0;
            return node.textContent.split(" ").some(word => {
                range.setStart(node, at);
                range.setEnd(node, at + word.length);
                at += word.length + 1;
                return word && range.getClientRects().length > 1;  // one word drawn on two lines
            });
        }).map(dt => dt.textContent.trim())"""
    )
    labels = page.locator(".home-card dt").count()
    assert labels >= 10 and cut == []
