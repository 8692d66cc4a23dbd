from celery import shared_task
from django.contrib.auth import get_user_model


@shared_task(name="portal.touch_user", ignore_result=True)
def touch_user(user_id: int, first_name: str) -> None:
    """A harmless task used to prove the worker and broker work end to end (tests, drills)."""
    get_user_model().objects.filter(pk=user_id).update(first_name=first_name)
