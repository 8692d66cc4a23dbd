"""Re-encrypt every stored secret under the first key of ENCRYPTION_KEYS.

Rotating a key: put the new key first in ENCRYPTION_KEYS and keep the old ones after it
(the first encrypts, every one decrypts), restart, run this command, then drop the old keys.
All secrets are rewritten in one transaction: if any of them cannot be decrypted with any key,
nothing is changed and the command names the rows (never a secret) and exits non-zero.
"""

from __future__ import annotations

from django.apps import apps
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from accounts.crypto import DecryptionError, rotate

# Every column that holds a Fernet token: (model label, field). A new stored secret adds a line.
STORED_SECRETS = [("accounts.Organization", "upstream_secret_encrypted")]


class Command(BaseCommand):
    help = "Re-encrypt every stored secret under the first key of ENCRYPTION_KEYS (after adding a new key)."

    def handle(self, *args, **options):
        rotated = 0
        unreadable: list[str] = []
        with transaction.atomic():
            for label, field in STORED_SECRETS:
                model = apps.get_model(label)
                rows = model._default_manager.select_for_update().exclude(**{field: ""}).order_by("pk")
                for pk, token in rows.values_list("pk", field):
                    try:
                        fresh = rotate(token)
                    except DecryptionError:
                        unreadable.append(f"{label} {pk}")
                        continue
                    model._default_manager.filter(pk=pk).update(**{field: fresh})
                    rotated += 1
            if unreadable:
                raise CommandError(
                    f"{len(unreadable)} stored secret(s) cannot be decrypted with any key in ENCRYPTION_KEYS "
                    f"({', '.join(unreadable)}); nothing was changed. Add the key they were encrypted with "
                    "to ENCRYPTION_KEYS (after the new one) and run this again."
                )
        self.stdout.write(f"re-encrypted {rotated} stored secret(s) under the first key of ENCRYPTION_KEYS")
