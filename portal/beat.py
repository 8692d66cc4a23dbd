"""Celery beat that lives through a database outage, and beat's heartbeat.

django_celery_beat's DatabaseScheduler reads the schedule from the database: it asks for changes
on every pass and reloads the whole schedule at least every 5 minutes. A reload during a
PostgreSQL outage raised OperationalError out of beat's loop and beat exited. `ResilientScheduler`
(`CELERY_BEAT_SCHEDULER`, so every `celery -A portal beat` uses it) instead:

- catches database errors in the schedule's reload, its change check and its save (and at start-up);
- logs the outage once, and once more when the database answers again;
- keeps ticking on the last schedule it read (tasks still go to the broker on time);
- leaves the database alone for a back-off that doubles from 1 s up to 30 s between tries;
- once the database answers, reloads the schedule and writes the run times it could not.

Every pass also records a heartbeat (`record_tick()`) in the `heartbeat` cache (Redis when
`REDIS_URL` is set, a file under `var/` otherwise, so the web process sees what beat wrote, and
it does not depend on the database). Beat passes at least every `BEAT_HEARTBEAT_INTERVAL / 2`
seconds; `/healthz` answers 503 once the last tick is older than twice `BEAT_HEARTBEAT_INTERVAL`.
"""

from __future__ import annotations

import contextlib
import datetime
import logging
import os
import socket
import time
from typing import Any

from django.conf import settings
from django.core.cache import caches
from django.core.exceptions import ObjectDoesNotExist
from django.db import DatabaseError, InterfaceError, close_old_connections, transaction
from django_celery_beat.schedulers import DatabaseScheduler

log = logging.getLogger("portal.beat")

# What a database outage raises through django.db (OperationalError is a DatabaseError; a
# connection closed under a cursor is an InterfaceError).
DATABASE_ERRORS = (DatabaseError, InterfaceError)

HEARTBEAT_CACHE = "heartbeat"
HEARTBEAT_KEY = "portal:beat:tick"


def record_tick(**extra: Any) -> None:
    """Beat's side: note that beat is alive now (raises what the cache raises)."""
    tick = {"at": time.time(), "host": socket.gethostname(), "pid": os.getpid(), **extra}
    caches[HEARTBEAT_CACHE].set(HEARTBEAT_KEY, tick, timeout=None)


def last_tick() -> dict | None:
    """/healthz's side: beat's last heartbeat ({"at": epoch seconds, ...}), None if it never ticked."""
    return caches[HEARTBEAT_CACHE].get(HEARTBEAT_KEY)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return f"{exc.__class__.__name__}: {text.splitlines()[0]}" if text else exc.__class__.__name__


class ResilientScheduler(DatabaseScheduler):
    """DatabaseScheduler that keeps beat alive through database errors (see the module)."""

    retry_first = 1.0  # seconds before the first retry of the database
    retry_max = 30.0  # the back-off doubles up to this
    heartbeat_every = 1.0  # at most one heartbeat write per this many seconds

    def __init__(self, *args, **kwargs):
        # Set before DatabaseScheduler.__init__: it sets the schedule up, which may fail already.
        self._down_since: float | None = None  # monotonic time of the outage's first error
        self._failures = 0
        self._retry_at = 0.0
        self._setup_pending = False
        self._last_heartbeat = 0.0
        self._heartbeat_failing = False
        super().__init__(*args, **kwargs)
        # Pass often enough for the heartbeat to stay fresh however far away the next task is.
        self.max_interval = min(self.max_interval, max(1.0, settings.BEAT_HEARTBEAT_INTERVAL / 2))  # type: ignore[has-type]

    # -- the outage's state -------------------------------------------------------------------------
    @property
    def database_down(self) -> bool:
        return self._down_since is not None

    def _may_try_database(self) -> bool:
        return self._down_since is None or time.monotonic() >= self._retry_at

    def _failed(self, exc: BaseException, doing: str) -> None:
        now = time.monotonic()
        self._failures += 1
        delay = min(self.retry_max, self.retry_first * 2 ** (self._failures - 1))
        self._retry_at = now + delay
        if self._down_since is None:
            self._down_since = now
            log.warning(
                "beat: the database failed while %s (%s); beat keeps ticking on the last schedule it read "
                "(%d entries) and tries the database again after a back-off (%gs, doubling up to %gs)",
                doing,
                _first_line(exc),
                len(self._schedule or {}),
                delay,
                self.retry_max,
            )
        else:
            log.debug("beat: the database still fails (%s); next try in %gs", _first_line(exc), delay)
        # A broken connection is closed now, so the next try opens a new one.
        with contextlib.suppress(Exception):
            close_old_connections()

    def _answered(self) -> None:
        if self._down_since is not None:
            log.warning(
                "beat: the database answers again after %.0fs (%d failed tries); schedule reloaded (%d entries)",
                time.monotonic() - self._down_since,
                self._failures,
                len(self._schedule or {}),
            )
        self._down_since, self._failures = None, 0

    def _last_good(self) -> dict:
        return self._schedule if self._schedule is not None else {}

    # -- DatabaseScheduler, made to survive -----------------------------------------------------------
    def setup_schedule(self):
        try:
            close_old_connections()
            self.Model.objects.exists()  # one cheap round trip: is the database there at all?
        except DATABASE_ERRORS as exc:
            self._setup_pending = True  # installs CELERY_BEAT_SCHEDULE once the database answers
            self._failed(exc, "setting the schedule up")
            return
        self._setup_pending = False
        super().setup_schedule()

    @property
    def schedule(self):
        if not self._may_try_database():
            return self._last_good()
        was_down = self.database_down
        initial = self._initial_read  # type: ignore[has-type]
        try:
            if self._setup_pending:
                self.setup_schedule()
                if self._setup_pending:  # failed again
                    return self._last_good()
            if was_down:
                # Reload the whole schedule now rather than at the next 5-minute sync.
                self._last_full_sync = datetime.datetime.min
            current = super().schedule
        except DATABASE_ERRORS as exc:
            if initial:
                self._initial_read = True
            self._last_full_sync = datetime.datetime.min  # reload once the database answers
            self._failed(exc, "reloading the schedule")
            return self._last_good()
        if was_down:
            self._answered()
        return current

    def schedule_changed(self):
        """DatabaseScheduler's check, letting a database error through to `schedule` (the library's
        own logs a traceback on every pass of an outage and carries on with a broken connection)."""
        close_old_connections()
        # MySQL under REPEATABLE-READ sees other transactions' changes only after a commit.
        with contextlib.suppress(transaction.TransactionManagementError):
            transaction.commit()
        last, ts = self._last_timestamp, self.Changes.last_change()  # type: ignore[has-type]
        self._last_timestamp = ts
        return bool(ts and ts > (last or ts))

    def sync(self):
        """Write the run times of the entries sent since the last sync. During an outage they stay
        to write (beat's loop, its 3-minute sync and its shutdown all come here)."""
        if not self._dirty or not self._may_try_database():
            return
        try:
            close_old_connections()
            while self._dirty:
                name = next(iter(self._dirty))
                entry = self._last_good().get(name)
                if entry is not None:
                    with contextlib.suppress(ObjectDoesNotExist):  # deleted in the admin meanwhile
                        entry.save()
                self._dirty.discard(name)
        except DATABASE_ERRORS as exc:
            self._failed(exc, "saving the schedule")

    # -- the heartbeat --------------------------------------------------------------------------------
    def tick(self, *args, **kwargs):
        interval = super().tick(*args, **kwargs)
        self.heartbeat()
        return interval

    def heartbeat(self) -> None:
        now = time.monotonic()
        if now - self._last_heartbeat < self.heartbeat_every:
            return
        self._last_heartbeat = now
        try:
            record_tick(database="down" if self.database_down else "ok", entries=len(self._last_good()))
        except Exception as exc:  # the cache (Redis) is down: beat goes on; /healthz reports it
            if not self._heartbeat_failing:
                log.warning("beat: cannot record its heartbeat (%s); trying again on every pass", _first_line(exc))
            self._heartbeat_failing = True
        else:
            if self._heartbeat_failing:
                log.warning("beat: records its heartbeat again")
            self._heartbeat_failing = False
