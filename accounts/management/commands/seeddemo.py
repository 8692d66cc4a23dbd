"""Load the demo organization "Demo Co" (slug demo) wired to the sandbox upstream.

Users: ops superuser `admin` and `alice` (every role in Demo Co), password from
PORTAL_DEMO_PASSWORD (default portal-demo-password). Idempotent.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import transaction

from accounts.models import Membership, Organization
from accounts.roles import ALL_ROLES

DEMO_TOKEN = "demo-token"  # nosec B105  # the demo organization's sandbox token, public (README)
DEMO_SECRET = "demo-secret"  # nosec B105  # the sandbox's demo secret, public (README)
DEMO_UPSTREAM_ORG_ID = 48134


class Command(BaseCommand):
    help = "Create the demo organization and users (idempotent)."

    def add_arguments(self, parser):
        parser.add_argument("--base-url", default=settings.SANDBOX_URL)

    @transaction.atomic
    def handle(self, *args, base_url, **options):
        password = settings.PORTAL_DEMO_PASSWORD
        org, _ = Organization.objects.get_or_create(
            slug="demo",
            defaults={"name": "Demo Co", "upstream_base_url": base_url, "upstream_token": DEMO_TOKEN},
        )
        org.name = "Demo Co"
        org.upstream_base_url = base_url
        org.upstream_token = DEMO_TOKEN
        org.upstream_organization_id = DEMO_UPSTREAM_ORG_ID
        org.is_active = True
        org.set_upstream_secret(DEMO_SECRET)
        org.save()
        User = get_user_model()
        admin, _ = User.objects.get_or_create(username="admin", defaults={"email": "admin@example.com"})
        admin.is_staff = admin.is_superuser = True
        admin.set_password(password)
        admin.save()
        alice, _ = User.objects.get_or_create(username="alice", defaults={"email": "alice@example.com"})
        alice.first_name = "Alice"
        alice.set_password(password)
        alice.save()
        membership, _ = Membership.objects.get_or_create(user=alice, organization=org)
        membership.roles = ALL_ROLES
        membership.save()
        self.stdout.write(
            f"demo organization ready: Demo Co (demo) -> {base_url}\n"
            f"  portal login: alice / {password}   (every role in Demo Co)\n"
            f"  admin login:  admin / {password}   (http://127.0.0.1:8000/admin/)"
        )
