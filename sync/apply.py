"""Apply one upstream payload to the mirror (a webhook, a write's answer), newest wins.

The periodic sync pages whole collections; a webhook or a write answer brings one object.
`apply_one` reuses the resource's mapper and page hooks from the sync registry, so one object
lands in exactly the columns, child rows and list rows a sync page would write. It never lets
an older `updated_at` overwrite a newer state, and a payload equal to the stored one changes
nothing. The features add what an object means to them (orders.mirror_apply: status events
and e-mails; rmas.hooks: the request's status).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from mirror.models import MirrorModel
from upstream.records import to_int

from . import registry
from .engine import content_hash, storable


class Outcome:
    CREATED = "created"
    UPDATED = "updated"
    DUPLICATE = "duplicate"
    STALE = "stale"


@dataclass
class Applied:
    outcome: str
    row: Any  # the mirror row (a MirrorModel instance)
    previous_values: dict[str, Any]  # its mapped columns before (empty when created)

    @property
    def changed(self) -> bool:
        return self.outcome in (Outcome.CREATED, Outcome.UPDATED)


def apply_one(resource_name: str, organization, raw: dict, *, partial: bool = False) -> Applied:
    """Upsert one object of `organization` from its payload; inside or outside a transaction.

    `partial`: the payload carries only some fields (a webhook may); they replace the stored
    object's fields of the same name and every other field stays as it was.
    """
    upstream_id = to_int(raw.get("id"))
    if upstream_id is None:
        raise ValueError(f"the {resource_name} payload has no id")
    for attempt in range(2):  # a concurrent first insert of the same object loses once, then updates
        try:
            with transaction.atomic():
                return _apply(registry.get(resource_name), organization, upstream_id, raw, partial)
        except IntegrityError:
            if attempt:
                raise
    raise AssertionError("unreachable")


def _apply(resource: registry.Resource, organization, upstream_id: int, raw: dict, partial: bool) -> Applied:
    model: type[MirrorModel] = resource.model
    row = model.objects.select_for_update().filter(organization=organization, upstream_id=upstream_id).first()
    if partial and row is not None and isinstance(row.raw, dict):
        # The payload's fields in its own order, then the stored ones it does not carry
        # (PostgreSQL's jsonb keeps keys in its own order: a full payload must hash as sent).
        raw = {**raw, **{key: value for key, value in row.raw.items() if key not in raw}}
    text, raw = storable(raw)
    digest = content_hash(text)
    values = resource.mapper(raw)
    now = timezone.now()
    if row is not None:
        previous = {key: getattr(row, key) for key in values}
        if (row.content_hash == digest or row.raw == raw) and row.vanished_at is None:
            return Applied(Outcome.DUPLICATE, row, previous)
        incoming = values.get("updated_upstream_at")
        stored = getattr(row, "updated_upstream_at", None)
        if stored and incoming and incoming < stored:
            return Applied(Outcome.STALE, row, previous)
        for key, value in values.items():
            setattr(row, key, value)
        row.raw, row.content_hash, row.changed_at, row.vanished_at = raw, digest, now, None
        row.save()
        outcome = Outcome.UPDATED
    else:
        previous = {}
        row = model.objects.create(
            organization=organization,
            upstream_id=upstream_id,
            raw=raw,
            content_hash=digest,
            first_seen_at=now,
            changed_at=now,
            **values,
        )
        outcome = Outcome.CREATED
    for hook in registry.page_hooks(resource):  # child rows and list rows, as a sync page would
        hook(organization, None, [(row.pk, upstream_id, raw)], None)
    return Applied(outcome, row, previous)
