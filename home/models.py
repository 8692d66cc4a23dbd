"""Counts the home dashboard shows, kept by a worker: never counted while a page renders."""

from __future__ import annotations

from django.core.serializers.json import DjangoJSONEncoder
from django.db import models

from accounts.scoping import OrgOwned


class Tally(OrgOwned):
    """One kept count (or a few, as JSON) of one organization: what a provider of `home.tallies`
    computed from the tables it reads, and when.

    A change to those tables sets `changed_at` (after it commits); a worker then recomputes the
    value (`home.services.recompute`). The value is current when it was computed after the last
    change: `refreshed_at >= changed_at`. Otherwise the dashboard shows it "as of" `refreshed_at`.
    """

    # No index of its own: the unique (organization, key) index serves organization lookups.
    organization = models.ForeignKey(  # OrgOwned's, without its index
        "accounts.Organization", on_delete=models.CASCADE, related_name="+", db_index=False
    )
    key = models.CharField(max_length=50, help_text="the provider's key (home.tallies)")
    value = models.JSONField(null=True, blank=True, encoder=DjangoJSONEncoder)
    refreshed_at = models.DateTimeField(
        null=True, blank=True, help_text="when the value was computed: it counts the data as of then"
    )
    changed_at = models.DateTimeField(null=True, blank=True, help_text="the last change to what it counts")
    compute_ms = models.PositiveIntegerField(default=0, help_text="what the last computation took")

    class Meta:
        ordering = ["key"]
        verbose_name_plural = "tallies"
        constraints = [models.UniqueConstraint(fields=["organization", "key"], name="home_tally_unique")]

    def __str__(self) -> str:
        return f"{self.key} of {self.organization_id}"

    @property
    def current(self) -> bool:
        """Computed after the last change to what it counts."""
        return self.refreshed_at is not None and (self.changed_at is None or self.changed_at <= self.refreshed_at)
