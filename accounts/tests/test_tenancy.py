"""Tenancy: another organization's objects answer 404, never 403, and never leak."""

import pytest
from django.http import Http404

from accounts.models import Membership
from accounts.scoping import get_scoped_or_404, scoped
from conftest import make_member, make_org


def test_scoped_returns_only_the_current_organizations_rows(alice, bob, org_a, org_b):
    rows = scoped(org_a, Membership)
    assert {m.user.username for m in rows} == {"alice"}
    assert {m.user.username for m in scoped(org_b, Membership)} == {"bob"}


def test_scoped_with_no_organization_returns_nothing(alice):
    assert scoped(None, Membership).count() == 0


def test_get_scoped_or_404_refuses_another_organizations_object(alice, bob, org_a):
    bobs = Membership.objects.get(user=bob)
    with pytest.raises(Http404):
        get_scoped_or_404(org_a, Membership, pk=bobs.pk)
    assert get_scoped_or_404(org_a, Membership, pk=Membership.objects.get(user=alice).pk).user == alice


def test_get_scoped_or_404_treats_malformed_ids_as_not_found(alice, org_a):
    with pytest.raises(Http404):
        get_scoped_or_404(org_a, Membership, pk="not-a-number")


def test_member_page_of_another_organization_is_404(client_bob, alice):
    alices = Membership.objects.get(user=alice)
    response = client_bob.get(f"/accounts/members/{alices.pk}/")
    assert response.status_code == 404
    assert b"alice" not in response.content


def test_member_page_of_own_organization_is_200(client_alice, alice):
    own = Membership.objects.get(user=alice)
    response = client_alice.get(f"/accounts/members/{own.pk}/")
    assert response.status_code == 200
    assert b"alice" in response.content


def test_posting_to_another_organizations_member_changes_nothing(client_bob, alice):
    alices = Membership.objects.get(user=alice)
    response = client_bob.post(f"/accounts/members/{alices.pk}/", {"remove": "1"})
    assert response.status_code == 404
    assert Membership.objects.filter(pk=alices.pk).exists()


def test_member_list_shows_only_own_organization(client_alice, bob):
    response = client_alice.get("/accounts/members/")
    assert response.status_code == 200
    assert b"alice" in response.content
    assert b"bob" not in response.content


def test_user_in_two_organizations_switches_in_the_header(client, org_a, org_b):
    carol = make_member("carol", org_a)
    make_member("carol", org_b, roles=["viewer"])
    client.force_login(carol)
    page = client.get("/")
    assert b'id="org-switcher"' in page.content
    assert b'<label for="org-switcher">' in page.content
    assert page.context["current_organization"] == org_a  # alphabetical first: Acme
    response = client.post("/accounts/switch/", {"organization": org_b.pk, "next": "/accounts/members/"})
    assert response.status_code == 302
    assert client.get("/").context["current_organization"] == org_b


def test_switching_to_an_organization_one_is_not_a_member_of_is_refused(client_alice, org_a, org_b):
    client_alice.post("/accounts/switch/", {"organization": org_b.pk})
    assert client_alice.get("/").context["current_organization"] == org_a


def test_switching_away_from_an_object_page_lands_on_its_section(client, org_a, org_b):
    carol = make_member("carol", org_a)
    make_member("carol", org_b)
    client.force_login(carol)
    own = Membership.objects.get(user=carol, organization=org_a)
    response = client.post("/accounts/switch/", {"organization": org_b.pk, "next": f"/accounts/members/{own.pk}/"})
    assert response["Location"] == "/accounts/"


def test_inactive_organization_is_not_current(client, db):
    org = make_org("dormant", "Dormant")
    org.is_active = False
    org.save()
    dave = make_member("dave", org)
    client.force_login(dave)
    response = client.get("/")
    assert response.status_code == 403
    assert b"not a member of any active organization" in response.content


def test_member_without_the_role_gets_a_page_naming_it(client, org_a):
    viewer = make_member("victor", org_a, roles=["viewer"])
    client.force_login(viewer)
    response = client.get("/accounts/members/")
    assert response.status_code == 403
    assert b"Manager" in response.content
