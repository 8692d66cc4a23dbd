import logging

from celery import shared_task
from django.contrib.auth import get_user_model

log = logging.getLogger("portal")


@shared_task(name="portal.touch_user", ignore_result=True)
def touch_user(user_id: int, first_name: str) -> None:
    """A harmless task used to prove the worker and broker work end to end (tests, drills)."""
    get_user_model().objects.filter(pk=user_id).update(first_name=first_name)


def hand_to_broker(task, *args, countdown: float | None = None, what: str = "a task") -> bool:
    """Queue `task` for a row that is already saved; never raises.

    With the broker down the row is safe where it is: its app's periodic redrive queues it
    later. Used by every "persist, then call" path (outbox deliveries, webhooks, e-mails).
    """
    try:
        task.apply_async(args, countdown=countdown)
        return True
    except Exception as exc:  # broker unreachable
        log.warning("%s not handed to the broker (%s); the redrive queues it later", what, exc.__class__.__name__)
        return False


def delete_in_batches(queryset, batch: int = 5000) -> int:
    """Delete the rows of `queryset` `batch` at a time (short locks, bounded memory); returns how many."""
    deleted = 0
    while True:
        ids = list(queryset.values_list("pk", flat=True)[:batch])
        if not ids:
            return deleted
        deleted += queryset.model._default_manager.filter(pk__in=ids).delete()[0]
