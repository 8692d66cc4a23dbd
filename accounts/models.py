"""Organizations, memberships and roles."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models

from .crypto import decrypt, encrypt
from .roles import ALL_ROLES, Role


class Organization(models.Model):
    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=50, unique=True)
    upstream_base_url = models.URLField(
        "upstream base URL", max_length=300, help_text="e.g. https://api-sandbox.mbx.com"
    )
    upstream_token = models.CharField("upstream token", max_length=255, db_index=True)
    # Fernet ciphertext; read with .get_upstream_secret(), set with .set_upstream_secret().
    upstream_secret_encrypted = models.TextField(editable=False, default="")
    upstream_organization_id = models.PositiveBigIntegerField("upstream organization id", null=True, blank=True)
    is_active = models.BooleanField("active", default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def set_upstream_secret(self, secret: str) -> None:
        self.upstream_secret_encrypted = encrypt(secret)

    def get_upstream_secret(self) -> str:
        if not self.upstream_secret_encrypted:
            return ""
        return decrypt(self.upstream_secret_encrypted)

    @property
    def has_upstream_secret(self) -> bool:
        return bool(self.upstream_secret_encrypted)


if TYPE_CHECKING:  # django-stubs: it takes a list or a string and gives back a list
    _RolesBase = models.CharField[str | list[str], list[str]]
else:
    _RolesBase = models.CharField


class RolesField(_RolesBase):
    """A list of role codes stored as a sorted comma-separated string.

    Role codes are not substrings of one another, so `roles__contains="buyer"` filters
    on every database.
    """

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("max_length", 100)
        kwargs.setdefault("default", "")
        kwargs.setdefault("blank", True)
        super().__init__(*args, **kwargs)

    def from_db_value(self, value, expression, connection):
        return self.to_python(value)

    def to_python(self, value):
        if isinstance(value, (list, tuple, set)):
            return sorted(set(value))
        if not value:
            return []
        return sorted({r for r in value.split(",") if r})

    def get_prep_value(self, value):
        if isinstance(value, (list, tuple, set)):
            return ",".join(sorted(set(value)))
        return value or ""

    def value_to_string(self, obj):
        return self.get_prep_value(self.value_from_object(obj))

    def validate(self, value, model_instance):
        unknown = set(value or []) - set(ALL_ROLES)
        if unknown:
            raise ValidationError(f"Unknown role(s): {', '.join(sorted(unknown))}")

    def formfield(self, form_class=None, choices_form_class=None, **kwargs):
        from django import forms

        return forms.TypedMultipleChoiceField(
            choices=Role.choices,
            widget=forms.CheckboxSelectMultiple,
            required=not self.blank,
            label=self.verbose_name.capitalize(),
        )


class MembershipQuerySet(models.QuerySet):
    def with_role(self, role: str):
        return self.filter(roles__contains=role)


class Membership(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="memberships")
    roles = RolesField()
    notify_order_updates = models.BooleanField("email me when my orders are released or shipped", default=True)
    notify_rma_updates = models.BooleanField("email me when my RMAs change status or close", default=True)
    list_settings = models.JSONField(
        default=dict, blank=True, help_text="per list: the columns shown and the page size this member chose"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    objects = MembershipQuerySet.as_manager()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "organization"], name="one_membership_per_org")]
        ordering = ["organization__name"]

    def __str__(self) -> str:
        return f"{self.user} in {self.organization} ({', '.join(self.roles) or 'no role'})"

    def has_role(self, role: str) -> bool:
        return role in self.roles
