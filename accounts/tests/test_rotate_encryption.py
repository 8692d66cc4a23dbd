"""`manage.py rotate_encryption`: every stored secret re-encrypted under the first key, in one
transaction; a secret no key can read stops it with nothing changed; no secret is ever shown."""

from __future__ import annotations

import logging
from io import StringIO

import pytest
from cryptography.fernet import Fernet
from django.core.management import CommandError, call_command

from accounts.crypto import DecryptionError, generate_key
from accounts.models import Organization
from conftest import make_org

SECRETS = {"acme": "acme-upstream-secret-1", "globex": "globex-upstream-secret-2", "initech": "initech-secret-3"}


@pytest.fixture
def key_a():
    return generate_key()


@pytest.fixture
def key_b():
    return generate_key()


@pytest.fixture
def orgs_under_a(db, settings, key_a):
    settings.ENCRYPTION_KEYS = [key_a]
    orgs = [make_org(slug, slug.title(), secret=secret) for slug, secret in SECRETS.items()]
    Organization.objects.create(
        name="No secret yet", slug="empty", upstream_base_url="https://x.example", upstream_token="t"
    )
    return orgs


def tokens() -> dict[str, str]:
    return dict(Organization.objects.values_list("slug", "upstream_secret_encrypted"))


def rotate() -> str:
    out = StringIO()
    call_command("rotate_encryption", stdout=out)
    return out.getvalue()


def test_rotation_re_encrypts_every_secret_under_the_first_key(orgs_under_a, settings, key_a, key_b):
    before = tokens()
    settings.ENCRYPTION_KEYS = [key_b, key_a]
    assert "re-encrypted 3 stored secret(s)" in rotate()
    after = tokens()
    assert after["empty"] == ""
    for slug, secret in SECRETS.items():
        assert after[slug] != before[slug]
        assert Fernet(key_b.encode()).decrypt(after[slug].encode()).decode() == secret

    settings.ENCRYPTION_KEYS = [key_b]  # the old key dropped: no secret is lost
    for slug, secret in SECRETS.items():
        assert Organization.objects.get(slug=slug).get_upstream_secret() == secret


def test_without_rotation_dropping_the_old_key_would_lose_the_secrets(orgs_under_a, settings, key_b):
    settings.ENCRYPTION_KEYS = [key_b]
    with pytest.raises(DecryptionError):
        Organization.objects.get(slug="acme").get_upstream_secret()


def test_rotating_twice_changes_nothing_that_matters(orgs_under_a, settings, key_a, key_b):
    settings.ENCRYPTION_KEYS = [key_b, key_a]
    rotate()
    assert "re-encrypted 3" in rotate()
    settings.ENCRYPTION_KEYS = [key_b]
    assert Organization.objects.get(slug="globex").get_upstream_secret() == SECRETS["globex"]


def test_a_secret_no_key_can_read_stops_the_rotation_and_nothing_changes(orgs_under_a, settings, key_a, key_b):
    settings.ENCRYPTION_KEYS = [generate_key()]  # a key the portal no longer has
    stray = make_org("stray", "Stray", secret="stray-secret")
    before = tokens()
    settings.ENCRYPTION_KEYS = [key_b, key_a]
    with pytest.raises(CommandError) as refused:
        rotate()
    message = str(refused.value)
    assert "1 stored secret(s) cannot be decrypted with any key in ENCRYPTION_KEYS" in message
    assert f"accounts.Organization {stray.pk}" in message
    assert "nothing was changed" in message
    assert tokens() == before  # the readable ones were not rewritten either (one transaction)
    settings.ENCRYPTION_KEYS = [key_a]
    assert Organization.objects.get(slug="acme").get_upstream_secret() == SECRETS["acme"]


def test_the_command_refuses_with_one_line_and_a_non_zero_exit(orgs_under_a, settings, key_b, capsys):
    from django.core.management import ManagementUtility

    settings.ENCRYPTION_KEYS = [key_b]
    with pytest.raises(SystemExit) as exit_info:
        ManagementUtility(["manage.py", "rotate_encryption"]).execute()
    assert exit_info.value.code == 1
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("CommandError: 3 stored secret(s) cannot be decrypted")


def test_no_secret_in_the_output_the_logs_or_the_admin(orgs_under_a, settings, key_a, key_b, caplog, client_ops):
    before = tokens()
    settings.ENCRYPTION_KEYS = [key_b, key_a]
    with caplog.at_level(logging.DEBUG):
        output = rotate()
        after = tokens()
        settings.ENCRYPTION_KEYS = [generate_key()]  # now no key reads them: the refusal names rows only
        with pytest.raises(CommandError) as refused:
            rotate()
    shown = output + str(refused.value) + caplog.text
    for slug, secret in SECRETS.items():
        assert secret not in shown
        assert before[slug] not in shown and after[slug] not in shown
    settings.ENCRYPTION_KEYS = [key_b]
    org = Organization.objects.get(slug="acme")
    page = client_ops.get(f"/admin/accounts/organization/{org.pk}/change/").content.decode()
    assert page.count('name="new_upstream_secret"') == 1
    assert SECRETS["acme"] not in page and after["acme"] not in page
    listing = client_ops.get("/admin/accounts/organization/").content.decode()
    assert not any(secret in listing for secret in SECRETS.values())
