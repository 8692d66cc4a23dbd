import logging

from celery import shared_task
from django.contrib.auth import get_user_model

log = logging.getLogger("portal")


@shared_task(name="portal.touch_user", ignore_result=True)
def touch_user(user_id: int, first_name: str) -> None:
    """A harmless task used to prove the worker and broker work end to end (tests, drills)."""
    get_user_model().objects.filter(pk=user_id).update(first_name=first_name)


@shared_task(name="portal.process", acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def process(channel: str, pk: int) -> object:
    """Process one saved row of a dispatch channel (outbox delivery, webhook delivery, e-mail, ...).

    Acknowledged once it returns, and given back to the broker when its worker process dies
    mid-task (killed, out of memory): another process runs it at once. An outbox delivery it was
    sending is then taken over as soon as its sender is known gone (outbox.services.claim)."""
    from . import dispatch

    return dispatch.run(channel, pk)


@shared_task(name="portal.redrive", ignore_result=True)
def redrive() -> dict[str, int]:
    """Beat, every 30 s: rows of every dispatch channel whose hand-over to the broker was lost."""
    from . import dispatch

    return dispatch.redrive()


def delete_in_batches(queryset, batch: int = 5000) -> int:
    """Delete the rows of `queryset` `batch` at a time (short locks, bounded memory); returns how many."""
    deleted = 0
    while True:
        ids = list(queryset.values_list("pk", flat=True)[:batch])
        if not ids:
            return deleted
        deleted += queryset.model._default_manager.filter(pk__in=ids).delete()[0]
