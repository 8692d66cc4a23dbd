"""Ops run the portal through the admin: every model is there, with search and filters."""

from pathlib import Path

from django.apps import apps
from django.conf import settings
from django.contrib import admin

# Every app of this repository (not Django's or a library's): a new app is covered without a list to
# keep. The sandbox is a separate service with its own storage, run by the integrator's stand-in.
NOT_ADMINISTERED = {"sandbox"}
PROJECT_APPS = [
    config.label
    for config in apps.get_app_configs()
    if Path(config.path).resolve().parent == Path(settings.BASE_DIR).resolve() and config.label not in NOT_ADMINISTERED
]


def project_models():
    for label in PROJECT_APPS:
        yield from apps.get_app_config(label).get_models()


def test_every_project_model_is_in_the_admin_with_search_and_filters():
    problems = []
    for model in project_models():
        model_admin = admin.site._registry.get(model)
        if model_admin is None:
            problems.append(f"{model._meta.label}: not registered")
            continue
        if not model_admin.search_fields:
            problems.append(f"{model._meta.label}: no search_fields")
        if not model_admin.list_filter:
            problems.append(f"{model._meta.label}: no list_filter")
    assert not problems, "\n".join(problems)


def test_every_admin_changelist_renders(client_ops):
    for model in project_models():
        url = f"/admin/{model._meta.app_label}/{model._meta.model_name}/"
        response = client_ops.get(url)
        assert response.status_code == 200, url
        response = client_ops.get(url, {"q": "x"})
        assert response.status_code == 200, url


def test_customer_writes_and_their_history_are_read_only_and_never_deleted(ops, db, rf):
    """A hand edit of an order would differ from what went upstream; deleting a delivery would
    lose a write. Ops still run the actions, which need the model's change permission."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Permission

    from orders.models import OrderEvent, OrderNotification, OrderRow, OrderSubmission, OrderSubmissionLine
    from outbox.models import Delivery, DeliveryAttempt
    from webhooks.models import WebhookDelivery

    viewer = get_user_model().objects.create_user("viewer", is_staff=True)
    viewer.user_permissions.set(
        Permission.objects.filter(codename__in=["view_delivery", "view_ordersubmission", "view_webhookdelivery"])
    )
    actions = {Delivery: "retry_now", OrderSubmission: "retry_now", WebhookDelivery: "reprocess_failed"}
    for model in (
        Delivery,
        DeliveryAttempt,
        OrderSubmission,
        OrderSubmissionLine,
        OrderEvent,
        OrderNotification,
        OrderRow,
        WebhookDelivery,
    ):
        model_admin = admin.site._registry[model]
        request = rf.get("/admin/")
        request.user = ops
        assert not model_admin.has_add_permission(request), model
        assert not model_admin.has_change_permission(request), model
        assert not model_admin.has_delete_permission(request), model
        if model in actions:
            assert actions[model] in model_admin.get_actions(request), model
            request.user = get_user_model().objects.get(pk=viewer.pk)  # fresh permission cache
            assert model_admin.has_view_permission(request), model
            assert actions[model] not in model_admin.get_actions(request), model


def test_mirror_rows_may_be_deleted_by_ops_the_next_sync_restores_them(ops, rf):
    from mirror.models import Inventory

    request = rf.get("/admin/")
    request.user = ops
    model_admin = admin.site._registry[Inventory]
    assert model_admin.has_delete_permission(request) and not model_admin.has_change_permission(request)
