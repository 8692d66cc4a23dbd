"""An RMA as its page shows it: the mirrored RMA, the member's request, or both.

A request the upstream has not taken yet exists only locally; an RMA opened elsewhere exists
only in the mirror; one requested here and mirrored since has both. `RmaPage` merges them so
the template reads one thing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from functools import cached_property

from django.utils import timezone

from accounts.scoping import scoped
from mirror.models import Order, Rma, RmaNote
from outbox.presenters import SubmissionState
from upstream.records import rma_request_type_label

from .models import RmaSubmission


@dataclass(frozen=True)
class TimelineEntry:
    kind: str  # problem, troubleshooting, result
    label: str
    message: str
    at: datetime | None


class RmaPage(SubmissionState):
    def __init__(self, request, *, submission: RmaSubmission | None = None, rma: Rma | None = None):
        if rma is None and submission is not None and submission.upstream_id:
            rma = scoped(request, Rma).filter(upstream_id=submission.upstream_id).first()
        if submission is None and rma is not None:
            submission = (
                scoped(request, RmaSubmission).filter(upstream_id=rma.upstream_id).select_related("delivery").first()
            )
        if rma is None and submission is None:
            raise ValueError("an RMA page needs an RMA or a request")
        self.request = request
        self.rma = rma
        self.submission = submission

    @property
    def _local(self) -> RmaSubmission:
        assert self.submission is not None  # nosec B101  # narrows the type for mypy; guards nothing
        return self.submission

    # -- the head -------------------------------------------------------------------------------
    @property
    def number(self) -> int | None:
        return self.rma.upstream_id if self.rma else self._local.upstream_id

    @property
    def subject(self) -> str:
        if self.rma and self.rma.subject:
            return self.rma.subject
        return rma_request_type_label(self.request_type)

    @property
    def request_type(self) -> int | None:
        if self.submission is not None:
            return self.submission.request_type
        return self.rma.request_type_id if self.rma else None

    @property
    def request_type_label(self) -> str:
        return rma_request_type_label(self.request_type)

    @property
    def serial(self) -> str:
        return self.rma.manufacturer_serial if self.rma else self._local.manufacturer_serial

    @property
    def status(self) -> str:
        """The upstream's status once the mirror has the RMA, else where the request is."""
        if self.rma is not None:
            return self.rma.status_name or ("Open" if self.rma.is_open else "Closed")
        return self._local.state_label

    @property
    def is_open(self) -> bool:
        return self.rma.is_open if self.rma else True

    @property
    def start_date(self) -> date | None:
        return self.rma.start_date if self.rma else None

    @property
    def closed_date(self) -> date | None:
        return self.rma.closed_date if self.rma else None

    @property
    def days_open(self) -> int | None:
        """Days from the start to the close (or to today while open)."""
        if self.start_date is None:
            return None
        end = self.closed_date or timezone.localdate()
        return max((end - self.start_date).days, 0)

    @property
    def live(self) -> bool:
        """Can it still change? Then the page polls for changes."""
        if self.rma is not None:
            return self.rma.is_open
        return not self.undelivered

    # -- linked orders ---------------------------------------------------------------------------
    @cached_property
    def orders(self) -> list[dict]:
        """The origin, repair and replacement orders, linked where the mirror has them."""
        if self.rma is None:
            return []
        wanted = [
            ("Origin order", self.rma.order_id),
            ("Repair order", self.rma.repair_order_id),
            ("Replacement order", self.rma.replacement_order_id),
        ]
        ids = [upstream_id for _, upstream_id in wanted if upstream_id]
        known = {o.upstream_id: o for o in scoped(self.request, Order).filter(upstream_id__in=ids)}
        return [
            {"label": label, "upstream_id": upstream_id, "order": known.get(upstream_id)}
            for label, upstream_id in wanted
            if upstream_id
        ]

    # -- what happened ---------------------------------------------------------------------------
    @cached_property
    def lines(self) -> list:
        return list(self.rma.lines.all()) if self.rma else []

    @cached_property
    def timeline(self) -> list[TimelineEntry]:
        """Problems, troubleshooting notes and results in time order, each marked by its kind."""
        if self.rma is None:
            problem = self._local.problem
            return [TimelineEntry("problem", "Problem", problem, self._local.created_at)] if problem else []
        labels = dict(RmaNote.Kind.choices)
        notes = sorted(
            self.rma.notes.all(),
            key=lambda n: (n.created_upstream_at is None, n.created_upstream_at or timezone.now(), n.pk),
        )
        return [TimelineEntry(n.kind, labels[n.kind].capitalize(), n.message, n.created_upstream_at) for n in notes]

    # -- the request's way to the upstream ---------------------------------------------------------
