from celery import shared_task

from . import service


@shared_task(name="outbox.deliver", acks_late=True, ignore_result=True)
def deliver(delivery_id: int) -> str | None:
    return service.send(delivery_id)


@shared_task(name="outbox.redrive", ignore_result=True)
def redrive() -> int:
    return service.redrive()
