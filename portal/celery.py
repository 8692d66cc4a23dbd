"""The Celery app: `celery -A portal worker` and `celery -A portal beat`."""

from celery import Celery

from portal.boot import configure

configure()

app = Celery("portal")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
