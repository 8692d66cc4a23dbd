"""RMAs as service staff request them, and the e-mails sent about them.

An RmaSubmission is the request exactly as submitted; its outbox Delivery carries it to the
upstream (the same mechanism as orders: outbox.models.Submission). Once the upstream has it,
the mirror's Rma (its detail fetched on every sync while it is open) is the truth about it.
"""

from __future__ import annotations

from django.db import models

from outbox.models import Delivery, Submission
from portal.notifications import Notification
from upstream import limits
from upstream.records import RMA_REQUEST_EXPLAINED, RmaRequestType


class RmaSubmission(Submission):
    request_type = models.PositiveSmallIntegerField(choices=RmaRequestType.choices)
    manufacturer_serial = models.CharField(max_length=limits.RMA_SERIAL)
    problem = models.TextField(max_length=limits.NOTES, help_text="the problem and the solution asked for")
    replacement_name = models.CharField("replacement destination name", max_length=limits.SHORT_TEXT)
    replacement_phone = models.CharField("replacement destination phone", max_length=limits.SHORT_TEXT, blank=True)
    replacement_addr = models.TextField("replacement destination address", max_length=limits.NOTES, blank=True)

    class Meta(Submission.Meta):
        verbose_name = "RMA submission"
        indexes = [models.Index(fields=["organization", "manufacturer_serial"], name="rmas_submission_serial")]

    def __str__(self) -> str:
        return f"RMA request for {self.manufacturer_serial}"

    @property
    def url(self) -> str:
        from django.urls import reverse

        return reverse("rmas:submission", args=[self.pk])

    @property
    def request_type_explained(self) -> str:
        return RMA_REQUEST_EXPLAINED.get(self.request_type, "")


class RmaNotification(Notification):
    """An e-mail to the member who requested an RMA about one of its statuses: sent at most once."""

    submission = models.ForeignKey(RmaSubmission, on_delete=models.CASCADE, related_name="notifications")

    class Meta(Notification.Meta):
        constraints = [models.UniqueConstraint(fields=["submission", "status"], name="rmas_notify_once_per_status")]


# The RMA list's statuses for a request the mirror has not got yet: where its delivery is.
LOCAL_STATUSES = [(s.value, s.label) for s in Delivery.Status if s != Delivery.Status.CONFLICT]


def _sorted_by(*columns: str) -> list[models.Index]:
    """One index per sortable column: (organization, column, id) serves its sort both ways and its keyset.
    The item's also serves the item filter (an equality), with the tabs' flag in it so that the tab
    counts of a filtered list read the index alone (PostgreSQL's INCLUDE; a plain index elsewhere)."""
    return [
        models.Index(
            fields=["organization", c, "id"], name=f"rmas_row_{c[:20]}", include=["is_open"] if c in FILTERED else []
        )
        for c in columns
    ]


FILTERED = ("item_name",)


# The RMA list sorts by these columns (each has its index).
ROW_SORTS = ("subject", "status", "manufacturer_serial", "item_name", "start_date", "closed_date", "updated_at")


class RmaRow(models.Model):
    """One row of the RMA lists: a mirrored RMA, or a local request the mirror has not got yet.

    A table kept by `rmas.rows.refresh()` in the transaction that changes an RMA or a
    submission, so every filter, sort and page of the lists is one indexed query (the orders
    list's pattern, portal.lists).
    """

    ORG_LOOKUP = "organization"

    organization = models.ForeignKey(
        "accounts.Organization", on_delete=models.CASCADE, related_name="+", db_index=False
    )
    rma = models.OneToOneField("mirror.Rma", null=True, blank=True, on_delete=models.CASCADE, related_name="list_row")
    submission = models.OneToOneField(
        RmaSubmission, null=True, blank=True, on_delete=models.SET_NULL, related_name="list_row"
    )
    upstream_id = models.BigIntegerField("RMA number", null=True, blank=True)
    subject = models.CharField(max_length=255)
    status = models.CharField(max_length=100, help_text="the upstream's status name, or the delivery's status")
    is_open = models.BooleanField()
    request_type = models.PositiveSmallIntegerField(null=True, blank=True, choices=RmaRequestType.choices)
    manufacturer_serial = models.CharField("serial", max_length=255)
    item_name = models.CharField("item", max_length=255)
    category_name = models.CharField("category", max_length=255)
    start_date = models.DateField("started", null=True, blank=True)
    closed_date = models.DateField("closed", null=True, blank=True)
    updated_at = models.DateTimeField("updated")
    search_text = models.TextField(blank=True, help_text="what a search reads: casefolded, trigram-indexed")

    class Meta:
        ordering = ["-start_date", "-id"]
        verbose_name = "RMA list row"
        indexes = [
            *_sorted_by(*ROW_SORTS),
            models.Index(fields=["organization", "is_open", "start_date", "id"], name="rmas_row_open"),
            # The request-type and category filters (equalities) in the default order, with the tabs' flag.
            models.Index(
                fields=["organization", "request_type", "start_date", "id"],
                name="rmas_row_request_type_open",
                include=["is_open"],
            ),
            models.Index(
                fields=["organization", "category_name", "start_date", "id"],
                name="rmas_row_category",
                include=["is_open"],
            ),
            models.Index(fields=["organization", "upstream_id"], name="rmas_row_upstream_id"),
        ]

    def __str__(self) -> str:
        return self.subject or self.manufacturer_serial
