"""python manage.py addorg SLUG --name NAME --base-url URL --token TOKEN [--upstream-org-id N]

The upstream secret comes from the UPSTREAM_SECRET environment variable or a prompt,
never from an argument (arguments show in `ps` and shell history).
"""

from __future__ import annotations

import getpass
import os
import sys

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.core.validators import URLValidator, validate_slug

from accounts.models import Organization


class Command(BaseCommand):
    help = "Create or update an organization and its upstream credentials."

    def add_arguments(self, parser):
        parser.add_argument("slug")
        parser.add_argument("--name", required=True)
        parser.add_argument("--base-url", required=True)
        parser.add_argument("--token", required=True)
        parser.add_argument("--upstream-org-id", type=int, default=None)
        parser.add_argument("--inactive", action="store_true", help="create the organization inactive")

    def handle(self, *args, slug, name, base_url, token, upstream_org_id, inactive, **options):
        try:
            validate_slug(slug)
        except ValidationError:
            raise CommandError(f"SLUG {slug!r} may only hold letters, digits, hyphens and underscores") from None
        try:
            URLValidator(schemes=["http", "https"])(base_url)
        except ValidationError:
            raise CommandError(f"--base-url {base_url!r} is not an http(s) URL") from None
        secret = os.environ.get("UPSTREAM_SECRET", "")
        if not secret:
            if not sys.stdin.isatty():
                raise CommandError("set UPSTREAM_SECRET in the environment (no terminal to prompt on)")
            secret = getpass.getpass("Upstream secret: ")
        if not secret.strip():
            raise CommandError("the upstream secret is empty")
        org, created = Organization.objects.get_or_create(
            slug=slug,
            defaults={"name": name, "upstream_base_url": base_url.rstrip("/"), "upstream_token": token},
        )
        org.name = name
        org.upstream_base_url = base_url.rstrip("/")
        org.upstream_token = token
        org.upstream_organization_id = upstream_org_id
        org.is_active = not inactive
        org.set_upstream_secret(secret.strip())
        org.save()
        self.stdout.write(f"{'created' if created else 'updated'} organization {org.slug} ({org.name})")
