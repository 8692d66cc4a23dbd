from django.shortcuts import render

from accounts.access import member_required


@member_required()
def dashboard(request):
    return render(request, "portal/dashboard.html", {"sections": dashboard_sections(request)})


def dashboard_sections(request):
    """Cards on the dashboard; each app contributes a summary through portal.sections."""
    from portal.sections import summaries

    return summaries(request)
