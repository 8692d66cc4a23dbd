"""Run the drills: `python -m drills [NAME ...] [--keep] [--outage SECONDS]` (`make drills`).

Starts the private stack once (drills/harness.py), runs each drill in the order listed (all by
default; the disruptive PostgreSQL restart last), prints each drill's line and checks, then a
markdown table of the run (for the README). Exit status 1 when any drill failed.
"""

from __future__ import annotations

import argparse
import sys
import time
import traceback
from datetime import UTC, datetime

from . import REGISTRY, Outcome, Report
from . import outbox_drills as _outbox_drills  # noqa: F401  # registers its drills
from . import webhook_drills as _webhook_drills  # noqa: F401  # registers its drills
from .harness import Stack

# The default order: the most disruptive (a PostgreSQL restart) last.
ORDER = [
    "upstream_outage",
    "drop_after_commit",
    "rate_limit",
    "kill_worker",
    "redis_restart",
    "webhooks",
    "clock_skew",
    "postgres_restart",
]


def line(name: str, outcome: Outcome) -> str:
    recovered = f"{outcome.recovered_in:.1f} s" if outcome.recovered_in is not None else "never"
    return (
        f"drill {name}: acknowledged {outcome.acknowledged}, lost {outcome.lost}, "
        f"duplicated {outcome.duplicated}, recovered in {recovered}"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("names", nargs="*", choices=[[], *REGISTRY], metavar="NAME", help=", ".join(REGISTRY))
    parser.add_argument("--keep", action="store_true", help="keep the stack's folder (logs, data) afterwards")
    parser.add_argument("--outage", type=float, default=120.0, help="seconds of the upstream outage (default 120)")
    args = parser.parse_args()
    names = args.names or sorted(REGISTRY, key=lambda n: ORDER.index(n) if n in ORDER else len(ORDER))
    started = time.monotonic()
    stack = Stack(keep=args.keep)
    rows: list[tuple[str, str, Outcome | None, float, bool]] = []
    try:
        stack.up()
        print(f"drills: the stack is up after {time.monotonic() - started:.0f} s", flush=True)
        for name in names:
            drill = REGISTRY[name]
            report = Report(name)
            print(f"\n== {name}: {drill.summary}", flush=True)
            began = time.monotonic()
            outcome: Outcome | None = None
            try:
                outcome = drill.run(stack, report, args)
            except Exception:
                traceback.print_exc()
                report.failures.append("the drill raised")
            took = time.monotonic() - began
            if outcome is not None:
                for note in outcome.notes:
                    report.say(note)
                report.check(outcome.lost == 0, f"lost {outcome.lost}")
                report.check(outcome.duplicated == 0, f"duplicated {outcome.duplicated}")
                report.check(
                    outcome.recovered_in is not None and outcome.recovered_in <= drill.bound,
                    f"recovered within its bound of {drill.bound:g} s",
                )
                print(line(name, outcome), flush=True)
            else:
                print(f"drill {name}: did not finish", flush=True)
            rows.append((name, drill.summary, outcome, took, not report.failures))
            if report.failures:
                stack.failed = True
                print(f"drill {name} FAILED: {'; '.join(report.failures)}", flush=True)
    finally:
        stack.down()
    total = time.monotonic() - started
    print(f"\n### Drills (`make drills`, {datetime.now(UTC):%Y-%m-%d}, {total / 60:.1f} min in all)\n")
    print("| drill | what | acknowledged | lost | duplicated | recovered in | took | result |")
    print("|---|---|---:|---:|---:|---:|---:|---|")
    for name, summary, outcome, took, ok in rows:
        if outcome is None:
            print(f"| {name} | {summary} | | | | | {took:.0f} s | failed |")
            continue
        recovered = f"{outcome.recovered_in:.1f} s" if outcome.recovered_in is not None else "never"
        print(
            f"| {name} | {summary} | {outcome.acknowledged} | {outcome.lost} | {outcome.duplicated} | "
            f"{recovered} | {took:.0f} s | {'passed' if ok else 'FAILED'} |"
        )
    failed = [name for name, *_, ok in rows if not ok]
    print(f"\n{len(failed)} of {len(rows)} drills failed: {', '.join(failed)}" if failed else "\nall drills passed")
    return 1 if failed or len(rows) < len(names) else 0


if __name__ == "__main__":
    sys.exit(main())
