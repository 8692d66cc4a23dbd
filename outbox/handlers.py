"""What each kind of delivery does with the upstream's answer.

A feature (orders, RMAs, automation) registers its kind once:

    register(DeliveryKind("order.create", on_success=..., on_conflict=..., on_rejected=...))

Handlers run inside the transaction that records the outcome, so the local record and
the delivery never disagree.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

Handler = Callable[..., object]


@dataclass(frozen=True)
class DeliveryKind:
    name: str
    # (delivery, body: dict) -> None; body is the upstream's created/updated object.
    on_success: Handler | None = None
    # (delivery, existing: dict, field_errors: dict) -> dict | None. Return the upstream
    # object when the conflict is our own earlier write (the delivery then succeeds with
    # it), or None to reject.
    on_conflict: Handler | None = None
    # (delivery, field_errors: dict) -> None
    on_rejected: Handler | None = None
    # (delivery) -> None, after each failed attempt that will be retried
    on_retrying: Handler | None = None


_KINDS: dict[str, DeliveryKind] = {}


def register(kind: DeliveryKind) -> DeliveryKind:
    _KINDS[kind.name] = kind
    return kind


def kind_for(name: str) -> DeliveryKind:
    return _KINDS.get(name) or DeliveryKind(name)
