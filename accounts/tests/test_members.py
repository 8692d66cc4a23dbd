"""Managers manage the members of their organization."""

from django.core import mail

from accounts.models import Membership
from conftest import make_member


def test_manager_adds_a_new_member_who_gets_a_set_password_link(client_alice, org_a):
    response = client_alice.post(
        "/accounts/members/", {"username": "erin", "email": "erin@example.com", "roles": ["buyer", "viewer"]}
    )
    assert response.status_code == 302
    membership = Membership.objects.get(user__username="erin")
    assert membership.organization == org_a and membership.roles == ["buyer", "viewer"]
    assert not membership.user.has_usable_password()
    assert len(mail.outbox) == 1 and "erin" in mail.outbox[0].body and "/accounts/reset/" in mail.outbox[0].body


def test_adding_an_existing_member_again_says_so_next_to_the_field(client_alice, alice):
    response = client_alice.post(
        "/accounts/members/", {"username": "alice", "email": "a@example.com", "roles": ["viewer"]}
    )
    assert response.status_code == 200
    assert response.context["add_form"].errors["username"] == ["This user is already a member of this organization."]


def test_manager_changes_roles_of_a_member(client_alice, org_a):
    frank = make_member("frank", org_a, roles=["viewer"])
    membership = Membership.objects.get(user=frank)
    response = client_alice.post(f"/accounts/members/{membership.pk}/", {"roles": ["viewer", "service"]})
    assert response.status_code == 302
    membership.refresh_from_db()
    assert membership.roles == ["service", "viewer"]


def test_manager_cannot_drop_their_own_manager_role(client_alice, alice):
    own = Membership.objects.get(user=alice)
    response = client_alice.post(f"/accounts/members/{own.pk}/", {"roles": ["viewer"]})
    assert response.status_code == 200
    assert "You cannot take the manager role from yourself." in response.context["form"].errors["roles"]
    own.refresh_from_db()
    assert "manager" in own.roles


def test_preferences_turn_off_order_notifications(client_alice, alice):
    response = client_alice.post("/accounts/preferences/", {})
    assert response.status_code == 302
    assert Membership.objects.get(user=alice).notify_order_updates is False
