from celery import shared_task

from . import mirror_apply


@shared_task(name="orders.reconcile_from_mirror", ignore_result=True)
def reconcile_from_mirror() -> int:
    """Beat, every 60 s: statuses only the sync saw (a missed webhook) are recorded and mailed."""
    return mirror_apply.reconcile_from_mirror()
