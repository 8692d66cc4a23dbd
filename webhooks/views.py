"""POST /webhooks/order-update/: verify (signature, date, not a replay), store raw, answer fast;
a worker applies it."""

from __future__ import annotations

import logging

from django.http import JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from . import services

log = logging.getLogger("webhooks")


@csrf_exempt
@require_POST
def order_update(request):
    try:
        organization = services.authenticate(request)
        delivery = services.store(organization, request)  # Refused when it is a replay
    except services.Refused as exc:
        token = request.headers.get("X-MBX-Token", "")
        log.warning(
            "order-update webhook refused from %s (token %s…): %s", request.META.get("REMOTE_ADDR"), token[:4], exc
        )
        return JsonResponse({"error": str(exc)}, status=401)
    if delivery.status == delivery.Status.FAILED:
        return JsonResponse({"error": delivery.error, "id": delivery.pk}, status=400)
    return JsonResponse({"id": delivery.pk, "status": delivery.status}, status=202)
