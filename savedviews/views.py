"""Save, open and delete saved views of the lists.

- Save (POST from a list page): under a name, private or shared; saving under a name the member
  already used for that list replaces that view (their own only).
- Open: `/views/<id>/` leads to the list with the view's query and `?view=<id>` (its columns).
- Delete (POST): the owner only; anyone else gets the 404 of a view they cannot see or change.
"""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpResponseRedirect
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from accounts.access import member_required
from accounts.scoping import get_scoped_or_404, scoped
from portal.lists import LISTS

from .forms import SaveViewForm
from .models import SavedView
from .queries import visible


def _open_url(view: SavedView) -> str:
    list_url = LISTS[view.list_key].url()
    return f"{list_url}?{view.query}&view={view.pk}" if view.query else f"{list_url}?view={view.pk}"


@require_POST
@member_required()
def save(request):
    form = SaveViewForm(request.POST, request=request)
    if not form.is_valid():
        key = request.POST.get("list_key", "")
        return render(
            request,
            "savedviews/save_failed.html",
            {"form": form, "back": LISTS[key].url() if key in LISTS else "/"},
            status=400,
        )
    data = form.cleaned_data
    view = data.get("existing") or SavedView(
        organization=request.organization, owner=request.user, list_key=data["list_key"]
    )
    view.name = data["name"]
    view.query = data["query"]
    view.columns = data["columns"]
    view.shared = data["shared"]
    replaced = view.pk is not None
    view.save()
    messages.success(request, f"View “{view.name}” {'updated' if replaced else 'saved'}.")
    return HttpResponseRedirect(_open_url(view))


@member_required()
def open_view(request, pk: int):
    view = get_scoped_or_404(request, visible(request), pk=pk)
    return HttpResponseRedirect(_open_url(view))


@require_POST
@member_required()
def delete(request, pk: int):
    view = get_scoped_or_404(request, scoped(request, SavedView.objects.filter(owner=request.user)), pk=pk)
    list_url = LISTS[view.list_key].url() if view.list_key in LISTS else "/"
    view.delete()
    messages.success(request, f"View “{view.name}” deleted.")
    return redirect(list_url)
