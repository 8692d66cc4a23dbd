"""E-mails to the member who submitted something, about what the upstream did with it: one per
submission and status at most, recorded before it is sent, sent by a worker, redriven when lost.

An app declares its notification model (a subclass of `Notification` with a `submission`
foreign key and a unique (submission, status) constraint) and one `Notifier`: which statuses
it tells about, which membership preference turns it off, and how the message reads. The
dispatch channel, the at-most-once send and the redrive are here, once.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.core.mail import send_mail
from django.db import models, transaction
from django.utils import timezone

from accounts.scoping import OrgOwned
from portal import dispatch

log = logging.getLogger("notifications")


class Notification(OrgOwned):
    """Abstract: one e-mail about one status of one submission (subclasses add `submission`)."""

    status = models.CharField(max_length=100)
    recipient = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    email = models.EmailField()
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    error = models.TextField(blank=True)

    class Meta:
        abstract = True
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.status} e-mail for {getattr(self, 'submission', '?')}"


@dataclass(frozen=True)
class Notifier:
    channel: str
    model: type[Notification]
    preference: str  # the Membership field that turns these e-mails off
    statuses: Collection[str] | None  # the statuses worth an e-mail (None: every status)
    message: Callable[[Notification], tuple[str, str]]  # -> (subject, body), inside the send's transaction
    # -> False while what the message tells is not there yet: the e-mail waits for the redrive
    ready: Callable[[Notification], bool] | None = None

    def queue(self, submission, status: str) -> Notification | None:
        """Record the e-mail (at most one per submission and status) and send it from a worker on commit."""
        from accounts.models import Membership

        user = submission.created_by
        if not status or (self.statuses is not None and status not in self.statuses) or user is None:
            return None
        membership = Membership.objects.filter(user=user, organization_id=submission.organization_id).first()
        if membership is None or not getattr(membership, self.preference) or not user.email:
            return None
        notification, created = self.model.objects.get_or_create(
            submission=submission,
            status=status,
            defaults={"organization_id": submission.organization_id, "recipient": user, "email": user.email},
        )
        if created:
            dispatch.on_commit(self.channel, notification.pk)
        return notification

    def send(self, notification_id: int) -> bool:
        """Send one recorded e-mail unless it was sent already. True when sent now."""
        with transaction.atomic():
            notification = (
                self.model.objects.select_for_update(of=("self",))
                .select_related("submission", "recipient")
                .filter(pk=notification_id)
                .first()
            )
            if notification is None or notification.sent_at is not None:
                return False
            if self.ready is not None and not self.ready(notification):
                return False
            subject, body = self.message(notification)
            try:
                send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, [notification.email])
            except Exception as exc:
                notification.error = f"{exc.__class__.__name__}: {exc}"[:1000]
                notification.save(update_fields=["error"])
                log.warning("%s e-mail %s not sent: %s", self.channel, notification.pk, exc.__class__.__name__)
                return False
            notification.sent_at = timezone.now()
            notification.error = ""
            notification.save(update_fields=["sent_at", "error"])
        return True

    def nudge(self, **lookup) -> int:
        """Hand the unsent e-mails matching `lookup` to a worker again on commit (what they waited
        for, see `ready`, is there now). Returns how many."""
        pending = list(self.model.objects.filter(sent_at__isnull=True, **lookup).values_list("pk", flat=True))
        for pk in pending:
            dispatch.on_commit(self.channel, pk)
        return len(pending)

    def due(self, limit: int, older_than: float = 60) -> list[int]:
        """Recorded e-mails not sent yet: their task was lost, or sending failed."""
        cutoff = timezone.now() - timedelta(seconds=older_than)
        return list(
            self.model.objects.filter(sent_at__isnull=True, created_at__lt=cutoff)
            .order_by("created_at")
            .values_list("pk", flat=True)[:limit]
        )

    def register(self) -> None:
        """The dispatch channel that sends these (call once, from the app's hooks.py)."""
        dispatch.register(dispatch.Channel(self.channel, process=self.send, due=self.due))
