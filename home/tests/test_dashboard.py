"""The home dashboard: a card per role's use, every number a link to the list that shows it, a few
queries whatever the data size, and stored counts only (never a COUNT while the page renders)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from conftest import PASSWORD, make_member
from home import services
from home.models import Tally
from outbox.models import Delivery

from . import factories
from .conftest import card, figures, list_total, scheduled

EVERY_CARD = ["orders", "rmas", "inventory", "invoices", "automation", "freshness"]


def login(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.mark.parametrize(
    ("roles", "cards"),
    [
        (["viewer"], EVERY_CARD),
        (["manager"], EVERY_CARD),
        (["buyer"], ["orders", "inventory", "invoices", "freshness"]),
        (["service"], ["rmas", "inventory", "freshness"]),
        (["operator"], ["automation", "freshness"]),
        (["buyer", "service"], ["orders", "rmas", "inventory", "invoices", "freshness"]),
        ([], []),
    ],
)
def test_a_member_sees_the_cards_their_roles_use(org_a, handed, roles, cards):
    services.recompute(org_a.pk)
    response = login(make_member("rosa", org_a, roles=roles)).get("/")
    assert response.status_code == 200
    assert [c.key for c in response.context["cards"]] == cards
    if not cards:
        assert "Your roles show no card here" in response.content.decode()


def test_every_number_of_the_orders_card_is_the_number_its_list_shows(client_alice, org_a, handed):
    factories.orders(org_a, 14)
    factories.order_submissions(org_a, ["queued", "sending", "retrying", "rejected", "rejected", "failed"])
    services.recompute(org_a.pk)
    shown = figures(client_alice.get("/"), "orders")
    assert {label: value for label, (value, _url) in shown.items()} == {
        "Pending": "5",
        "Released": "5",
        "Shipped": "4",
        "Waiting to be sent": "3",
        "Rejected": "2",
        "Failed": "1",
    }
    for label, (value, url) in shown.items():
        assert url.startswith("/orders/?"), label
        assert list_total(client_alice.get(url)) == int(value), (label, url)


def test_every_number_of_the_rmas_card_is_the_number_its_list_shows(client_alice, org_a, handed):
    factories.rmas(org_a, n_open=7, n_closed=4)
    factories.rma_request(org_a, Delivery.Status.REJECTED)
    services.recompute(org_a.pk)
    response = client_alice.get("/")
    shown = figures(response, "rmas")
    assert shown["All open"][0] == "8" and shown["Not Received"][0] == "2" and shown["Rejected"][0] == "1"
    for label, (value, url) in shown.items():
        if label.startswith("Disk failure"):  # the oldest open RMA: its page
            assert url == f"/rmas/{Tally.objects.get(key='rmas').value['oldest']['rma_id']}/"
            assert client_alice.get(url).status_code == 200 and value == "400 days"
            continue
        assert list_total(client_alice.get(url)) == int(value), (label, url)


def test_the_inventory_number_is_the_number_its_list_shows(client_alice, org_a, handed):
    from inventory.tests.conftest import make_stock

    make_stock(org_a, 12)  # records 0-4 are below their reorder level
    services.recompute(org_a.pk)
    value, url = figures(client_alice.get("/"), "inventory")["Items below reorder level"]
    assert value == "5" and url == "/inventory/?tab=below"
    assert list_total(client_alice.get(url)) == 5


def test_the_invoice_months_are_the_numbers_their_lists_show(client_alice, org_a, handed):
    from invoices.tallies import month_start, previous_month, this_month
    from invoices.tests.conftest import make_invoices

    last = previous_month(this_month())
    make_invoices(org_a, 40, base=month_start(last) + timedelta(hours=3), step=timedelta(hours=31))
    older = month_start(last) - timedelta(hours=31 * 50)  # invoice k is billed k steps after its base
    make_invoices(org_a, 5, start=40, base=older, step=timedelta(hours=31))  # in neither month
    services.recompute(org_a.pk)
    shown = figures(client_alice.get("/"), "invoices")
    assert len(shown) == 2
    numbers = [int(value.replace(",", "")) for value, _url in shown.values()]
    assert sum(numbers) == 40 and all(numbers)
    for label, (value, url) in shown.items():
        assert url.startswith("/invoices/?billed_after="), label
        assert list_total(client_alice.get(url)) == int(value.replace(",", "")), (label, url)
    this = card(client_alice.get("/"), "invoices").groups[0].figures[-1]
    assert this.label.startswith("This month") and "% on last month" in this.note


def test_the_automation_and_freshness_numbers_link_to_their_pages(client_alice, org_a, handed):
    factories.automation(org_a, in_progress=2, finished=1, failed_recently=3, failed_long_ago=1)
    services.recompute(org_a.pk)
    response = client_alice.get("/")
    line = figures(response, "automation")
    assert line["Queues in progress"] == ("2", "/automation/?tab=in_progress")
    value, url = line["Tasks failed in the last 24 hours"]
    since = Tally.objects.get(key="automation").value["failed_since"]
    assert value == "3" and url.startswith("/automation/?failed_since=") and since[:16] in url.replace("%3A", ":")
    fresh = figures(response, "freshness")
    assert fresh["Orders"] == ("never", "/sync/#resource-orders")
    assert client_alice.get("/sync/").status_code == 200
    assert 'id="resource-orders"' in client_alice.get("/sync/").content.decode()


def test_freshness_says_how_long_ago_and_which_resource_is_behind(client_alice, org_a, handed):
    from sync.models import SyncRun

    now = timezone.now()
    SyncRun.objects.create(organization=org_a, resource="orders", status="success", finished_at=now)
    SyncRun.objects.create(
        organization=org_a, resource="inventories", status="success", finished_at=now - timedelta(hours=2)
    )
    SyncRun.objects.create(organization=org_a, resource="invoices", status="failed", finished_at=now, error="x")
    services.recompute(org_a.pk)
    response = client_alice.get("/")
    tones = {f.label: (f.value, f.tone) for g in card(response, "freshness").groups for f in g.figures}
    assert tones["Orders"] == ("now", "ok")
    assert tones["Inventories"] == ("2\xa0hours ago", "warn")  # 3 intervals of 5 minutes have passed
    assert tones["Invoices"][1] == "bad" and tones["Countries"] == ("never", "warn")
    # Said in words, set smaller than a count, so that a label like "Inventories" keeps its whole words.
    assert all(f.is_words for g in card(response, "freshness").groups for f in g.figures)
    assert 'class="figure ok words">now</a>' in response.content.decode()


@pytest.mark.parametrize(
    "value, words",
    [
        ("now", True),
        ("never", True),
        ("2\xa0hours ago", True),
        ("a minute ago", True),
        ("334", False),
        ("10,000+", False),
        ("331 days", False),
        ("1,204.50", False),
    ],
)
def test_a_figure_in_words_is_told_from_a_count(value, words):
    from home.presenters import Figure

    assert Figure("label", value, "/").is_words is words


def queries_of(client) -> list[str]:
    client.get("/")  # the session's first request of a test also refreshes the session
    with CaptureQueriesContext(connection) as captured:
        assert client.get("/").status_code == 200
    return [q["sql"] for q in captured.captured_queries]


def test_the_page_reads_stored_tallies_in_a_constant_number_of_queries(client_alice, org_a, handed):
    factories.orders(org_a, 10)
    factories.rmas(org_a, n_open=3)
    services.recompute(org_a.pk)
    small = queries_of(client_alice)
    factories.orders(org_a, 990, start=10)
    factories.rmas(org_a, n_open=500, n_closed=497, start=3)
    services.recompute(org_a.pk, keys=["orders", "rmas"])  # (the change's commit would have marked them)
    large = queries_of(client_alice)
    assert len(small) == len(large) <= 6, large
    assert not [sql for sql in large if "COUNT(" in sql.upper()]
    assert figures(client_alice.get("/"), "orders")["Pending"][0] == "334"


def test_a_tally_never_counted_says_counting_and_schedules_a_count(client_alice, org_a, handed):
    response = client_alice.get("/")
    assert all(c.counting for c in response.context["cards"])
    assert "Counting… the first count is on its way." in response.content.decode()
    assert scheduled(handed, org_a) == 1
    client_alice.get("/")
    assert scheduled(handed, org_a) == 1  # debounced


def test_a_stale_tally_shows_its_value_as_of_when_it_was_counted(client_alice, org_a, handed):
    factories.orders(org_a, 3)
    services.recompute(org_a.pk)
    counted = Tally.objects.get(key="orders").refreshed_at
    response = client_alice.get("/")
    assert card(response, "orders").as_of is None and "as of" not in response.content.decode()
    assert scheduled(handed, org_a) == 0
    services.mark(org_a.pk, ["orders"])
    response = client_alice.get("/")
    assert card(response, "orders").as_of == counted and card(response, "rmas").as_of is None
    local = timezone.localtime(counted)
    assert f"as of {local:%H:%M}" in response.content.decode()
    assert figures(response, "orders")["Pending"][0] == "1"  # the value it has, meanwhile
    assert scheduled(handed, org_a) == 1


def test_another_organization_s_tallies_never_show(client_alice, client_bob, org_a, org_b, handed):
    factories.orders(org_b, 9)
    services.recompute(org_b.pk)
    services.recompute(org_a.pk)
    assert figures(client_alice.get("/"), "orders")["Pending"][0] == "0"
    assert figures(client_bob.get("/"), "orders")["Pending"][0] == "3"


def test_the_dashboard_is_for_signed_in_members(client, org_a):
    response = client.get("/")
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_ops_see_tallies_in_the_admin_read_only(client_ops, org_a):
    services.recompute(org_a.pk)
    response = client_ops.get("/admin/home/tally/", {"q": "orders"})
    assert response.status_code == 200 and "orders" in response.content.decode()
    tally = Tally.objects.get(organization=org_a, key="orders")
    assert client_ops.post(f"/admin/home/tally/{tally.pk}/change/", {}).status_code == 403


@pytest.mark.django_db(transaction=True)
def test_the_dashboard_in_a_browser_links_each_number_to_its_list(page, live_server, org_a, handed):
    factories.orders(org_a, 6)
    services.recompute(org_a.pk)
    member = make_member("bea", org_a, roles=["buyer"])
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(live_server.url + "/accounts/login/?next=/")
    page.fill("input[name=username]", member.username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(live_server.url + "/")
    cards = page.locator("section.home-card h2").all_inner_texts()
    assert cards == ["Orders", "Inventory", "Invoices", "Data freshness"]
    scroll, viewport = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    assert scroll <= viewport
    page.click("#card-orders a.figure >> nth=0")  # Pending: 2
    page.wait_for_url("**/orders/?tab=pending")
    assert "of 2" in page.inner_text("#list-summary")
