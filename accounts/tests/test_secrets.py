"""The upstream secret is encrypted at rest and never shown again after saving."""

from django.db import connection

from accounts.models import Organization
from conftest import make_org


def test_secret_is_stored_encrypted(db):
    org = make_org("acme", "Acme", secret="very-secret-value")
    with connection.cursor() as cursor:
        cursor.execute("SELECT upstream_secret_encrypted FROM accounts_organization WHERE id = %s", [org.pk])
        stored = cursor.fetchone()[0]
    assert "very-secret-value" not in stored
    assert Organization.objects.get(pk=org.pk).get_upstream_secret() == "very-secret-value"


def test_secret_survives_key_rotation(db, settings):
    from accounts.crypto import _fernet, generate_key

    org = make_org("acme", "Acme", secret="rotate-me")
    settings.ENCRYPTION_KEYS = [generate_key(), *settings.ENCRYPTION_KEYS]
    _fernet.cache_clear()
    assert Organization.objects.get(pk=org.pk).get_upstream_secret() == "rotate-me"


def test_admin_never_shows_the_secret(client_ops, db):
    org = make_org("acme", "Acme", secret="very-secret-value")
    page = client_ops.get(f"/admin/accounts/organization/{org.pk}/change/")
    assert page.status_code == 200
    body = page.content.decode()
    assert "very-secret-value" not in body
    assert org.upstream_secret_encrypted not in body
    assert 'name="new_upstream_secret"' in body


def test_admin_keeps_the_secret_when_left_blank_and_replaces_it_when_typed(client_ops, db):
    org = make_org("acme", "Acme", secret="first-secret")
    form = {
        "name": "Acme",
        "slug": "acme",
        "is_active": "on",
        "upstream_base_url": "https://api.example.com",
        "upstream_token": "tok",
        "upstream_organization_id": "",
        "new_upstream_secret": "",
        "memberships-TOTAL_FORMS": "0",
        "memberships-INITIAL_FORMS": "0",
    }
    assert client_ops.post(f"/admin/accounts/organization/{org.pk}/change/", form).status_code == 302
    org.refresh_from_db()
    assert org.get_upstream_secret() == "first-secret"
    form["new_upstream_secret"] = "second-secret"
    assert client_ops.post(f"/admin/accounts/organization/{org.pk}/change/", form).status_code == 302
    org.refresh_from_db()
    assert org.get_upstream_secret() == "second-secret"


def test_admin_requires_a_secret_for_a_new_organization(client_ops):
    form = {
        "name": "New",
        "slug": "new",
        "is_active": "on",
        "upstream_base_url": "https://api.example.com",
        "upstream_token": "tok",
        "new_upstream_secret": "",
        "memberships-TOTAL_FORMS": "0",
        "memberships-INITIAL_FORMS": "0",
    }
    response = client_ops.post("/admin/accounts/organization/add/", form)
    assert response.status_code == 200
    assert b"An upstream secret is required" in response.content
    assert not Organization.objects.filter(slug="new").exists()
