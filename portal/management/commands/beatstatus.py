"""`manage.py beatstatus`: one line on beat's heartbeat; exit status 1 when beat is silent.

Compose's health check of the beat container. Beat is silent when its last heartbeat
(portal.beat, in the "heartbeat" cache) is older than twice BEAT_HEARTBEAT_INTERVAL, or when it
never recorded one: the same rule as /healthz.
"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from portal.health import check_beat


class Command(BaseCommand):
    help = "Say when Celery beat last ticked; exit 1 when it has been silent too long."

    def handle(self, *args, **options):
        error, details = check_beat()
        when = f"last tick {details['beat_last_tick']} ({details['beat_silent_s']:g}s ago)" if details else ""
        if error:
            raise CommandError(f"beat is down: {error}" + (f"; {when}" if when else ""))
        self.stdout.write(f"beat ok: {when}")
