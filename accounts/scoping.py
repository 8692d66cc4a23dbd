"""The one place where organization data is scoped.

Every model holding an organization's data inherits `OrgOwned` (or declares
`ORG_LOOKUP`, the path to its organization) and every view and task reads it through
`scoped()` / `get_scoped_or_404()` here. Another organization's object is a 404.
"""

from __future__ import annotations

from typing import Any, Self, TypeVar, overload

from django.db import models
from django.http import Http404

QS = TypeVar("QS", bound=models.QuerySet)


def org_lookup(model: type[models.Model]) -> str:
    return getattr(model, "ORG_LOOKUP", "organization")


class OrgQuerySet(models.QuerySet):
    def for_org(self, organization: Any) -> Self:
        """Rows of one organization (an Organization or its id): `scoped()` for code without a request."""
        return scoped(organization, self)


class OrgOwned(models.Model):
    """Abstract base for every model holding an organization's data."""

    organization = models.ForeignKey("accounts.Organization", on_delete=models.CASCADE, related_name="+")

    objects = OrgQuerySet.as_manager()

    class Meta:
        abstract = True


def _queryset(model_or_qs) -> models.QuerySet:
    if isinstance(model_or_qs, models.QuerySet):
        return model_or_qs
    return model_or_qs._default_manager.all()


@overload
def scoped(request_or_org: Any, model_or_qs: QS) -> QS: ...
@overload
def scoped(request_or_org: Any, model_or_qs: type[models.Model]) -> Any: ...
def scoped(request_or_org, model_or_qs):
    """The queryset limited to the current organization of a request (or an organization).

    Given a queryset, the result has its type (and its custom methods, e.g. `present()`).
    """
    organization = getattr(request_or_org, "organization", request_or_org)
    qs = _queryset(model_or_qs)
    if organization is None:
        return qs.none()
    return qs.filter(**{org_lookup(qs.model): organization})


def get_scoped_or_404(request_or_org, model_or_qs, **lookups):
    """One object of the current organization; another organization's object is a 404."""
    qs = scoped(request_or_org, model_or_qs)
    try:
        return qs.get(**lookups)
    except (qs.model.DoesNotExist, ValueError, TypeError):
        raise Http404(f"No {qs.model._meta.verbose_name} matches the given query.") from None
