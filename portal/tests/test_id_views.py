"""Every portal view that takes an id answers 404 to a member of another organization.

ID_VIEWS lists, for each URL name whose pattern takes an argument, how to make an object
of organization A and the URL kwargs that point at it. `test_every_id_view_is_listed`
fails when a new view takes an id without being listed here, so no view can skip the
cross-organization check.
"""

from __future__ import annotations

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from accounts.models import Membership

# URL names whose arguments are not organization objects.
NOT_ORG_OBJECTS = {"password_reset_confirm"}


def _membership_of_alice(alice, org_a):
    return {"pk": Membership.objects.get(user=alice, organization=org_a).pk}


# url name -> factory(alice, org_a) returning reverse() kwargs for an object of org A.
ID_VIEWS = {
    "member_edit": _membership_of_alice,
}


def _id_url_names(resolver=None, prefix=""):
    resolver = resolver or get_resolver()
    for entry in resolver.url_patterns:
        if isinstance(entry, URLResolver):
            if entry.app_name == "admin" or entry.namespace == "admin":
                continue
            ns = f"{prefix}{entry.namespace}:" if entry.namespace else prefix
            yield from _id_url_names(entry, ns)
        elif isinstance(entry, URLPattern) and entry.name:
            if entry.pattern.converters or "(?P<" in str(entry.pattern):
                yield prefix + entry.name


def test_every_id_view_is_listed():
    names = set(_id_url_names()) - NOT_ORG_OBJECTS
    missing = names - set(ID_VIEWS)
    assert not missing, f"views taking an id without a cross-organization test: {sorted(missing)}"


@pytest.mark.parametrize("url_name", sorted(ID_VIEWS))
def test_other_organizations_member_gets_404(url_name, alice, org_a, client_bob):
    url = reverse(url_name, kwargs=ID_VIEWS[url_name](alice, org_a))
    assert client_bob.get(url).status_code == 404
    assert client_bob.post(url, {}).status_code == 404


@pytest.mark.parametrize("url_name", sorted(ID_VIEWS))
def test_own_organizations_member_gets_the_page(url_name, alice, org_a, client_alice):
    url = reverse(url_name, kwargs=ID_VIEWS[url_name](alice, org_a))
    assert client_alice.get(url).status_code == 200
