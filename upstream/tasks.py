from datetime import timedelta

from celery import shared_task
from django.conf import settings
from django.utils import timezone

from portal.tasks import delete_in_batches

from .models import UpstreamCall


@shared_task(name="upstream.prune_call_log", ignore_result=True)
def prune_call_log(batch: int = 5000) -> int:
    """Delete call-log rows older than UPSTREAM_CALL_LOG_DAYS, in batches. Returns how many."""
    cutoff = timezone.now() - timedelta(days=settings.UPSTREAM_CALL_LOG_DAYS)
    return delete_in_batches(UpstreamCall.objects.filter(created_at__lt=cutoff), batch)
