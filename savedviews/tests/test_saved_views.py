"""Saved views: a member saves a list's filters, sort and columns under a name, private or shared,
and opens it again; nobody else's private view and no other organization's view is reachable."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
from django.test import Client

from conftest import make_member
from rmas.tests.test_list import make_rmas
from savedviews.models import NAME_LENGTH, VIEWS_PER_LIST, SavedView


def save(client, name="Open repairs", *, query="tab=open&sort=-start_date&status=In+Repair", shared=False, **extra):
    data = {"list_key": "rmas", "query": query, "columns": "subject,status,manufacturer_serial", "name": name}
    if shared:
        data["shared"] = "on"
    data.update(extra)
    return client.post("/views/save/", data)


def shown_columns(response) -> list[str]:
    return [c.name for c in response.context["columns"]]


def member_client(username, org, **kwargs) -> Client:
    c = Client()
    c.force_login(make_member(username, org, **kwargs))
    return c


def test_a_saved_view_reopens_the_list_with_its_filters_sort_and_columns(client_alice, org_a, alice):
    make_rmas(org_a, 10)
    response = save(client_alice, query="tab=open&sort=-start_date&status=In+Repair&after=abc&export=csv&per_page=100")
    view = SavedView.objects.get()
    assert (view.owner, view.organization, view.list_key, view.name, view.shared) == (
        alice,
        org_a,
        "rmas",
        "Open repairs",
        False,
    )
    assert parse_qs(view.query) == {"tab": ["open"], "sort": ["-start_date"], "status": ["In Repair"]}  # no paging
    assert view.columns == ["subject", "status", "manufacturer_serial"]  # in the list's order
    assert response.status_code == 302
    url = response["Location"]
    assert urlsplit(url).path == "/rmas/" and parse_qs(urlsplit(url).query)["view"] == [str(view.pk)]

    page = client_alice.get(url)
    assert page.context["saved_view"] == view
    assert shown_columns(page) == ["subject", "status", "manufacturer_serial"]
    assert {row["status"] for row in page.context["page"].rows} == {"In Repair"}
    assert page.context["tab"].key == "open"
    assert f'name="view" value="{view.pk}"' in page.content.decode()  # the filters form keeps the view
    # Opening it from its own address (the home page's links) leads to the same place.
    assert client_alice.get(f"/views/{view.pk}/")["Location"] == url
    # The member's own column choice for the list is untouched.
    assert "subject" in shown_columns(client_alice.get("/rmas/")) and len(shown_columns(client_alice.get("/rmas/"))) > 3


def test_saving_again_under_the_same_name_replaces_the_view(client_alice, org_a):
    save(client_alice, "Mine")
    save(client_alice, "MINE", query="tab=closed", shared=True)
    view = SavedView.objects.get()
    assert (view.name, view.query, view.shared) == ("MINE", "tab=closed", True)


def test_a_shared_view_is_open_to_the_organization_and_a_private_one_is_not(client_alice, org_a, alice):
    save(client_alice, "Private one")
    save(client_alice, "Shared one", shared=True)
    private, shared = SavedView.objects.order_by("name")
    carol = member_client("carol", org_a, roles=["viewer"])
    menu = [v.name for v in carol.get("/rmas/").context["saved_views"]]
    assert menu == ["Shared one"]
    assert carol.get(f"/views/{shared.pk}/").status_code == 302
    assert carol.get(f"/views/{private.pk}/").status_code == 404
    # ?view= of someone else's private view is ignored: the default columns, no view named.
    page = carol.get(f"/rmas/?view={private.pk}")
    assert page.context["saved_view"] is None
    # Only the owner deletes: for anyone else it is not there.
    assert carol.post(f"/views/{shared.pk}/delete/").status_code == 404
    assert SavedView.objects.filter(pk=shared.pk).exists()
    assert "Delete" not in carol.get("/rmas/").content.decode().split('class="saved-views"')[1].split("</ul>")[0]


def test_another_organizations_view_is_a_404_and_never_applies(client_alice, client_bob, org_a, org_b):
    save(client_bob, "Globex view", shared=True)
    theirs = SavedView.objects.get()
    assert theirs.organization == org_b
    assert client_alice.get(f"/views/{theirs.pk}/").status_code == 404
    assert client_alice.post(f"/views/{theirs.pk}/delete/").status_code == 404
    page = client_alice.get(f"/rmas/?view={theirs.pk}")
    assert page.context["saved_view"] is None and page.context["saved_views"] == []
    assert SavedView.objects.filter(pk=theirs.pk).exists()


def test_the_owner_deletes_a_view(client_alice):
    save(client_alice, "Short-lived")
    view = SavedView.objects.get()
    response = client_alice.post(f"/views/{view.pk}/delete/")
    assert response.status_code == 302 and response["Location"] == "/rmas/"
    assert not SavedView.objects.exists()
    assert client_alice.get(f"/views/{view.pk}/delete/").status_code == 405  # never by a GET


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"name": ""}, "name", "This field is required."),
        ({"name": "x" * (NAME_LENGTH + 1)}, "name", f"at most {NAME_LENGTH} characters"),
        ({"list_key": "nope"}, "list_key", "This list cannot be saved."),
        ({"query": "a=" + "b" * 3000}, "query", "too long to save as a view (at most 2000 characters)"),
    ],
)
def test_a_view_that_cannot_be_saved_says_why_next_to_the_field(client_alice, data, field, message):
    response = save(client_alice, **data)
    assert response.status_code == 400
    assert message in " ".join(response.context["form"].errors[field])
    assert message in response.content.decode().replace("&#x27;", "'")
    assert not SavedView.objects.exists()


def test_unknown_columns_are_dropped_and_a_member_has_at_most_a_bounded_number_of_views(client_alice, org_a, alice):
    save(client_alice, "Cols", columns="subject,<script>,status,nope")
    assert SavedView.objects.get().columns == ["subject", "status"]
    SavedView.objects.bulk_create(
        SavedView(organization=org_a, owner=alice, list_key="rmas", name=f"v{k}") for k in range(VIEWS_PER_LIST - 1)
    )
    response = save(client_alice, "One too many")
    assert response.status_code == 400 and "delete one first" in response.content.decode()
    assert save(client_alice, "v3", query="tab=closed").status_code == 302  # replacing one is fine


def test_the_list_page_costs_the_same_queries_with_saved_views(client_alice, org_a, alice):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    make_rmas(org_a, 5)

    def queries(url):
        with CaptureQueriesContext(connection) as captured:
            assert client_alice.get(url).status_code == 200
        return len(captured.captured_queries)

    queries("/rmas/")  # the session's once-a-minute touch happens here
    before = queries("/rmas/")
    for k in range(20):
        save(client_alice, f"View {k}", shared=k % 2 == 0)
    assert queries("/rmas/") == before
    view = SavedView.objects.first()
    assert queries(f"/rmas/?view={view.pk}") == before + 1  # the open view, looked up once


def test_the_home_page_opens_the_members_own_and_shared_views(client_alice, client_bob, org_a, alice):
    carol = make_member("carol", org_a, roles=["viewer"])
    save(client_alice, "Zeta mine")
    save(client_alice, "alpha mine", shared=True)
    c = Client()
    c.force_login(carol)
    save(c, "Carol private")
    save(c, "Carol shared", shared=True)
    save(client_bob, "Globex shared", shared=True)
    page = client_alice.get("/")
    assert page.status_code == 200
    assert [v.name for v in page.context["home_views"]] == ["alpha mine", "Zeta mine", "Carol shared"]
    html = page.content.decode()
    for view in page.context["home_views"]:
        assert f'href="/views/{view.pk}/"' in html
    assert "Carol private" not in html and "Globex shared" not in html
    assert "RMAs · shared by carol" in html  # the list's title, and who shared it
