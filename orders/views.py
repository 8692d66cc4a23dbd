"""Order pages: new order (and order again, fix and resend), an order's page, catalog search."""

from __future__ import annotations

from django.contrib import messages
from django.db import IntegrityError
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils.html import format_html_join

from accounts.access import member_required
from accounts.roles import Role
from accounts.scoping import get_scoped_or_404, scoped
from mirror.models import CatalogItem, Order
from outbox import services as outbox
from upstream import limits

from . import readiness, services
from .forms import OrderForm, apply_upstream_errors, line_formset
from .models import PARTY_FIELDS, OrderSubmission
from .presenters import OrderPage


def _catalog(request, limit: int = 200):
    return scoped(request, CatalogItem).present().order_by("customer_sku")[:limit]


def _form_context(request, form, formset, gaps=(), **extra):
    return {
        "form": form,
        "formset": formset,
        "catalog": _catalog(request),
        "party_fields": PARTY_FIELDS,
        "gaps": readiness.explain(list(gaps)),
        **extra,
    }


def _initial_from(order_like: dict) -> tuple[dict, list[dict]]:
    """Form initial values from an upstream order payload (for "Order again")."""
    initial = {
        "purchase_order": order_like.get("purchase_order") or "",
        "ship_method": str(order_like.get("ship_method_id") or ""),
        "ship_account": order_like.get("ship_account") or "",
        "notes": order_like.get("notes") or "",
        "customer_rma_case": order_like.get("customer_rma_case") or "",
        "duties_and_taxes_account": order_like.get("duties_and_taxes_account") or "",
    }
    for part, prefix in (("recipient", "recipient"), ("importer_of_record", "importer")):
        party = order_like.get(part) or {}
        for key in PARTY_FIELDS:
            value = party.get(key)
            initial[f"{prefix}_{key}"] = "" if value is None else str(value)
    lines = [
        {
            "product_code": line.get("product_code") or "",
            "quantity": line.get("quantity") or 1,
            "customs_declared_value": line.get("customs_declared_value") or 0,
        }
        for line in order_like.get("lines") or []
    ]
    return initial, lines


def _submission_data(submission: OrderSubmission) -> dict:
    """POST-like data of a stored submission, to re-validate it and show the upstream's errors."""
    data = {
        "purchase_order": submission.purchase_order,
        "customer_order": submission.customer_order,
        "ship_method": str(submission.ship_method_id),
        "ship_account": submission.ship_account,
        "notes": submission.notes,
        "customer_rma_case": submission.customer_rma_case,
        "duties_and_taxes_account": submission.duties_and_taxes_account,
    }
    if submission.importer_same_as_recipient:
        data["importer_same_as_recipient"] = "on"
    for prefix in ("recipient", "importer"):
        for key in PARTY_FIELDS:
            data[f"{prefix}_{key}"] = getattr(submission, f"{prefix}_{key}")
    lines = list(submission.lines.all())
    data.update(
        {
            "lines-TOTAL_FORMS": str(len(lines)),
            "lines-INITIAL_FORMS": "0",
            "lines-MIN_NUM_FORMS": "1",
            "lines-MAX_NUM_FORMS": str(limits.LINES_PER_ORDER),
        }
    )
    for n, line in enumerate(lines):
        data[f"lines-{n}-product_code"] = line.product_code
        data[f"lines-{n}-quantity"] = str(line.quantity)
        data[f"lines-{n}-customs_declared_value"] = str(line.customs_declared_value)
    return data


@member_required(Role.BUYER)
def new_order(request):
    org = request.organization
    gaps = readiness.gaps(org)
    if request.method == "POST":
        form = OrderForm(request.POST, organization=org, gaps=gaps)
        formset = line_formset(request.POST, organization=org)
        if not gaps and form.is_valid() and formset.is_valid():
            try:
                submission = services.submit(org, request.user, form.save(commit=False), formset.lines())
            except IntegrityError:  # a concurrent submission took the number between check and save
                form.add_error("customer_order", "This number was just used by another order; choose another.")
            else:
                messages.success(request, f"Order {submission.customer_order} is queued for the upstream.")
                return redirect("orders:submission", pk=submission.pk)
    else:
        initial: dict = {}
        lines: list[dict] = [{"quantity": 1}]
        if request.GET.get("again"):
            source = get_scoped_or_404(request, Order, pk=request.GET["again"])
            initial, lines = _initial_from(source.raw)
        elif request.GET.get("again_submission"):
            source = get_scoped_or_404(request, OrderSubmission, pk=request.GET["again_submission"])
            initial, lines = _initial_from(services.build_payload(source, list(source.lines.all()), org))
        initial["customer_order"] = services.suggest_customer_order(org)
        form = OrderForm(initial=initial, organization=org, gaps=gaps)
        formset = line_formset(organization=org, initial=lines or [{"quantity": 1}])
    return render(request, "orders/form.html", _form_context(request, form, formset, gaps, title="New order"))


@member_required(Role.BUYER)
def edit_submission(request, pk):
    """Fix a rejected order (the upstream's errors are next to the fields) and send it again."""
    submission = get_scoped_or_404(request, OrderSubmission.objects.select_related("delivery"), pk=pk)
    org = request.organization
    if not submission.can_resubmit:
        messages.info(request, "This order is not rejected: there is nothing to correct.")
        return render(request, "orders/detail.html", _detail(request, submission=submission))
    gaps = readiness.gaps(org)
    if request.method == "POST":
        form = OrderForm(request.POST, instance=submission, organization=org, gaps=gaps)
        formset = line_formset(request.POST, organization=org)
        if not gaps and form.is_valid() and formset.is_valid():
            services.resubmit(org, request.user, form.save(commit=False), formset.lines())
            messages.success(request, f"Order {submission.customer_order} is queued again with your corrections.")
            return redirect("orders:submission", pk=submission.pk)
    else:
        data = _submission_data(submission)
        form = OrderForm(data, instance=submission, organization=org, gaps=gaps)
        formset = line_formset(data, organization=org)
        form.is_valid()
        formset.is_valid()
        apply_upstream_errors(form, formset, submission.delivery.field_errors if submission.delivery else {})
    return render(
        request,
        "orders/form.html",
        _form_context(
            request, form, formset, gaps, title=f"Correct order {submission.customer_order}", submission=submission
        ),
    )


def _detail(request, **which) -> dict:
    return {
        "page": OrderPage(request, **which),
        "can_buy": request.membership.has_role(Role.BUYER),
        "can_service": request.membership.has_role(Role.SERVICE),  # "Request RMA" on a shipped serial
    }


@member_required()
def submission_detail(request, pk):
    submission = get_scoped_or_404(request, OrderSubmission.objects.select_related("delivery", "created_by"), pk=pk)
    if request.method == "POST":
        if not request.membership.has_role(Role.BUYER):
            return render(request, "accounts/role_required.html", {"role": Role.BUYER.label}, status=403)
        if request.POST.get("action") == "retry" and submission.delivery and submission.delivery.is_open:
            outbox.retry_now(submission.delivery)
            messages.success(request, "The order will be sent again now.")
        return redirect("orders:submission", pk=submission.pk)
    return render(request, "orders/detail.html", _detail(request, submission=submission))


@member_required()
def order_detail(request, pk):
    order = get_scoped_or_404(request, Order, pk=pk)
    if request.method == "POST":
        return redirect("orders:detail", pk=order.pk)
    return render(request, "orders/detail.html", _detail(request, order=order))


@member_required(Role.BUYER)
def catalog_search(request):
    """<option>s for the product code datalist (htmx swaps them in as the buyer types)."""
    q = (request.GET.get("q") or "").strip()
    rows = scoped(request, CatalogItem).present()
    if q:
        rows = rows.filter(customer_sku__icontains=q)
    rows = rows.order_by("customer_sku")[:50]
    html = format_html_join(
        "",
        '<option value="{}" data-price="{}">{}</option>',
        (
            (
                r.customer_sku,
                r.price if r.price is not None else "",
                f"{r.customer_sku} — {r.price if r.price is not None else 'no price'}",
            )
            for r in rows
        ),
    )
    return HttpResponse(html)
