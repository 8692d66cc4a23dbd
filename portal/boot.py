"""Start-up guard: a configuration error stops the process with one clear line."""

from __future__ import annotations

import os
import sys


def configure(default_settings: str = "portal.settings") -> None:
    """Point Django at its settings and load them now, so a bad value fails fast.

    On an ImproperlyConfigured error the process exits with status 2 and a single line
    naming the setting, instead of a traceback.
    """
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", default_settings)
    from django.conf import settings
    from django.core.exceptions import ImproperlyConfigured

    try:
        settings.INSTALLED_APPS  # noqa: B018 - forces the settings module to load
    except ImproperlyConfigured as exc:
        sys.stderr.write(f"configuration error: {exc}\n")
        raise SystemExit(2) from None
