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


@pytest.fixture
def empty_queue():
    """This test process's Celery queue emptied of what earlier tests left in it (nobody consumes
    it outside a `celery_worker` test), for tests that look at the backlog (the redrive)."""
    from portal.celery import app

    with app.connection_for_write() as conn:
        channel = conn.default_channel
        channel.queue_declare(queue=app.conf.task_default_queue, durable=True, auto_delete=False)
        channel.queue_purge(app.conf.task_default_queue)
    return app.conf.task_default_queue


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


@pytest.fixture
def fast_outbox(settings):
    """Outbox and client back-offs short enough for a test to watch retries happen."""
    settings.OUTBOX_RETRY_BASE = 0.2
    settings.OUTBOX_RETRY_CAP = 0.5
    settings.OUTBOX_REDRIVE_GRACE = 1.0
    settings.UPSTREAM_BACKOFF_BASE = 0.05
    settings.UPSTREAM_BACKOFF_CAP = 0.2
    settings.UPSTREAM_READ_TIMEOUT = 5.0
    return settings


# Real Chromium (Debian's package) for the browser tests; Playwright never downloads its own.
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
# Runs in every document before its own scripts (through the DevTools protocol, which the
# policy does not govern) and records each Content-Security-Policy violation it reports.
RECORD_CSP_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", function (e) {
  window.__cspViolations.push(
    e.violatedDirective + " " + (e.blockedURI || "inline") + " " + e.sourceFile + ":" + e.lineNumber
  );
});
"""


@pytest.fixture
def page(monkeypatch):
    """A Chromium page. Every browser test also fails on a Content-Security-Policy violation
    reported in the console of any page it loaded (set `page.csp_expected = True` in a test
    that provokes one on purpose)."""
    import shutil

    from django.db import connections
    from playwright.sync_api import sync_playwright

    # Playwright's sync API keeps an event loop on this thread; the ORM calls here stay synchronous.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    chromium = shutil.which("chromium")
    if chromium is None:  # Playwright would point at its own download, which this project never uses
        pytest.fail("Chromium is not installed: the browser tests need Debian's package (apt-get install chromium)")
    console: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        context = browser.new_context()
        context.set_default_timeout(15000)
        context.add_init_script(RECORD_CSP_VIOLATIONS)
        new = context.new_page()
        new.csp_expected = False
        new.on(
            "console",
            lambda message: (
                console.append(f"{new.url}: {message.text}") if "Content Security Policy" in message.text else None
            ),
        )
        yield new
        expected = new.csp_expected
        browser.close()
        # While Playwright's loop runs, Django keeps this test's connections in that loop's
        # context: close them here, or they outlive the test and block dropping the test database.
        connections.close_all()
    if not expected:
        assert console == [], f"Content-Security-Policy violations: {console}"
