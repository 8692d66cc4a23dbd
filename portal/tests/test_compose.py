"""docker-compose.yml heals itself: every long-running service restarts when it exits, and the
worker and beat have health checks (issue 15). Beat everywhere uses the resilient scheduler."""

from __future__ import annotations

from pathlib import Path

import yaml
from django.conf import settings
from django.core.management import get_commands

COMPOSE = Path(__file__).resolve().parents[2] / "docker-compose.yml"


def services() -> dict:
    return yaml.safe_load(COMPOSE.read_text())["services"]


def test_every_long_running_service_restarts_unless_stopped_and_migrate_runs_once():
    found = services()
    for name in ("web", "worker", "beat", "sandbox", "postgres", "redis"):
        assert found[name].get("restart") == "unless-stopped", name
    assert found["migrate"].get("restart") == "no"


def test_worker_and_beat_have_health_checks():
    found = services()
    worker = " ".join(found["worker"]["healthcheck"]["test"])
    assert "celery -A portal inspect ping" in worker and "--timeout" in worker
    assert "-n worker@%h" in found["worker"]["command"] and "-d worker@$$HOSTNAME" in worker
    assert found["beat"]["healthcheck"]["test"][-2:] == ["manage.py", "beatstatus"]
    assert "beatstatus" in get_commands()
    for name in ("worker", "beat"):
        check = found[name]["healthcheck"]
        assert check["interval"] and check["timeout"] and check["retries"] >= 1


def test_beat_uses_the_scheduler_that_lives_through_a_database_outage():
    assert settings.CELERY_BEAT_SCHEDULER == "portal.beat:ResilientScheduler"
    assert "--scheduler" not in services()["beat"]["command"]  # the setting decides, everywhere
