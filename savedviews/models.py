"""A member's saved view of a list: its filters, tab and sort (the list's query string) and its
columns, under a name, kept private or shared with the organization.

Opening one (`?view=<id>` on the list, see `portal.lists.OrgListView`) shows the list with that
query and those columns; the member's own column choice stays as it was.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models.functions import Lower

from accounts.scoping import OrgOwned

NAME_LENGTH = 80  # a view's name (the form and the column)
QUERY_LENGTH = 2000  # the stored query string: filters, tab and sort
MAX_COLUMNS = 50
VIEWS_PER_LIST = 50  # per member and list: a menu stays a menu


class SavedView(OrgOwned):
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="saved_views")
    list_key = models.CharField(max_length=40, help_text="the list it belongs to (OrgListView.list_key)")
    name = models.CharField(max_length=NAME_LENGTH)
    query = models.CharField(max_length=QUERY_LENGTH, blank=True, help_text="filters, tab and sort, as a query string")
    columns = models.JSONField(default=list, blank=True, help_text="the columns shown, in the list's order")
    shared = models.BooleanField("shared with the organization", default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["list_key", Lower("name").asc(), "id"]
        indexes = [models.Index(fields=["organization", "list_key", "shared"], name="savedview_list")]
        constraints = [
            models.UniqueConstraint(
                "organization", "owner", "list_key", Lower("name"), name="savedview_one_name_per_member_and_list"
            )
        ]

    def __str__(self) -> str:
        return self.name
