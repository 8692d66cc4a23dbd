"""A real worker runs tasks from the configured broker (Redis in CI, filesystem locally)."""

from django.contrib.auth import get_user_model

from conftest import wait_for
from portal.tasks import touch_user


def test_real_worker_runs_a_task_through_the_broker(celery_worker):
    user = get_user_model().objects.create_user("worker-check", password="x")
    touch_user.delay(user.pk, "ran-in-worker")
    wait_for(
        lambda: get_user_model().objects.get(pk=user.pk).first_name == "ran-in-worker",
        message="the worker to run the task",
    )
