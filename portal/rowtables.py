"""A list's own table: one row per mirrored object, or per local submission not mirrored yet.

The orders list (`orders.rows`) and the RMA lists (`rmas.rows`) each keep such a table, so that
every filter, sort and page of the list is one indexed query over one table (portal.lists).
A `RowTable` holds what they share; an app gives it its models and two builders:

    TABLE = RowTable(
        RmaRow,                      # the list's table
        mirror=Rma,                  # the mirrored objects (MirrorModel: upstream_id, vanished_at)
        submissions=RmaSubmission,   # local submissions (outbox.models.Submission); None: mirrored rows only
        link="rma",                  # the row's one-to-one field to its mirrored object
        fields=ROW_FIELDS,           # the columns a refresh writes (every one but the id)
        searched=SEARCHED,           # the columns a search reads, in `search_text`
        mirror_fields=RMA_VALUES,    # the mirror's values the builder reads (pk and upstream_id among them)
        mirrored_rows=_mirrored,     # (present objects' values, linked submission ids) -> rows' values
        local_rows=_local,           # (submissions, delivery selected) -> rows' values (with submissions)
    )

The rules, the same for every list:

- A present mirrored object has one row, linked to the first submission (lowest id) that has
  its upstream id; a vanished one has none.
- A submission whose object is mirrored has no row of its own; one that is not mirrored yet
  (or whose object vanished) has a local row.
- `refresh()` recomputes the rows of the objects and submissions it is given, in the caller's
  transaction; `vanished()` after a complete sync pass; `rebuild()` in batches, from nothing.
- Rows are written by a bulk upsert on the link (mirrored rows) or the submission (local rows).
  Every text is cut to its column and `search_text` is the searched columns, casefolded, one
  per line (so a term never spans two).
- Whatever follows a list's rows (the home dashboard's tallies) registers with `listen()`: it is
  called with the table and the organization after every refresh, in the same transaction.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

from django.db import models
from django.db.models import Min

RowValues = dict[str, Any]

# (table, organization id) after a refresh of the table's rows, in the refreshing transaction.
_LISTENERS: list[Callable[[RowTable, int], None]] = []


def listen(callback: Callable[[RowTable, int], None]) -> None:
    if callback not in _LISTENERS:
        _LISTENERS.append(callback)


class RowTable:
    def __init__(
        self,
        row_model: type[models.Model],
        *,
        mirror: type[models.Model],
        submissions: type[models.Model] | None = None,
        link: str,
        fields: Sequence[str],
        searched: Sequence[str],
        mirror_fields: Sequence[str],
        mirrored_rows: Callable[[list[dict[str, Any]], list[int | None]], list[RowValues]],
        local_rows: Callable[[list[Any]], list[RowValues]] | None = None,
        batch_size: int = 500,
    ) -> None:
        missing = {"pk", "upstream_id", "vanished_at"} - set(mirror_fields)
        if missing:
            raise ValueError(f"mirror_fields must include {', '.join(sorted(missing))}")
        self.row_model = row_model
        self.mirror = mirror
        self.submissions = submissions
        self.link = link
        self.fields = tuple(fields)
        self.searched = tuple(searched)
        self.mirror_fields = tuple(mirror_fields)
        self.mirrored_rows = mirrored_rows
        self.local_rows = local_rows
        self.batch_size = batch_size
        self.max_lengths: dict[str, int] = {
            f.name: f.max_length
            for f in row_model._meta.concrete_fields
            if isinstance(f, models.CharField) and f.max_length
        }

    # -- one row's values ---------------------------------------------------------------------------
    def search_text(self, values: RowValues) -> str:
        """What a search reads: the searched columns, casefolded, one per line (a term never spans two)."""
        return "\n".join(str(values[name] or "") for name in self.searched).casefold()

    def row_values(self, **values: Any) -> RowValues:
        """Complete a row's values: strings cut to their column, the search text derived."""
        for name, limit in self.max_lengths.items():
            value = values.get(name)
            if isinstance(value, str) and len(value) > limit:
                values[name] = value[:limit]
        values["search_text"] = self.search_text(values)
        return values

    # -- keeping the table --------------------------------------------------------------------------
    def _objects(self, organization_id: int, **lookup: Any) -> list[dict[str, Any]]:
        return list(
            self.mirror._default_manager.filter(organization_id=organization_id, **lookup).values(*self.mirror_fields)
        )

    def _submissions(self, organization_id: int, **lookup: Any) -> list[Any]:
        if self.submissions is None:
            return []
        return list(
            self.submissions._default_manager.filter(organization_id=organization_id, **lookup).select_related(
                "delivery"
            )
        )

    def refresh(
        self, organization_id: int, *, object_ids: Sequence[int] = (), submission_ids: Sequence[int] = ()
    ) -> None:
        """Recompute the rows of these mirrored objects and local submissions of one organization."""
        if not object_ids and not submission_ids:
            return
        objects = self._objects(organization_id, pk__in=object_ids) if object_ids else []
        submissions = self._submissions(organization_id, pk__in=submission_ids) if submission_ids else []
        # Objects the given submissions have reached, and the first submission of every object involved.
        mirrored = {o["upstream_id"]: o for o in objects}
        wanted = {s.upstream_id for s in submissions if s.upstream_id} - set(mirrored)
        if wanted:
            for o in self._objects(organization_id, upstream_id__in=wanted):
                mirrored[o["upstream_id"]] = o
                objects.append(o)
        upstream_ids = set(mirrored)
        first_submission: dict[int, int] = (
            dict(
                self.submissions._default_manager.filter(organization_id=organization_id, upstream_id__in=upstream_ids)
                .values("upstream_id")
                .annotate(first=Min("pk"))
                .values_list("upstream_id", "first")
            )
            if upstream_ids and self.submissions is not None
            else {}
        )
        present = [o for o in objects if o["vanished_at"] is None]
        gone = [o["pk"] for o in objects if o["vanished_at"] is not None]
        # Submissions that need a local row: given ones whose object is not (or no longer) mirrored,
        # and the submissions of objects that vanished.
        present_upstream = {o["upstream_id"] for o in present}
        local = [s for s in submissions if not (s.upstream_id and s.upstream_id in present_upstream)]
        vanished_upstream = {o["upstream_id"] for o in objects if o["vanished_at"] is not None} - present_upstream
        if vanished_upstream:
            known = {s.pk for s in local}
            local += [
                s for s in self._submissions(organization_id, upstream_id__in=vanished_upstream) if s.pk not in known
            ]

        # Rows that must go: of vanished objects, and the local rows of submissions now mirrored.
        linked = [first_submission.get(o["upstream_id"]) for o in present]
        linked_ids = [pk for pk in linked if pk]
        mirrored_submissions = [s.pk for s in submissions if s.upstream_id and s.upstream_id in present_upstream]
        doomed = models.Q(**{f"{self.link}_id__in": gone})
        if linked_ids or mirrored_submissions:
            doomed |= models.Q(
                **{f"{self.link}_id__isnull": True, "submission_id__in": linked_ids + mirrored_submissions}
            )
        if gone or linked_ids or mirrored_submissions:
            self.row_model._default_manager.filter(doomed).delete()
        if present:
            self._upsert(self.mirrored_rows(present, linked), unique=self.link)
        if local and self.local_rows is not None:
            self._upsert(self.local_rows(local), unique="submission")
        for callback in _LISTENERS:
            callback(self, organization_id)

    def _upsert(self, rows: Iterable[RowValues], unique: str) -> None:
        objs = [self.row_model(**self.row_values(**values)) for values in rows]
        if not objs:
            return
        self.row_model._default_manager.bulk_create(
            objs,
            update_conflicts=True,
            unique_fields=[unique],
            update_fields=[f for f in self.fields if f != "organization_id"],
            batch_size=self.batch_size,
        )

    def vanished(self, organization_id: int) -> int:
        """After a complete sync pass: the rows of objects that vanished upstream go (their local
        submissions, if any, come back as local rows). Returns how many objects' rows were recomputed."""
        ids = [
            pk
            for pk in self.row_model._default_manager.filter(
                organization_id=organization_id, **{f"{self.link}__vanished_at__isnull": False}
            ).values_list(f"{self.link}_id", flat=True)
            if pk is not None
        ]
        self.refresh(organization_id, object_ids=ids)
        return len(ids)

    def rebuild(self, organization_id: int, batch: int = 1000) -> int:
        """Recompute every row of one organization (after a migration, or to repair). Returns the row count."""
        self.row_model._default_manager.filter(organization_id=organization_id).delete()
        present = self.mirror._default_manager.filter(organization_id=organization_id, vanished_at__isnull=True)
        chunk: list[int] = []
        for pk in present.values_list("pk", flat=True).iterator(chunk_size=batch):
            chunk.append(pk)
            if len(chunk) >= batch:
                self.refresh(organization_id, object_ids=chunk)
                chunk = []
        if chunk:
            self.refresh(organization_id, object_ids=chunk)
        ids = (
            list(self.submissions._default_manager.filter(organization_id=organization_id).values_list("pk", flat=True))
            if self.submissions is not None
            else []
        )
        for start in range(0, len(ids), batch):
            self.refresh(organization_id, submission_ids=ids[start : start + batch])
        return self.row_model._default_manager.filter(organization_id=organization_id).count()


def joined(pairs: Iterable[tuple[int, str]]) -> dict[int, str]:
    """(key, text) pairs -> each key's distinct texts, space-separated in their order (child rows on a row)."""
    out: dict[int, list[str]] = {}
    for key, text in pairs:
        if text and text not in out.setdefault(key, []):
            out[key].append(text)
    return {key: " ".join(texts) for key, texts in out.items()}
