"""Ops command line: addorg and addmember, usable in scripts."""

import io

import pytest
from django.core.management import CommandError, call_command

from accounts.models import Membership, Organization
from conftest import make_org


def test_addorg_takes_the_secret_from_the_environment(db, monkeypatch):
    monkeypatch.setenv("UPSTREAM_SECRET", "env-secret")
    out = io.StringIO()
    call_command(
        "addorg", "acme", name="Acme", base_url="https://api.example.com/", token="tok", upstream_org_id=42, stdout=out
    )
    org = Organization.objects.get(slug="acme")
    assert org.get_upstream_secret() == "env-secret"
    assert org.upstream_base_url == "https://api.example.com"
    assert org.upstream_organization_id == 42
    assert "env-secret" not in out.getvalue()


def test_addorg_has_no_secret_argument(db):
    with pytest.raises(CommandError, match="unrecognized arguments"):
        call_command(
            "addorg", "acme", "--name", "Acme", "--base-url", "https://x.example", "--token", "t", "--secret", "s"
        )


def test_addorg_without_secret_and_without_terminal_fails_clearly(db, monkeypatch):
    monkeypatch.delenv("UPSTREAM_SECRET", raising=False)
    monkeypatch.setattr("sys.stdin", io.StringIO())
    with pytest.raises(CommandError, match="UPSTREAM_SECRET"):
        call_command("addorg", "acme", name="Acme", base_url="https://api.example.com", token="tok")
    assert not Organization.objects.exists()


def test_addorg_rejects_a_bad_url(db, monkeypatch):
    monkeypatch.setenv("UPSTREAM_SECRET", "s")
    with pytest.raises(CommandError, match="--base-url"):
        call_command("addorg", "acme", name="Acme", base_url="ftp:/nope", token="tok")


def test_addmember_creates_the_user_with_roles(db, monkeypatch):
    make_org("acme", "Acme")
    monkeypatch.setenv("PORTAL_USER_PASSWORD", "Str0ng-pass-word")
    call_command("addmember", "acme", "dora", "--role", "buyer", "--role", "viewer", stdout=io.StringIO())
    membership = Membership.objects.get(user__username="dora")
    assert membership.roles == ["buyer", "viewer"]
    assert membership.user.check_password("Str0ng-pass-word")


def test_addmember_replaces_roles_of_an_existing_member(db, monkeypatch):
    make_org("acme", "Acme")
    monkeypatch.setenv("PORTAL_USER_PASSWORD", "Str0ng-pass-word")
    call_command("addmember", "acme", "dora", "--role", "buyer", stdout=io.StringIO())
    call_command("addmember", "acme", "dora", "--role", "manager", stdout=io.StringIO())
    assert Membership.objects.get(user__username="dora").roles == ["manager"]


def test_addmember_refuses_unknown_role_and_unknown_organization(db, monkeypatch):
    make_org("acme", "Acme")
    monkeypatch.setenv("PORTAL_USER_PASSWORD", "Str0ng-pass-word")
    with pytest.raises(CommandError, match="invalid choice"):
        call_command("addmember", "acme", "dora", "--role", "emperor")
    with pytest.raises(CommandError, match="no organization"):
        call_command("addmember", "nope", "dora", "--role", "buyer")


def test_addmember_refuses_a_weak_password(db, monkeypatch):
    make_org("acme", "Acme")
    monkeypatch.setenv("PORTAL_USER_PASSWORD", "123")
    with pytest.raises(CommandError, match="password refused"):
        call_command("addmember", "acme", "dora", "--role", "buyer")


def test_seeddemo_is_idempotent_and_prints_logins(db, settings):
    out = io.StringIO()
    call_command("seeddemo", stdout=out)
    call_command("seeddemo", stdout=io.StringIO())
    org = Organization.objects.get(slug="demo")
    assert org.name == "Demo Co"
    alice = Membership.objects.get(user__username="alice", organization=org)
    assert set(alice.roles) == {"viewer", "buyer", "service", "operator", "manager"}
    assert alice.user.check_password(settings.PORTAL_DEMO_PASSWORD)
    assert "alice" in out.getvalue() and "admin" in out.getvalue()
