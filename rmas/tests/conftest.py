"""RMA test helpers: a valid RMA form, and mirrored RMAs with their notes."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from django.utils import timezone

from mirror.models import Rma, RmaNote


def rma_data(**overrides) -> dict:
    """POST data of a valid RMA request (override any field; None removes it)."""
    data = {
        "request_type": "3",
        "manufacturer_serial": "SN-1000-A",
        "problem": "Does not power on after the firmware update.",
        "replacement_name": "Acme Receiving",
        "replacement_phone": "1-555-555-0100",
        "replacement_addr": "1 Dock Road\nToronto ON M5A 1A1\nCanada",
    }
    for key, value in overrides.items():
        if value is None:
            data.pop(key, None)
        else:
            data[key] = value
    return data


def mirrored_rma(org, upstream_id=50001, *, serial="SN-1000-A", closed: date | None = None, notes=(), **values) -> Rma:
    """A mirrored RMA with notes given as (kind, message, minutes after its start)."""
    now = timezone.now()
    start = date(2026, 11, 2)
    rma = Rma.objects.create(
        organization=org,
        upstream_id=upstream_id,
        raw={"id": upstream_id},
        content_hash="x",
        first_seen_at=now,
        changed_at=now,
        subject=values.pop("subject", "Depot Repair and Return"),
        manufacturer_serial=serial,
        status_name=values.pop("status_name", "Closed" if closed else "In Repair"),
        start_date=start,
        closed_date=closed,
        is_open=closed is None,
        **values,
    )
    base = timezone.make_aware(datetime(2026, 11, 2, 9, 0))
    RmaNote.objects.bulk_create(
        RmaNote(rma=rma, kind=kind, message=message, created_upstream_at=base + timedelta(minutes=minutes))
        for kind, message, minutes in notes
    )
    return rma
