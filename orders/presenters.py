"""An order as its page shows it: the mirrored order, the buyer's submission, or both.

A submission the upstream has not taken yet exists only locally; an order placed elsewhere
exists only in the mirror; an order submitted here and mirrored since has both. `OrderPage`
merges them so the template reads one thing, and the view stays a few lines.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from functools import cached_property

from accounts.scoping import scoped
from mirror.models import Invoice, Order, ShipMethod
from outbox.presenters import SubmissionState
from upstream.records import OrderStatus

from .models import OrderEvent, OrderSubmission

# No status follows these: the page stops polling for changes.
FINAL_STATUSES = (OrderStatus.SHIPPED,)


@dataclass(frozen=True)
class HistoryEntry:
    """One status in an order's history: seen (its OrderEvent), or skipped (`event` is None): the order went
    past it without the portal ever seeing it in that status (webhooks out of order, or one missed)."""

    status: str
    event: OrderEvent | None = None

    @property
    def skipped(self) -> bool:
        return self.event is None


def status_history(events: list[OrderEvent]) -> list[HistoryEntry]:
    """The statuses an order went through, in the order they were seen; before a status, each earlier one of
    `OrderStatus` (Pending, Released, Shipped) the portal never saw at all is listed as skipped. Derived when
    shown: OrderEvent keeps what was seen, and a late event for a skipped status shows as seen at once."""
    rank = {status.value: n for n, status in enumerate(OrderStatus)}
    seen = {event.status for event in events}
    furthest = -1
    history: list[HistoryEntry] = []
    for event in events:
        n = rank.get(event.status)  # a status the portal does not know has no place in the order
        if n is not None and n > furthest:
            history.extend(HistoryEntry(s.value) for s in list(OrderStatus)[furthest + 1 : n] if s.value not in seen)
            furthest = n
        history.append(HistoryEntry(event.status, event))
    return history


@dataclass(frozen=True)
class Line:
    product_code: str
    quantity: int | None
    value: Decimal | None
    serials: list[str] = field(default_factory=list)

    @property
    def line_value(self) -> Decimal:
        return (self.value or Decimal(0)) * (self.quantity or 0)


class OrderPage(SubmissionState):
    def __init__(self, request, *, submission: OrderSubmission | None = None, order: Order | None = None):
        if order is None and submission is not None and submission.upstream_id:
            order = scoped(request, Order).filter(upstream_id=submission.upstream_id).first()
        if submission is None and order is not None:
            submission = scoped(request, OrderSubmission).filter(upstream_id=order.upstream_id).first()
        if order is None and submission is None:
            raise ValueError("an order page needs an order or a submission")
        self.request = request
        self.order = order
        self.submission = submission

    @property
    def _local(self) -> OrderSubmission:
        """The submission, where there is no mirrored order (then there always is one)."""
        assert self.submission is not None  # nosec B101  # narrows the type for mypy; guards nothing
        return self.submission

    # -- the head -------------------------------------------------------------------------------
    @property
    def customer_order(self) -> str:
        return self.order.customer_order if self.order else self._local.customer_order

    @property
    def purchase_order(self) -> str:
        return self.order.purchase_order if self.order else self._local.purchase_order

    @property
    def upstream_id(self) -> int | None:
        return self.order.upstream_id if self.order else self._local.upstream_id

    @property
    def ship_method(self) -> str:
        return self.order.ship_method if self.order else self._local.ship_method_name

    @cached_property
    def ship_method_obj(self) -> ShipMethod | None:
        if self.order is None:
            return None
        return scoped(self.request, ShipMethod).filter(upstream_id=self.order.ship_method_id).first()

    @property
    def status(self) -> str:
        """The upstream's status once the mirror has the order, else where the submission is."""
        if self.order is not None:
            return self.order.get_status_display()
        return self._local.state_label

    @property
    def live(self) -> bool:
        """Can it still change? Then the page polls for changes."""
        if self.order is not None:
            return self.order.status not in FINAL_STATUSES
        return not self.undelivered

    # -- the submission's way to the upstream ----------------------------------------------------

    # -- what the upstream did with it -----------------------------------------------------------
    @cached_property
    def events(self) -> list[OrderEvent]:
        """The statuses the portal saw the order reach (OrderEvent), and last its current status from the
        mirror when no event has it. The periodic sync stores no events (a first sync brings a million
        orders), so an order known only from the sync, or that reached its status while a webhook was
        missed, would otherwise show "no status" under a header that says Shipped. That last one is
        derived when shown, never stored: an event recorded later takes its place."""
        if not self.upstream_id:
            return []
        events = list(scoped(self.request, OrderEvent).filter(upstream_id=self.upstream_id))
        order = self.order
        if order is not None and order.status and order.status not in {event.status for event in events}:
            events.append(
                OrderEvent(
                    organization_id=order.organization_id,
                    upstream_id=order.upstream_id,
                    status=order.status,
                    upstream_updated_at=order.updated_upstream_at,
                    recorded_at=order.changed_at,
                    source=OrderEvent.Source.SYNC,
                )
            )
        return events

    @cached_property
    def history(self) -> list[HistoryEntry]:
        """The events, with the statuses the order went past unseen (`status_history`)."""
        return status_history(self.events)

    @cached_property
    def invoices(self) -> list[dict]:
        if self.order is None:
            return []
        numbers = list(self.order.invoice_refs.values_list("invoice_number", flat=True))
        known = {i.upstream_id: i for i in scoped(self.request, Invoice).filter(upstream_id__in=numbers)}
        return [{"number": n, "invoice": known.get(n)} for n in numbers]

    @cached_property
    def lines(self) -> list[Line]:
        if self.order is not None:
            return [
                Line(line.product_code, line.quantity, line.customs_declared_value, line.serial_numbers)
                for line in self.order.lines.all()
            ]
        return [Line(line.product_code, line.quantity, line.customs_declared_value) for line in self._local.lines.all()]

    @property
    def total(self) -> Decimal:
        return sum((line.line_value for line in self.lines), Decimal(0))

    # -- the parties -------------------------------------------------------------------------------
    @property
    def recipient(self) -> dict:
        if self.order is not None:
            return self.order.raw.get("recipient") or {}
        return self._local.party("recipient")

    @property
    def importer(self) -> dict:
        if self.order is not None:
            return self.order.raw.get("importer_of_record") or {}
        return self._local.party("importer")
