"""The mirror's models: order statuses spelled once, migrations up to date."""

from __future__ import annotations

from django.core.management import call_command

from mirror import models as m
from upstream.records import OrderStatus


def test_order_status_choices_are_the_upstream_statuses():
    assert m.Order._meta.get_field("status").choices == OrderStatus.choices
    assert [value for value, _ in OrderStatus.choices] == ["Pending", "Released", "Shipped"]


def test_the_mirror_models_need_no_new_migration(db):
    call_command("makemigrations", "mirror", "--check", "--dry-run", verbosity=0)  # exits 1 on a change
