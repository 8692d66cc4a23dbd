"""python manage.py runsandbox [--host 127.0.0.1] [--port 8001]: the sandbox upstream."""

from __future__ import annotations

import logging
import os
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from sandbox import seed as seeding
from sandbox.server import PACES, App, make_server


class Command(BaseCommand):
    help = "Run the sandbox upstream (the integrator's v2 API, with its own storage) in the foreground."

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8001)
        parser.add_argument("--db", default=settings.SANDBOX_DB_PATH, help="SQLite file of the sandbox's own data")
        parser.add_argument(
            "--seed-org",
            action="append",
            default=[],
            metavar="TOKEN:SECRET:ORGID",
            help="register (and seed) an organization; the secret may come from SANDBOX_SECRET",
        )
        parser.add_argument("--scale", type=float, default=1.0, help="seed scale (1: a few hundred rows)")
        parser.add_argument("--reseed", action="store_true", help="seed even if the organization has data")
        parser.add_argument("--pace", choices=sorted(PACES), default="fast")
        parser.add_argument("--webhook-url", default=None, help="Order Update webhook URL for the seeded orgs")
        parser.add_argument("--webhook-backoff", type=float, default=1.0, help="first webhook retry delay (s)")
        parser.add_argument("--ready-file", default=None, help="write the bound port here once serving")

    def handle(
        self, *args, host, port, db, seed_org, scale, reseed, pace, webhook_url, webhook_backoff, ready_file, **options
    ):
        logging.getLogger("sandbox").setLevel(logging.INFO)
        Path(db).parent.mkdir(parents=True, exist_ok=True)
        app = App(db, pace=pace, webhook_backoff=webhook_backoff)
        for spec in seed_org:
            parts = spec.split(":")
            if len(parts) == 2:
                parts.append("")
            if len(parts) != 3:
                raise CommandError("--seed-org takes TOKEN:SECRET:ORGID (or TOKEN::ORGID with SANDBOX_SECRET set)")
            token, secret, org_id = parts
            secret = secret or os.environ.get("SANDBOX_SECRET", "")
            if not token or not secret:
                raise CommandError("--seed-org needs a token and a secret")
            app.store.put_org(token, secret, int(org_id) if org_id else None, f"Org {token}", webhook_url)
            if reseed or app.store.count(token, "inventories") == 0:
                counts = seeding.seed(app.store, token, scale)
                self.stdout.write(f"seeded {token}: " + ", ".join(f"{k} {v}" for k, v in counts.items()))
        server = make_server(host, port, app)
        app.start_background()
        bound = server.server_address[1]
        if ready_file:
            Path(ready_file).write_text(str(bound))
        self.stdout.write(f"sandbox upstream on http://{host}:{bound}/ (pace {pace}, data {db})")
        try:
            server.serve_forever(poll_interval=0.2)
        except KeyboardInterrupt:
            pass
        finally:
            app.stopping.set()
            server.server_close()
