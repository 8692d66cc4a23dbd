"""Start-up configuration: clear one-line errors, and a clean `check --deploy`."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from accounts.crypto import generate_key

ROOT = Path(__file__).resolve().parents[2]
GOOD_KEY = "k" * 20 + "-production-secret-key-0123456789abcdefghij"


def run_manage(*args, **env_overrides):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "SECRET_KEY", "ENCRYPTION_KEYS"))}
    env.pop("PYTEST_XDIST_WORKER", None)
    env.update(env_overrides)
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )


def production_env(**overrides):
    env = {
        "DJANGO_SETTINGS_MODULE": "portal.settings.production",
        "SECRET_KEY": GOOD_KEY,
        "ENCRYPTION_KEYS": generate_key(),
        "ALLOWED_HOSTS": "portal.example.com",
    }
    env.update(overrides)
    return env


@pytest.mark.parametrize(
    "overrides, setting",
    [
        ({"SECRET_KEY": ""}, "SECRET_KEY"),
        ({"ENCRYPTION_KEYS": ""}, "ENCRYPTION_KEYS"),
        ({"ALLOWED_HOSTS": ""}, "ALLOWED_HOSTS"),
    ],
)
def test_production_refuses_to_start_without_a_required_setting(overrides, setting):
    result = run_manage("check", **production_env(**overrides))
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("configuration error:") and setting in lines[0]


@pytest.mark.parametrize("url", ["not-a-url", "mysql//oops", "redis://127.0.0.1/0", "postgres://"])
def test_malformed_database_url_stops_start_up_with_one_line(url):
    result = run_manage("check", DATABASE_URL=url)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "DATABASE_URL" in lines[0]


def test_malformed_encryption_key_is_named(db, settings):
    from django.core.exceptions import ImproperlyConfigured

    from accounts.crypto import encrypt

    settings.ENCRYPTION_KEYS = ["not-a-fernet-key"]
    with pytest.raises(ImproperlyConfigured, match="ENCRYPTION_KEYS"):
        encrypt("x")


def test_check_deploy_reports_no_warnings_with_production_settings():
    result = run_manage("check", "--deploy", "--fail-level", "WARNING", **production_env())
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_celery_app_refuses_bad_configuration_with_one_line():
    env = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO_")}
    env.update(production_env(SECRET_KEY=""))
    result = subprocess.run(
        [sys.executable, "-c", "import portal.celery"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 2
    assert result.stderr.strip() == "configuration error: SECRET_KEY must be set in production"


@pytest.mark.parametrize(
    "url, extra, timeout",
    [
        ("postgres://portal@db.example:5432/portal", {}, 5),
        ("postgres://portal@db.example:5432/portal", {"DATABASE_CONNECT_TIMEOUT": "9"}, 9),
        ("postgres://portal@db.example:5432/portal?connect_timeout=2", {"DATABASE_CONNECT_TIMEOUT": "9"}, 2),
    ],
)
def test_a_postgresql_connect_gives_up_after_its_time_out(monkeypatch, url, extra, timeout):
    from portal.settings import _database_from_env

    monkeypatch.setenv("DATABASE_URL", url)
    for key, value in extra.items():
        monkeypatch.setenv(key, value)
    config = _database_from_env()
    assert int(config["OPTIONS"]["connect_timeout"]) == timeout
    assert config["CONN_HEALTH_CHECKS"] is True


def test_sqlite_has_no_connect_time_out(monkeypatch, tmp_path):
    from portal.settings import _database_from_env

    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path}/x.sqlite3")
    assert "connect_timeout" not in _database_from_env()["OPTIONS"]
