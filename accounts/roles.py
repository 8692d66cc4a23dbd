"""Roles a membership can carry."""

from django.db import models


class Role(models.TextChoices):
    VIEWER = "viewer", "Viewer (dashboards)"
    BUYER = "buyer", "Buyer (orders)"
    SERVICE = "service", "Service (RMAs)"
    OPERATOR = "operator", "Operator (automation actions)"
    MANAGER = "manager", "Manager (members, sync now)"


ALL_ROLES = [r.value for r in Role]
