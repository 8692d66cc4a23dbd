"""E-mails to the member who requested an RMA: when its status changes, and when it closes
(with the result notes). The mechanism is portal.notifications; this is what they say."""

from __future__ import annotations

from django.conf import settings
from django.template.loader import render_to_string
from django.urls import reverse

from mirror.models import Rma, RmaNote
from portal.notifications import Notifier

from .models import RmaNotification

CHANNEL = "rmas.email"


def _rma_of(notification) -> Rma | None:
    submission = notification.submission
    return Rma.objects.for_org(submission.organization_id).filter(upstream_id=submission.upstream_id).first()


def _ready(notification) -> bool:
    """A closing e-mail waits for the RMA's detail as of its closing (its result notes)."""
    rma = _rma_of(notification)
    return rma is None or rma.is_open or rma.detail_hash == rma.content_hash


def _message(notification) -> tuple[str, str]:
    submission = notification.submission
    rma = _rma_of(notification)
    closed = rma is not None and not rma.is_open
    results = list(rma.notes.filter(kind=RmaNote.Kind.RESULT)) if rma is not None else []
    number = submission.upstream_id or submission.pk
    context = {
        "submission": submission,
        "rma": rma,
        "status": notification.status,
        "closed": closed,
        "results": results,
        "user": notification.recipient,
        "url": settings.PORTAL_BASE_URL.rstrip("/") + reverse("rmas:submission", args=[submission.pk]),
    }
    subject = f"RMA {number} ({submission.manufacturer_serial}) {'closed' if closed else notification.status}"
    return subject, render_to_string("rmas/email_status.txt", context)


NOTIFIER = Notifier(CHANNEL, RmaNotification, "notify_rma_updates", None, _message, ready=_ready)
