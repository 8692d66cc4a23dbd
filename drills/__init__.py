"""Drills: the whole stack (real PostgreSQL, Redis, Celery worker and beat, the sandbox) put
through failures, each proving nothing acknowledged is lost or sent twice. `make drills` runs
them all (`python -m drills --help`); see drills/harness.py for the stack they run on.

A drill is a function registered with `@drill(name, bound)`. It gets the running stack and a
`Report`, does its damage, heals it and returns an `Outcome`; the runner prints

    drill NAME: acknowledged N, lost L, duplicated D, recovered in T s

and fails the drill when L or D is not 0, when recovery took longer than its bound (or never
came), or when one of its own checks (`report.check`) failed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class Outcome:
    acknowledged: int
    lost: int
    duplicated: int
    recovered_in: float | None  # seconds from healing to everything delivered; None: never
    notes: list[str] = field(default_factory=list)  # figures worth a line (peak rates, ...)


@dataclass
class Report:
    name: str
    failures: list[str] = field(default_factory=list)

    def check(self, ok: bool, what: str) -> bool:
        print(f"  {'ok  ' if ok else 'FAIL'} {what}", flush=True)
        if not ok:
            self.failures.append(what)
        return ok

    def say(self, text: str) -> None:
        print(f"  -- {text}", flush=True)


@dataclass
class Drill:
    name: str
    bound: float  # seconds recovery may take
    run: Callable
    summary: str


REGISTRY: dict[str, Drill] = {}


def drill(name: str, bound: float):
    def register(function: Callable) -> Callable:
        REGISTRY[name] = Drill(name, bound, function, (function.__doc__ or "").strip().split("\n")[0])
        return function

    return register
