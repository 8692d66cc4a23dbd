"""Benchmark: first sync and no-change re-sync of 100,000 rows from the sandbox, on PostgreSQL.

Measures, in one run, for inventories (JSON pages) and automation tasks (the CSV report):
rows/second of a first sync end to end (HTTP + parse + hash + COPY/upsert), of a no-change
re-sync, and the peak RSS of a fresh process syncing 10,000 and 100,000 rows.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/portal_bench .venv/bin/python bench/sync_mirror.py

The database is dropped, created afresh and migrated; the sandbox runs as its own process.
`--sizes` and `--resources` narrow a run; `--mapper` instead times each resource's mapper
(payload -> mirror columns) alone, per row, over the sandbox's payloads (no database needed).
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/portal_bench")
SIZES = (10_000, 100_000)
RESOURCES = ("inventories", "automation_tasks")


def child(resource: str, rows: int, url: str) -> None:
    import django

    django.setup()
    from accounts.models import Organization
    from sync.engine import run_sync
    from sync.models import SyncRun
    from sync.registry import get

    token = f"bench-{rows}"
    org, _ = Organization.objects.get_or_create(
        slug=token, defaults={"name": token, "upstream_base_url": url, "upstream_token": token}
    )
    org.upstream_base_url = url
    org.set_upstream_secret("bench-secret")
    org.save()
    model = get(resource).model
    model.objects.filter(organization=org).delete()
    SyncRun.objects.filter(organization=org).delete()  # a run left WORKING by an interrupted bench
    results: dict[str, Any] = {}
    for label in ("first", "resync"):
        started = time.perf_counter()
        run = run_sync(org, resource, "manual")
        elapsed = time.perf_counter() - started
        assert run.status == "success", run.error
        results[label] = {
            "seconds": elapsed,
            "rows": run.rows_fetched,
            "created": run.created,
            "updated": run.updated,
            "unchanged": run.unchanged,
        }
    assert results["first"]["created"] == rows and results["resync"]["unchanged"] == rows
    assert model.objects.filter(organization=org).count() == rows
    status = Path("/proc/self/status").read_text()
    results["peak_rss_mb"] = int(next(ln for ln in status.splitlines() if ln.startswith("VmHWM")).split()[1]) / 1024
    print(json.dumps(results))


def checkpoint(db_url: str) -> None:
    """Flush what the previous measurement wrote, so its checkpoint does not land in the next one."""
    import psycopg

    try:
        with psycopg.connect(db_url, autocommit=True) as conn:
            conn.execute("CHECKPOINT")
    except psycopg.Error as exc:  # needs superuser or pg_checkpoint; the figures are then noisier
        print(f"(no CHECKPOINT between runs: {exc.__class__.__name__})", file=sys.stderr)


def mapper_bench(rows: int, repeat: int = 7) -> None:
    """Microseconds per row of resource.mapper over `rows` seeded payloads (CSV rows for the report)."""
    import timeit

    os.environ["DATABASE_URL"] = "sqlite:///:memory:"  # the mapper touches no database
    import django

    django.setup()
    from sandbox.seed import seed
    from sandbox.server import App
    from sync.registry import get

    with tempfile.TemporaryDirectory() as tmp:
        app = App(str(Path(tmp) / "mapper.sqlite3"))
        app.store.put_org("mapper", "mapper-secret", 1, "mapper")
        counts = {"inventories": rows, "automation_tasks": rows, "automation_queues": max(1, rows // 5)}
        seed(app.store, "mapper", scale=0.01, counts={**counts, "customer_order_submissions": rows, "rmas": rows})
        text = "".join(app.csv_rows("mapper"))
        payloads = {
            "inventories": [json.loads(b) for b in app.store.iter_bodies("mapper", "inventories")],
            "automation_tasks": list(csv.DictReader(io.StringIO(text, newline=""))),
            "orders": [json.loads(b) for b in app.store.iter_bodies("mapper", "customer_order_submissions")],
            "rmas": [json.loads(b) for b in app.store.iter_bodies("mapper", "rmas")],
        }
    print("| resource | rows | mapper (us/row) | rows/s |")
    print("|---|---:|---:|---:|")
    for name, batch in payloads.items():
        mapper = get(name).mapper
        best = min(timeit.repeat(lambda: [mapper(p) for p in batch], number=1, repeat=repeat))  # noqa: B023
        print(f"| {name} | {len(batch):,} | {best * 1e6 / len(batch):.2f} | {len(batch) / best:,.0f} |")


def main(sizes: tuple[int, ...] = SIZES, resources: tuple[str, ...] = RESOURCES) -> None:
    import psycopg

    db_url = os.environ["DATABASE_URL"]
    name = db_url.rsplit("/", 1)[1]
    # A fresh database each run: rows deleted by an earlier run would stay as dead tuples where
    # autovacuum is off (as on the development machine) and slow every later run down.
    with psycopg.connect(db_url.rsplit("/", 1)[0] + "/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, check=True)
    import django

    django.setup()
    from sandbox.pytest_plugin import start_sandbox_process, stop_sandbox_process

    with tempfile.TemporaryDirectory() as tmp:
        proc, sandbox = start_sandbox_process(str(Path(tmp) / "bench.sqlite3"))
        try:
            for rows in sizes:
                token = f"bench-{rows}"
                sandbox.add_org(token, "bench-secret", 1, token)
                sandbox.seed(
                    token,
                    scale=0.01,
                    counts={"inventories": rows, "automation_tasks": rows, "automation_queues": max(1, rows // 5)},
                )
            results = []
            for resource in resources:
                for rows in sizes:
                    checkpoint(db_url)
                    out = subprocess.run(
                        [sys.executable, __file__, "--child", resource, str(rows), sandbox.url],
                        cwd=ROOT,
                        capture_output=True,
                        text=True,
                    )
                    if out.returncode:
                        raise SystemExit(out.stderr[-3000:])
                    results.append((resource, rows, json.loads(out.stdout.strip().splitlines()[-1])))
        finally:
            stop_sandbox_process(proc)
    print(
        "| resource | rows | first sync (s) | first sync rows/s | no-change re-sync (s) | re-sync rows/s "
        "| peak RSS (MB) |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|")
    for resource, rows, r in results:
        f, s = r["first"], r["resync"]
        print(
            f"| {resource} | {rows:,} | {f['seconds']:.2f} | {rows / f['seconds']:,.0f} | {s['seconds']:.2f} | "
            f"{rows / s['seconds']:,.0f} | {r['peak_rss_mb']:.0f} |"
        )


if __name__ == "__main__":
    if len(sys.argv) == 5 and sys.argv[1] == "--child":
        child(sys.argv[2], int(sys.argv[3]), sys.argv[4])
    else:
        parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
        parser.add_argument("--sizes", type=int, nargs="+", default=SIZES, metavar="ROWS", help="default: 10000 100000")
        parser.add_argument("--resources", nargs="+", default=RESOURCES, choices=RESOURCES, help="default: both")
        parser.add_argument("--mapper", type=int, metavar="ROWS", help="time the mappers alone over ROWS payloads")
        args = parser.parse_args()
        if args.mapper:
            mapper_bench(args.mapper)
        else:
            main(tuple(args.sizes), tuple(args.resources))
