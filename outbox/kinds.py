"""What each kind of delivery does with the upstream's answer.

A feature registers the hooks of each of its kinds once, in its `hooks.py`:

    register(DeliveryKind(Delivery.Kind.ORDER_CREATE, on_success=..., on_conflict=..., on_rejected=...))

Hooks run inside the transaction that records the outcome, so the local record and the
delivery never disagree. Every member of `Delivery.Kind` must have its hooks registered and
every registration must name a member: `check_kinds` (system check, run at start-up) says
which is missing, and `get` refuses a kind without hooks instead of treating it as done.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.core import checks

from .models import Delivery

Hook = Callable[..., object]


class UnknownKind(LookupError):
    """A delivery whose kind has no registered hooks: its answer would update nothing."""


@dataclass(frozen=True)
class DeliveryKind:
    name: str
    # (delivery, body: dict) -> None; body is the upstream's created/updated object.
    on_success: Hook | None = None
    # (delivery, existing: dict, field_errors: dict) -> dict | None. Return the upstream
    # object when the conflict is our own earlier write (the delivery then succeeds with
    # it), or None to reject.
    on_conflict: Hook | None = None
    # (delivery, field_errors: dict) -> None
    on_rejected: Hook | None = None
    # (delivery) -> None, after each failed attempt that will be retried
    on_retrying: Hook | None = None
    # (delivery) -> None, whenever the delivery's status changes (sending, and every outcome),
    # in the transaction that changes it: for local records that show the status.
    on_status: Hook | None = None


_KINDS: dict[str, DeliveryKind] = {}


def register(kind: DeliveryKind) -> DeliveryKind:
    _KINDS[str(kind.name)] = kind
    return kind


def find(name: str) -> DeliveryKind | None:
    return _KINDS.get(name)


def get(name: str) -> DeliveryKind:
    try:
        return _KINDS[name]
    except KeyError:
        raise UnknownKind(f"no hooks are registered for delivery kind {name!r}") from None


def check_kinds(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    errors: list[checks.CheckMessage] = []
    for kind in Delivery.Kind:
        if kind.value not in _KINDS:
            errors.append(
                checks.Error(
                    f"delivery kind {kind.value!r} has no registered hooks",
                    hint="register a DeliveryKind for it in the hooks.py of the app that enqueues it",
                    obj="outbox.Delivery.Kind",
                    id="outbox.E001",
                )
            )
    for name in _KINDS:
        if name not in Delivery.Kind.values:
            errors.append(
                checks.Error(
                    f"hooks are registered for {name!r}, which is not a Delivery.Kind",
                    hint="add it to outbox.models.Delivery.Kind (and make its migration)",
                    obj="outbox.kinds",
                    id="outbox.E002",
                )
            )
    return errors
