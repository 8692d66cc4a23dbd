"""The RMA lists' search: a trigram index on RmaRow.search_text (PostgreSQL), and the rows of
RMAs and requests that exist already."""

from django.db import migrations
from django.db.models import Q

TRGM_INDEX = "rmas_row_search_trgm"


def search_index(apps, schema_editor):
    """PostgreSQL: substring search (LIKE '%term%') through a trigram index. SQLite scans."""
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS {TRGM_INDEX} ON rmas_rmarow USING gin (search_text gin_trgm_ops)"
        )


def drop_search_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"DROP INDEX IF EXISTS {TRGM_INDEX}")


def fill(apps, schema_editor):
    """The rows of RMAs (and requests) stored before the list had its table. A derived table: the current
    builder fills it (rmas.rows.rebuild), as orders' 0005 does."""
    Organization = apps.get_model("accounts", "Organization")
    Rma = apps.get_model("mirror", "Rma")
    RmaSubmission = apps.get_model("rmas", "RmaSubmission")
    ids = list(
        Organization.objects.filter(
            Q(pk__in=Rma.objects.values("organization_id")) | Q(pk__in=RmaSubmission.objects.values("organization_id"))
        ).values_list("pk", flat=True)
    )
    if not ids:
        return
    from rmas.rows import rebuild

    for pk in ids:
        rebuild(pk)


class Migration(migrations.Migration):
    dependencies = [
        ("rmas", "0001_initial"),
    ]

    operations = [
        migrations.RunPython(search_index, drop_search_index),
        migrations.RunPython(fill, migrations.RunPython.noop),
    ]
