"""Migration operations the list tables share (one copy, used by every app's migrations).

- `search_index(table, name)`: substring search (`LIKE '%term%'`) on `search_text` through a
  pg_trgm GIN index on PostgreSQL; SQLite has none and scans. Reversible.
- `fill_rows(mirror_model, rebuild)`: a derived list table filled by its current builder (the
  app's `rows.rebuild(organization_id)`) for every organization that has mirrored objects: the
  rows of what was mirrored before the list had its table. Nothing to undo.
"""

from __future__ import annotations

from importlib import import_module

from django.db import migrations


def search_index(table: str, name: str, column: str = "search_text") -> migrations.RunPython:
    def create(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
            schema_editor.execute(f"CREATE INDEX IF NOT EXISTS {name} ON {table} USING gin ({column} gin_trgm_ops)")

    def drop(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.execute(f"DROP INDEX IF EXISTS {name}")

    return migrations.RunPython(create, drop)


def fill_rows(mirror_model: str, rebuild: str) -> migrations.RunPython:
    """`mirror_model`: "app_label.Model" of the mirrored objects; `rebuild`: "module.function"."""

    def fill(apps, schema_editor):
        model = apps.get_model(*mirror_model.split("."))
        ids = list(model.objects.order_by().values_list("organization_id", flat=True).distinct())
        if not ids:
            return
        module, function = rebuild.rsplit(".", 1)
        build = getattr(import_module(module), function)
        for pk in ids:
            build(pk)

    return migrations.RunPython(fill, migrations.RunPython.noop)
