"""A section whose pages are not built yet renders this honest empty state."""

from django.shortcuts import render

from accounts.access import member_required


def section_not_built(title: str):
    @member_required()
    def view(request):
        return render(request, "portal/section_pending.html", {"title": title})

    return view
