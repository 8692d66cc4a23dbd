"""python manage.py addmember SLUG USERNAME --role ROLE [--role ROLE ...]

Creates the user if needed; a new user's password comes from PORTAL_USER_PASSWORD or a
prompt. Existing users keep their password; their roles in the organization are replaced.
"""

from __future__ import annotations

import getpass
import os
import sys

from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from accounts.models import Membership, Organization
from accounts.roles import ALL_ROLES


class Command(BaseCommand):
    help = "Add a user to an organization with roles (creating the user if needed)."

    def add_arguments(self, parser):
        parser.add_argument("slug")
        parser.add_argument("username")
        parser.add_argument("--role", action="append", required=True, choices=ALL_ROLES, dest="roles")
        parser.add_argument("--email", default="")

    def handle(self, *args, slug, username, roles, email, **options):
        try:
            org = Organization.objects.get(slug=slug)
        except Organization.DoesNotExist:
            raise CommandError(f"no organization with slug {slug!r}") from None
        User = get_user_model()
        with transaction.atomic():
            user = User.objects.filter(username=username).first()
            created = user is None
            if created:
                password = os.environ.get("PORTAL_USER_PASSWORD", "")
                if not password:
                    if not sys.stdin.isatty():
                        raise CommandError("set PORTAL_USER_PASSWORD in the environment (no terminal to prompt on)")
                    password = getpass.getpass(f"Password for {username}: ")
                user = User(username=username, email=email)
                try:
                    validate_password(password, user)
                except ValidationError as exc:
                    raise CommandError("password refused: " + " ".join(exc.messages)) from None
                user.set_password(password)
                user.save()
            membership, _ = Membership.objects.get_or_create(user=user, organization=org)
            membership.roles = roles
            membership.save()
        self.stdout.write(
            f"{'created user' if created else 'user'} {username}: {', '.join(membership.roles)} in {org.slug}"
        )
