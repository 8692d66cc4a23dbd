"""Benchmark: the client paging a large collection from the sandbox over loopback.

Starts a sandbox process, seeds ~100,000 inventory rows, and measures in one run:
- requests/second and rows/second of UpstreamClient.paginate() with page sizes 1000 and 100,
- the peak Python memory while paging (tracemalloc): one page at a time, not the collection,
- the cost of turning rows into typed records (Inventory.from_api),
- the signing cost per call (upstream.signing.sign on a typical GET, and signed_headers with
  its fresh date).
The client runs with log_calls=False so the benchmark writes nothing to the portal database.
Prints a markdown table. Run: `.venv/bin/python bench/client_paging.py [--rows 100000]`.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
import timeit
import tracemalloc
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")

import django  # noqa: E402

django.setup()

from accounts.models import Organization  # noqa: E402
from sandbox.pytest_plugin import start_sandbox_process, stop_sandbox_process  # noqa: E402
from upstream import signing  # noqa: E402
from upstream.client import UpstreamClient  # noqa: E402
from upstream.records import Inventory  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--tasks", type=int, default=50_000, help="rows of the automation tasks CSV report")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        proc, sandbox = start_sandbox_process(str(Path(tmp) / "bench.sqlite3"))
        try:
            sandbox.add_org("bench-token", "bench-secret", 1, "Bench")
            started = time.perf_counter()
            counts = sandbox.seed(
                "bench-token",
                scale=1,
                counts={
                    "inventories": args.rows,
                    "automation_tasks": args.tasks,
                    "automation_queues": max(1, args.tasks // 10),
                },
            )
            seed_s = time.perf_counter() - started
            org = Organization(slug="bench", name="Bench", upstream_base_url=sandbox.url, upstream_token="bench-token")
            org.set_upstream_secret("bench-secret")
            rows_out = []
            for page_size in (1000, 100):
                with UpstreamClient(org, log_calls=False) as client:
                    started = time.perf_counter()
                    cpu_started = time.process_time()
                    pages = rows = 0
                    for page in client.paginate("/v2/inventories", page_size=page_size):
                        pages += 1
                        rows += page.count
                    elapsed = time.perf_counter() - started
                    cpu = time.process_time() - cpu_started
                assert rows == counts["inventories"], (rows, counts)
                rows_out.append((page_size, pages, rows, elapsed, cpu))
            with UpstreamClient(org, log_calls=False) as client:
                tracemalloc.start()
                first_page_peak: int | None = None
                parsed = 0
                parse_s = 0.0
                for page in client.paginate("/v2/inventories", page_size=1000):
                    started = time.perf_counter()
                    parsed += sum(1 for row in page.results if Inventory.from_api(row).id)
                    parse_s += time.perf_counter() - started
                    if first_page_peak is None:
                        first_page_peak = tracemalloc.get_traced_memory()[1]
                peak = tracemalloc.get_traced_memory()[1]
                tracemalloc.stop()
                tracemalloc.start()
                started = time.perf_counter()
                csv_rows = sum(1 for _ in client.get_csv("/v2/automation_tasks/details.csv"))
                csv_s = time.perf_counter() - started
                csv_peak = tracemalloc.get_traced_memory()[1]
                tracemalloc.stop()
                assert csv_rows == counts["automation_tasks"], (csv_rows, counts)
        finally:
            stop_sandbox_process(proc)
    n = 20000
    per_call = (
        timeit.timeit(
            lambda: signing.sign(
                "bench-secret", "GET", "/v2/inventories?offset=99000&limit=1000", b"", "2026-11-22T10:15:00+00:00"
            ),
            number=n,
        )
        / n
    )
    print(
        f"sandbox seeded {counts['inventories']:,} inventory rows and {counts['automation_tasks']:,} automation "
        f"tasks in {seed_s:.1f} s\n"
    )
    print("| page size | pages | rows | seconds | requests/s | rows/s | client CPU ms/request |")
    print("|---:|---:|---:|---:|---:|---:|---:|")
    for page_size, pages, rows, elapsed, cpu in rows_out:
        print(
            f"| {page_size} | {pages} | {rows:,} | {elapsed:.2f} | {pages / elapsed:,.0f} | {rows / elapsed:,.0f} "
            f"| {cpu / pages * 1000:.2f} |"
        )
    headers_call = (
        timeit.timeit(
            lambda: signing.signed_headers(
                "bench-token", "bench-secret", "GET", "/v2/inventories?offset=99000&limit=1000", b""
            ),
            number=n,
        )
        / n
    )
    print(
        f"\npeak Python memory paging {parsed:,} rows by 1000: {peak / 2**20:.1f} MiB "
        f"(after the first page: {(first_page_peak or 0) / 2**20:.1f} MiB)"
    )
    print(
        f"CSV report streamed: {csv_rows:,} rows in {csv_s:.2f} s ({csv_rows / csv_s:,.0f} rows/s, "
        f"under tracemalloc), peak Python memory {csv_peak / 2**20:.2f} MiB"
    )
    print(f"typed records: Inventory.from_api {parsed / parse_s:,.0f} rows/s (measured under tracemalloc)")
    print(
        f"signing cost: sign() {per_call * 1e6:.1f} µs per call; "
        f"signed_headers() with a fresh date {headers_call * 1e6:.1f} µs per call"
    )


if __name__ == "__main__":
    main()
