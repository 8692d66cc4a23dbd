from __future__ import annotations

from typing import Any

from django import forms
from django.http import QueryDict

from portal.lists import LISTS, NAV_PARAMS

from .models import MAX_COLUMNS, NAME_LENGTH, QUERY_LENGTH, VIEWS_PER_LIST, SavedView


class SaveViewForm(forms.Form):
    """Save the list as it is shown (its query and columns, sent by the list page) under a name."""

    list_key = forms.CharField(max_length=40, widget=forms.HiddenInput)
    query = forms.CharField(
        max_length=QUERY_LENGTH,
        required=False,
        widget=forms.HiddenInput,
        error_messages={
            "max_length": f"These filters are too long to save as a view (at most {QUERY_LENGTH} characters)."
        },
    )
    columns = forms.CharField(max_length=2000, required=False, widget=forms.HiddenInput)
    name = forms.CharField(max_length=NAME_LENGTH, label="Name", strip=True)
    shared = forms.BooleanField(label="Share with my organization", required=False)

    def __init__(self, *args: Any, request: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.request = request

    def clean_list_key(self) -> str:
        key = self.cleaned_data["list_key"]
        if key not in LISTS:
            raise forms.ValidationError("This list cannot be saved.")
        return key

    def clean_query(self) -> str:
        query = QueryDict(self.cleaned_data.get("query") or "", mutable=True)
        for name in (*NAV_PARAMS, "view", "per_page", "csrfmiddlewaretoken"):
            query.pop(name, None)
        return query.urlencode()[:QUERY_LENGTH]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        key = data.get("list_key")
        if key in LISTS:
            known = [c.name for c in LISTS[key].columns]
            wanted = set((self.cleaned_data.get("columns") or "").split(","))
            data["columns"] = [name for name in known if name in wanted][:MAX_COLUMNS]
            name = data.get("name")
            if name:
                mine = SavedView.objects.filter(
                    organization=self.request.organization, owner=self.request.user, list_key=key
                )
                data["existing"] = mine.filter(name__iexact=name).first()
                if data["existing"] is None and mine.count() >= VIEWS_PER_LIST:
                    self.add_error("name", f"You have {VIEWS_PER_LIST} views of this list: delete one first.")
        return data
