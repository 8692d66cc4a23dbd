"""Celery beat lives through a database outage (issue 15): the scheduler keeps sending on the last
schedule it read, logs the outage once, retries with a back-off, reloads and writes its run times
once the database answers, and records a heartbeat on every pass. The outage is real: the
connection points where no database answers (portal.tests.outage)."""

from __future__ import annotations

import datetime
import logging
import time
import uuid

import pytest
from django.db import OperationalError
from django_celery_beat.models import IntervalSchedule, PeriodicTask
from django_celery_beat.schedulers import DatabaseScheduler

from portal import beat
from portal.celery import app

from .outage import database_down

pytestmark = pytest.mark.django_db(transaction=True)

ENTRY = "heal-test-every-second"


@pytest.fixture(autouse=True)
def heartbeat_cache(settings):
    settings.CACHES = {
        **settings.CACHES,
        "heartbeat": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": uuid.uuid4().hex},
    }


@pytest.fixture
def every_second():
    interval = IntervalSchedule.objects.create(every=1, period=IntervalSchedule.SECONDS)
    return PeriodicTask.objects.create(name=ENTRY, task="portal.touch_user", interval=interval, args='[0, "x"]')


_made: list[DatabaseScheduler] = []


@pytest.fixture(autouse=True)
def forget_schedulers():
    """A scheduler writes its run times at exit (a finalizer): not into a test database that is gone."""
    yield
    while _made:
        scheduler = _made.pop()
        scheduler._dirty.clear()
        scheduler._finalize.cancel()


def make_scheduler(cls=beat.ResilientScheduler):
    scheduler = cls(app=app)
    _made.append(scheduler)
    sent: list[str] = []

    def record(entry, producer=None, advance=True, **kwargs):  # nothing reaches the broker
        sent.append(entry.name)

    scheduler.apply_async = record
    if isinstance(scheduler, beat.ResilientScheduler):
        scheduler.retry_first, scheduler.retry_max = 0.2, 0.8
    return scheduler, sent


def run(scheduler, seconds: float) -> None:
    """Beat's loop (celery.beat.Service.start), for a while, with shorter sleeps."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        interval = scheduler.tick()
        if interval and interval > 0:
            time.sleep(min(interval, 0.1))


def test_beat_keeps_ticking_through_an_outage_and_resumes(every_second, caplog):
    scheduler, sent = make_scheduler()
    run(scheduler, 2.5)
    before = sent.count(ENTRY)
    assert before >= 2
    with caplog.at_level(logging.DEBUG, logger="portal.beat"), database_down():
        # The 5-minute full reload, which used to raise OperationalError out of beat's loop.
        scheduler._last_full_sync = datetime.datetime.min
        run(scheduler, 3)
        assert scheduler.database_down
        during = sent.count(ENTRY) - before
        tick = beat.last_tick()
        assert tick is not None and tick["database"] == "down" and time.time() - tick["at"] < 2
    assert during >= 2, "beat stopped sending during the outage"
    warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warnings) == 1
    assert "beat: the database failed while reloading the schedule (OperationalError" in warnings[0]
    assert len([r for r in caplog.records if "still fails" in r.getMessage()]) >= 2  # it kept trying, quietly

    with caplog.at_level(logging.WARNING, logger="portal.beat"):
        run(scheduler, 2.5)
    assert not scheduler.database_down
    assert any("beat: the database answers again after" in r.getMessage() for r in caplog.records)
    after = sent.count(ENTRY) - before - during
    assert after >= 2
    # The run times counted during the outage were written once the database answered.
    scheduler.sync()
    stored = PeriodicTask.objects.get(name=ENTRY).total_run_count
    assert stored >= before + during, (stored, before, during, after)
    assert beat.last_tick()["database"] == "ok"


def test_the_library_scheduler_died_on_the_same_outage(every_second):
    """What beat did before: the forced reload raised out of tick(), and beat exited."""
    scheduler, _ = make_scheduler(DatabaseScheduler)
    scheduler.tick()
    with database_down():
        scheduler._last_full_sync = datetime.datetime.min
        with pytest.raises(OperationalError):
            scheduler.tick()


def test_beat_starts_during_an_outage_and_sets_the_schedule_up_once_the_database_answers(every_second):
    with database_down():
        scheduler, sent = make_scheduler()
        run(scheduler, 1)
        assert scheduler.database_down and sent == []
        assert beat.last_tick()["database"] == "down"  # alive, and says why it sends nothing
    PeriodicTask.objects.filter(name="dispatch-redrive").delete()  # CELERY_BEAT_SCHEDULE's, installed again
    run(scheduler, 2.5)
    assert not scheduler.database_down and sent.count(ENTRY) >= 2
    assert PeriodicTask.objects.filter(name="dispatch-redrive").exists()


def test_beat_wakes_often_enough_to_keep_its_heartbeat_fresh(settings):
    settings.BEAT_HEARTBEAT_INTERVAL = 4
    scheduler, _ = make_scheduler()
    assert scheduler.max_interval == 2
    scheduler.tick()
    assert beat.last_tick()["pid"] > 0
