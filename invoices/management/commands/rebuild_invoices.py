"""Rebuild the invoices list's rows and month totals from the mirror (to repair, or after TIME_ZONE changed:
months are counted in the portal's time zone)."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from accounts.models import Organization
from invoices import rows
from invoices.models import InvoiceMonth


class Command(BaseCommand):
    help = __doc__

    def add_arguments(self, parser):
        parser.add_argument("slugs", nargs="*", help="organizations (default: every one)")

    def handle(self, *args, slugs: list[str], **options):
        organizations = Organization.objects.order_by("slug")
        if slugs:
            organizations = organizations.filter(slug__in=slugs)
            missing = set(slugs) - set(organizations.values_list("slug", flat=True))
            if missing:
                raise CommandError(f"no organization {', '.join(sorted(missing))}")
        for organization in organizations:
            with transaction.atomic():
                count = rows.rebuild(organization.pk)
            months = InvoiceMonth.objects.filter(organization=organization).count()
            self.stdout.write(f"{organization.slug}: {count} invoice rows, {months} months")
