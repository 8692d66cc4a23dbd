from celery import shared_task

from . import notifications


@shared_task(name="orders.send_notification", acks_late=True, ignore_result=True)
def send_notification(notification_id: int) -> bool:
    return notifications.send(notification_id)
