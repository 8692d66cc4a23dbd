"""python manage.py sync [--org SLUG] [RESOURCE ...]: run syncs in the foreground.

Shows a progress bar per run and a summary table; exits non-zero when a run failed.
"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from accounts.models import Organization
from sync import registry
from sync.engine import AlreadyRunning, run_sync
from sync.models import SyncRun


class Command(BaseCommand):
    help = "Sync upstream collections into the mirror now."

    def add_arguments(self, parser):
        parser.add_argument(
            "resources", nargs="*", metavar="RESOURCE", help=f"default: all ({', '.join(registry.REGISTRY)})"
        )
        parser.add_argument("--org", dest="slug", help="only this organization (default: every active one)")
        parser.add_argument("--no-progress", action="store_true")

    def handle(self, *args, resources, slug, no_progress, **options):
        unknown = [r for r in resources if r not in registry.REGISTRY]
        if unknown:
            raise CommandError(f"unknown resource(s): {', '.join(unknown)}; known: {', '.join(registry.REGISTRY)}")
        orgs = Organization.objects.filter(is_active=True)
        if slug:
            orgs = orgs.filter(slug=slug)
            if not orgs.exists():
                raise CommandError(f"no active organization with slug {slug!r}")
        rows: list[tuple[object, ...]] = []
        failed = 0
        for org in orgs.order_by("slug"):
            for name in resources or list(registry.REGISTRY):
                bar = tqdm(
                    desc=f"{org.slug} {name}", unit=" rows", disable=no_progress, leave=False, file=self.stderr._out
                )

                def on_page(run, bar=bar):
                    bar.total = None
                    bar.update(run.rows_fetched - bar.n)

                try:
                    run = run_sync(org, name, SyncRun.Trigger.MANUAL, on_page=on_page)
                except AlreadyRunning:
                    rows.append((org.slug, name, "skipped (already running)", "", "", "", "", "", ""))
                    continue
                finally:
                    bar.close()
                failed += run.status == SyncRun.Status.FAILED
                seconds = run.duration.total_seconds() if run.duration else 0
                rows.append(
                    (
                        org.slug,
                        name,
                        run.status,
                        run.rows_fetched,
                        run.created,
                        run.updated,
                        run.unchanged,
                        run.vanished,
                        f"{seconds:.1f}s" + (f"  {run.error}" if run.error else ""),
                    )
                )
        header = (
            "organization",
            "resource",
            "status",
            "fetched",
            "created",
            "updated",
            "unchanged",
            "vanished",
            "time",
        )
        widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
        for row in [header, *rows]:
            self.stdout.write("  ".join(str(v).ljust(w) for v, w in zip(row, widths, strict=True)).rstrip())
        if failed:
            raise CommandError(f"{failed} sync run(s) failed")
