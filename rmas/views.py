"""RMA pages: request an RMA (and correct a refused request), a request's page, an RMA's page."""

from __future__ import annotations

from django.contrib import messages
from django.shortcuts import redirect, render

from accounts.access import member_required
from accounts.roles import Role
from accounts.scoping import get_scoped_or_404
from mirror.models import Rma
from outbox import services as outbox
from outbox.forms import add_upstream_errors
from upstream import limits

from . import services
from .forms import UPSTREAM_FIELDS, RmaForm
from .models import RmaSubmission
from .presenters import RmaPage


def _initial(request) -> dict:
    """A form prefilled from "Request RMA" on a serial (an order line, a queue, an RMA)."""
    initial: dict = {}
    serial = " ".join((request.GET.get("serial") or "").split())[: limits.RMA_SERIAL]
    if serial:
        initial["manufacturer_serial"] = serial
    again = request.GET.get("again")
    if again and again.isascii() and again.isdigit():
        source = get_scoped_or_404(request, RmaSubmission, pk=int(again))
        initial.update(
            request_type=source.request_type,
            manufacturer_serial=source.manufacturer_serial,
            replacement_name=source.replacement_name,
            replacement_phone=source.replacement_phone,
            replacement_addr=source.replacement_addr,
        )
    return initial


@member_required(Role.SERVICE)
def new_rma(request):
    if request.method == "POST":
        form = RmaForm(request.POST)
        if form.is_valid():
            submission = services.submit(request.organization, request.user, form.save(commit=False))
            messages.success(
                request, f"The RMA request for {submission.manufacturer_serial} is queued for the upstream."
            )
            return redirect("rmas:submission", pk=submission.pk)
    else:
        form = RmaForm(initial=_initial(request))
    return render(request, "rmas/form.html", {"form": form, "title": "Request an RMA"})


@member_required(Role.SERVICE)
def edit_submission(request, pk):
    """Correct a refused request (the upstream's errors are next to the fields) and send it again."""
    submission = get_scoped_or_404(request, RmaSubmission.objects.select_related("delivery"), pk=pk)
    if not submission.can_resubmit:
        messages.info(request, "This request is not refused: there is nothing to correct.")
        return redirect("rmas:submission", pk=submission.pk)
    if request.method == "POST":
        form = RmaForm(request.POST, instance=submission)
        if form.is_valid():
            services.resubmit(request.organization, request.user, form.save(commit=False))
            messages.success(request, "The corrected RMA request is queued again.")
            return redirect("rmas:submission", pk=submission.pk)
    else:
        data = {name: getattr(submission, name) for name in RmaForm.Meta.fields}
        form = RmaForm(data, instance=submission)
        form.is_valid()
        add_upstream_errors(form, submission.delivery.field_errors if submission.delivery else {}, UPSTREAM_FIELDS)
    return render(
        request, "rmas/form.html", {"form": form, "title": "Correct the RMA request", "submission": submission}
    )


def _page(request, page: RmaPage):
    return render(request, "rmas/detail.html", {"page": page, "can_service": request.membership.has_role(Role.SERVICE)})


@member_required()
def submission_detail(request, pk):
    submission = get_scoped_or_404(request, RmaSubmission.objects.select_related("delivery", "created_by"), pk=pk)
    if request.method == "POST":
        if not request.membership.has_role(Role.SERVICE):
            return render(request, "accounts/role_required.html", {"role": Role.SERVICE.label}, status=403)
        if request.POST.get("action") == "retry" and submission.delivery and submission.delivery.is_open:
            outbox.retry_now(submission.delivery)
            messages.success(request, "The request will be sent again now.")
        return redirect("rmas:submission", pk=submission.pk)
    return _page(request, RmaPage(request, submission=submission))


@member_required()
def rma_detail(request, pk):
    rma = get_scoped_or_404(request, Rma.objects.prefetch_related("lines", "notes"), pk=pk)
    return _page(request, RmaPage(request, rma=rma))
