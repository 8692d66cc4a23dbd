"""What a page shows of a submission's way to the upstream (orders, RMAs): one mixin for presenters."""

from __future__ import annotations

from functools import cached_property
from typing import Any

from .models import OPEN_STATUSES, UNDELIVERED_STATUSES, Delivery, DeliveryAttempt


class SubmissionState:
    """For a presenter with a `submission` attribute (an outbox Submission, or None)."""

    submission: Any

    @property
    def _state(self) -> Delivery.Status | None:
        return self.submission.state if self.submission else None

    @property
    def sending(self) -> bool:
        return self._state in OPEN_STATUSES and self._state != Delivery.Status.RETRYING

    @property
    def retrying(self) -> bool:
        return self._state == Delivery.Status.RETRYING

    @property
    def undelivered(self) -> bool:
        return self._state in UNDELIVERED_STATUSES

    @property
    def submitted(self) -> bool:
        return self._state == Delivery.Status.SUCCEEDED

    @cached_property
    def attempts(self) -> list[DeliveryAttempt]:
        if self.submission is None:
            return []
        return list(
            DeliveryAttempt.objects.filter(delivery__in=self.submission.deliveries)
            .select_related("delivery")
            .order_by("-started_at")
        )
