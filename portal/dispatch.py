"""Persist, then hand to a worker: the one way a saved row becomes work for Celery.

A *channel* is a kind of row that a worker processes after the transaction that saved it
commits: an outbox delivery (a write to the upstream), a webhook delivery (a push from it),
an order e-mail; next, RMAs, automation actions and serial data ride the outbox channel.
An app registers its channel once, in its `hooks.py`:

    register(Channel("outbox", process=services.send, due=services.due_for_redrive))

- `on_commit(channel, pk)`: the caller has saved the row in its transaction; once that
  commits, the row's id goes to the broker. If the transaction rolls back, nothing is sent.
- `hand_over(channel, pk, countdown=None)`: to the broker now. It never raises: with the
  broker down the row is safe where it is, and the redrive picks it up.
- The worker task `portal.process` runs `channel.process(pk)`. Processing must be safe to
  run twice for the same row (a lost acknowledgement, or a redrive racing a slow task):
  each channel claims its row under a lock and skips a row that is done.
- `redrive()` (beat, every 30 s) hands over again what each channel's `due()` names: tasks
  lost with a restarted broker, a worker killed mid-task, a countdown that vanished.

A channel's name travels in the task message, so `portal.checks` refuses to start with a
channel that is named twice or has no processor.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from django.db import transaction

log = logging.getLogger("portal.dispatch")

REDRIVE_LIMIT = 500  # per channel and run; the next run takes the rest


@dataclass(frozen=True)
class Channel:
    name: str
    # (row id) -> anything; runs in the worker. Must claim the row and skip it when done.
    process: Callable[[int], object]
    # (limit) -> ids of rows whose hand-over may have been lost and that are due again.
    due: Callable[[int], Iterable[int]]


_CHANNELS: dict[str, Channel] = {}


def register(channel: Channel) -> Channel:
    existing = _CHANNELS.get(channel.name)
    if existing is not None and existing != channel:
        raise ValueError(f"dispatch channel {channel.name!r} is registered twice")
    _CHANNELS[channel.name] = channel
    return channel


def channels() -> dict[str, Channel]:
    return dict(_CHANNELS)


def get(name: str) -> Channel:
    try:
        return _CHANNELS[name]
    except KeyError:
        raise LookupError(f"no dispatch channel {name!r}; registered: {', '.join(sorted(_CHANNELS))}") from None


def hand_over(channel: str, pk: int, *, countdown: float | None = None) -> bool:
    """Queue row `pk` of `channel` for a worker; never raises. False when the broker refused it."""
    from .tasks import process

    get(channel)  # a typo is a bug here, not a message no worker can run
    try:
        if countdown is None:
            process.apply_async((channel, pk))
        else:
            process.apply_async((channel, pk), countdown=countdown)
        return True
    except Exception as exc:  # broker unreachable
        log.warning(
            "%s %s not handed to the broker (%s); the redrive queues it later", channel, pk, exc.__class__.__name__
        )
        return False


def on_commit(channel: str, pk: int, *, countdown: float | None = None) -> None:
    """Hand row `pk` over once the current transaction commits (at once outside a transaction)."""
    get(channel)
    transaction.on_commit(lambda: hand_over(channel, pk, countdown=countdown))


def run(channel: str, pk: int) -> object:
    """The worker's side: process one row."""
    return get(channel).process(pk)


def backlog() -> int | None:
    """How many tasks wait in the broker's queue (not yet taken by a worker); None when the
    broker cannot say (unreachable)."""
    from kombu.exceptions import ChannelError

    from .celery import app

    try:
        with app.connection_for_write() as conn:
            channel = conn.default_channel
            declared = channel.queue_declare(queue=app.conf.task_default_queue, passive=True)  # type: ignore[attr-defined]
            return int(declared.message_count)
    except ChannelError:  # no such queue yet (Redis drops an empty one): nothing waits
        return 0
    except Exception as exc:
        log.warning("the broker's queue length is unknown (%s)", exc.__class__.__name__)
        return None


def redrive(limit: int = REDRIVE_LIMIT) -> dict[str, int]:
    """Hand over again every channel's due rows. Returns how many per channel.

    A row due but not yet processed is either lost or still waiting in the broker behind a
    backlog: the tasks already queued count against `limit`, so a backlog (after an outage, say)
    is not doubled by every redrive; what was really lost is handed over once the queue drains."""
    waiting = backlog() or 0
    budget = max(0, limit - waiting)
    if not budget:
        log.info("redrive: %s tasks wait in the queue; handing nothing over until it drains", waiting)
    counts = {}
    for name, channel in sorted(_CHANNELS.items()):
        ids = list(channel.due(budget)) if budget else []
        for pk in ids:
            hand_over(name, pk)
        counts[name] = len(ids)
    return counts
