"""Run every benchmark in turn (`make bench`); each prints its own markdown table.

The sync and list benchmarks need PostgreSQL: the sync benchmark uses DATABASE_URL when that
names a PostgreSQL database, else postgres://postgres@127.0.0.1:5432/portal_bench; the list
benchmark uses a database portal_bench_lists on the same server. Each drops and recreates its own.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
SCRIPTS = ("client_paging.py", "sync_mirror.py", "lists.py")


def main() -> int:
    env = dict(os.environ)
    if not env.get("DATABASE_URL", "").startswith(("postgres://", "postgresql://")):
        env["DATABASE_URL"] = "postgres://postgres@127.0.0.1:5432/portal_bench"
    failed = []
    for script in SCRIPTS:
        print(f"\n## {script}\n", flush=True)
        if subprocess.run([sys.executable, str(HERE / script)], cwd=HERE.parent, env=env).returncode:
            failed.append(script)
    if failed:
        print(f"\nfailed: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
