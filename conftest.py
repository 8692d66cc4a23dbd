"""Shared test fixtures: named people in two organizations, and real parts.

- alice: every role in organization A ("Acme", slug acme)
- bob:   every role in organization B ("Globex", slug globex)
- ops:   a staff superuser (the admin), member of nothing
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile

import pytest
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings

pytest_plugins = ["sandbox.pytest_plugin"]

# Property tests (hypothesis): a few hundred examples per target, the same ones on every run
# (derandomized, no example database), so the suite stays fast and CI stays reproducible.
# HYPOTHESIS_PROFILE=deep explores thousands of new ones.
_HYPOTHESIS = hypothesis_settings(
    deadline=None,
    database=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
)
hypothesis_settings.register_profile("portal", _HYPOTHESIS, max_examples=200, derandomize=True)
hypothesis_settings.register_profile("deep", _HYPOTHESIS, max_examples=5000)
hypothesis_settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "portal"))

PASSWORD = "correct-horse-battery-staple"


def pytest_configure(config):
    # Under xdist each test process gets its own Celery queue (and its own folders for
    # the filesystem broker), so workers of parallel test processes never steal tasks.
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    from portal.celery import app

    app.conf.task_default_queue = f"portal-test-{worker}"
    if app.conf.broker_url.startswith("filesystem://"):
        folder = tempfile.mkdtemp(prefix=f"broker-{worker}-")
        atexit.register(shutil.rmtree, folder, ignore_errors=True)
        app.conf.broker_transport_options = {
            "data_folder_in": folder,
            "data_folder_out": folder,
            "control_folder": folder + "/control",
            "store_processed": False,
        }


def make_org(
    slug: str,
    name: str,
    base_url: str = "http://127.0.0.1:9",
    token: str | None = None,
    secret: str = "s3cret-value",
    upstream_org_id: int | None = None,
):
    from accounts.models import Organization

    org = Organization(
        slug=slug,
        name=name,
        upstream_base_url=base_url,
        upstream_token=token or f"{slug}-token",
        upstream_organization_id=upstream_org_id,
    )
    org.set_upstream_secret(secret)
    org.save()
    return org


def make_member(username: str, org, roles=None, **extra):
    from django.contrib.auth import get_user_model

    from accounts.models import Membership
    from accounts.roles import ALL_ROLES

    User = get_user_model()
    user = User.objects.filter(username=username).first()
    if user is None:
        user = User.objects.create_user(username, f"{username}@example.com", PASSWORD, **extra)
    Membership.objects.create(user=user, organization=org, roles=ALL_ROLES if roles is None else roles)
    return user


@pytest.fixture
def org_a(db):
    return make_org("acme", "Acme", upstream_org_id=1001)


@pytest.fixture
def org_b(db):
    return make_org("globex", "Globex", upstream_org_id=2002)


@pytest.fixture
def alice(org_a):
    return make_member("alice", org_a)


@pytest.fixture
def bob(org_b):
    return make_member("bob", org_b)


@pytest.fixture
def ops(db):
    from django.contrib.auth import get_user_model

    return get_user_model().objects.create_superuser("ops", "ops@example.com", PASSWORD)


@pytest.fixture
def client_alice(client, alice):
    client.force_login(alice)
    return client


@pytest.fixture
def client_bob(alice, bob):
    from django.test import Client

    c = Client()
    c.force_login(bob)
    return c


@pytest.fixture
def client_ops(ops):
    from django.test import Client

    c = Client()
    c.force_login(ops)
    return c


@pytest.fixture
def celery_worker(transactional_db):
    """A real Celery worker (threads pool) consuming this test process's queue.

    Uses the configured broker: Redis in CI and compose, the filesystem transport on the
    embedded defaults. Tests using it see committed data only (transactional_db).
    """
    from celery.contrib.testing.worker import start_worker

    from portal.celery import app

    app.conf.task_always_eager = False
    with start_worker(
        app,
        pool="threads",
        concurrency=2,
        perform_ping_check=False,
        queues=[app.conf.task_default_queue],
        shutdown_timeout=20,
        loglevel="WARNING",
    ) as worker:
        yield worker


def wait_for(predicate, timeout: float = 20.0, interval: float = 0.1, message: str = "condition"):
    """Poll until predicate() is truthy; fail the test with `message` after `timeout` seconds."""
    import time

    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {message}")
        time.sleep(interval)
