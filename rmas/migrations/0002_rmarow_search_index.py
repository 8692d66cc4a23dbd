"""The RMA lists' search: a trigram index on RmaRow.search_text (PostgreSQL), and the rows of
RMAs and requests that exist already."""

from django.db import migrations
from django.db.models import Q

from portal.migration_ops import search_index


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
        search_index("rmas_rmarow", "rmas_row_search_trgm"),
        migrations.RunPython(fill, migrations.RunPython.noop),
    ]
