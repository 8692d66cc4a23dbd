from celery import shared_task

from . import service


@shared_task(name="webhooks.process", acks_late=True, ignore_result=True)
def process_delivery(delivery_id: int) -> str | None:
    return service.process(delivery_id)


@shared_task(name="webhooks.redrive", ignore_result=True)
def redrive() -> int:
    """Beat, every 60 s: deliveries stuck in "received"; statuses only the sync saw (missed webhooks);
    order e-mails whose task was lost."""
    from orders.mirror_apply import reconcile_from_mirror
    from orders.notifications import redrive as redrive_notifications

    return service.redrive() + reconcile_from_mirror() + redrive_notifications()
