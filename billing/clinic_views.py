"""The Clinic area's billing: the clinic's open invoices, a chart's account (balance, invoices,
payments, refunds, adjustments), new invoices, and the clinic's billing profile. Charts come
through `Chart.objects.visible_to` (read) and `editable_by` (issue, void, refund, adjust)."""

from __future__ import annotations

from collections.abc import Callable

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Page, Paginator
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.utils import timezone
from django.views.decorators.http import require_POST

from audit.log import record
from audit.models import AuditEvent
from invites.models import ClinicMembership
from patient_portal.clinic_views import chosen_clinic, clinic_page
from patient_portal.models import Chart
from patient_portal.services import record_for_chart
from portal.idempotency import created, idempotent
from portal.types import AuthedHttpRequest

from . import services
from .forms import AdjustmentForm, BillingProfileForm, InvoiceForm, InvoiceLineFormSet, RefundForm
from .models import BillingProfile, Invoice, LedgerEntry, Payment
from .selectors import balance_subquery, open_invoices_page, with_amounts

PAGE_SIZE = 25


@login_required
def open_invoices(request: AuthedHttpRequest) -> HttpResponse:
    clinic = chosen_clinic(request)
    page: Page[Invoice] = open_invoices_page(clinic.pk, request.GET.get("page"), PAGE_SIZE)
    record(request, AuditEvent.Action.LIST, description=f"open invoices of clinic {clinic.pk}")
    return clinic_page(request, "billing/clinic/open_invoices.html", clinic, page=page)


def _chart_page(
    request: AuthedHttpRequest,
    chart: Chart,
    *,
    adjustment_form: AdjustmentForm | None = None,
    status: int = 200,
) -> HttpResponse:
    invoices = list(
        with_amounts(
            Invoice.objects.visible_to(request.user)
            .filter(chart=chart)
            .order_by("-created_at", "-pk")
        )[:50]
    )
    payments = list(
        Payment.objects.visible_to(request.user)
        .filter(chart=chart)
        .select_related("invoice", "card")
        .order_by("-created_at", "-pk")[:25]
    )
    ledger = list(LedgerEntry.objects.filter(chart=chart).order_by("-occurred_at", "-pk")[:25])
    return clinic_page(
        request,
        "billing/clinic/chart.html",
        chart.clinic,
        chart=chart,
        balance_cents=services.chart_balance(chart),
        invoices=invoices,
        payments=payments,
        ledger=ledger,
        adjustment_form=adjustment_form or AdjustmentForm(),
        refund_form=RefundForm(),
        status=status,
    )


@login_required
def chart_billing(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    chart = get_object_or_404(
        Chart.objects.visible_to(request.user).select_related("clinic", "provider__user"), pk=pk
    )
    if not Chart.objects.editable_by(request.user).filter(pk=chart.pk).exists():
        raise PermissionDenied
    record_for_chart(request, AuditEvent.Action.VIEW, chart, chart=chart, description="Billing")
    return _chart_page(request, chart)


@login_required
def charts(request: AuthedHttpRequest) -> HttpResponse:
    """The clinic's charts with each one's balance (one aggregate per row of the page)."""
    clinic = chosen_clinic(request)
    found = (
        Chart.objects.editable_by(request.user)
        .filter(clinic=clinic)
        .annotate(balance_cents=balance_subquery("pk"))
        .order_by("legal_last_name", "legal_first_name", "pk")
    )
    page = Paginator(found, PAGE_SIZE).get_page(request.GET.get("page"))
    record(request, AuditEvent.Action.LIST, description=f"balances of clinic {clinic.pk}")
    return clinic_page(request, "billing/clinic/charts.html", clinic, page=page)


@login_required
@idempotent
def invoice_new(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    chart = get_object_or_404(
        Chart.objects.editable_by(request.user).select_related("clinic"), pk=pk
    )
    form = InvoiceForm(request.POST or None)
    lines = InvoiceLineFormSet(request.POST or None, prefix="line")
    if request.method == "POST" and form.is_valid() and lines.is_valid():
        invoice = services.create_invoice(
            chart=chart,
            lines=[f.line() for f in lines.forms if f.has_changed() or f.cleaned_data],
            by=request.user,
            memo=form.cleaned_data["memo"],
            issue=form.cleaned_data["issue"],
        )
        record_for_chart(
            request,
            AuditEvent.Action.CREATE,
            invoice,
            chart=chart,
            description=f"Invoice {invoice.number} created ({invoice.status})",
        )
        created(request)
        messages.success(
            request, f"Invoice {invoice.number} saved ({invoice.get_status_display()})."
        )
        return redirect("clinic_billing:chart", pk=chart.pk)
    return clinic_page(
        request,
        "billing/clinic/invoice_new.html",
        chart.clinic,
        chart=chart,
        form=form,
        lines=lines,
        status=400 if request.method == "POST" else 200,
    )


def _editable_invoice(request: AuthedHttpRequest, pk: int) -> Invoice:
    return get_object_or_404(Invoice.objects.editable_by(request.user), pk=pk)


def _invoice_action(
    request: AuthedHttpRequest, pk: int, action: Callable[..., object], done: str
) -> HttpResponse:
    """Apply a state change (issue, void) to an invoice the user may edit; audited on success,
    the service's refusal shown as it is; back to the chart's billing either way."""
    invoice = _editable_invoice(request, pk)
    try:
        action(invoice=invoice, by=request.user)
    except services.BillingError as exc:
        messages.error(request, str(exc))
    else:
        record_for_chart(
            request,
            AuditEvent.Action.UPDATE,
            invoice,
            chart=invoice.chart,
            description=f"Invoice {invoice.number} {done}",
        )
        messages.success(request, f"Invoice {invoice.number} {done}.")
    return redirect("clinic_billing:chart", pk=invoice.chart_id)


@login_required
@require_POST
def invoice_issue(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    return _invoice_action(request, pk, services.issue_invoice, "issued")


@login_required
@require_POST
def invoice_void(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    return _invoice_action(request, pk, services.void_invoice, "voided")


@login_required
@require_POST
def refund(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    payment = get_object_or_404(Payment.objects.editable_by(request.user), pk=pk)
    form = RefundForm(request.POST)
    if not form.is_valid():
        messages.error(request, str(form.errors["amount"][0]))
    else:
        try:
            services.refund_payment(
                payment=payment, amount_cents=form.cleaned_data["amount"], by=request.user
            )
        except services.BillingError as exc:
            messages.error(request, str(exc))
        else:
            record_for_chart(
                request,
                AuditEvent.Action.UPDATE,
                payment,
                chart=payment.chart,
                description=f"Payment {payment.pk} refunded",
            )
            messages.success(request, "Refund done.")
    return redirect("clinic_billing:chart", pk=payment.chart_id)


@login_required
@require_POST
@idempotent
def adjustment(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    chart = get_object_or_404(
        Chart.objects.editable_by(request.user).select_related("clinic"), pk=pk
    )
    form = AdjustmentForm(request.POST)
    if not form.is_valid():
        return _chart_page(request, chart, adjustment_form=form, status=400)
    entry = services.add_adjustment(
        chart=chart,
        amount_cents=form.signed_cents(),
        description=form.cleaned_data["description"],
        by=request.user,
    )
    record_for_chart(
        request, AuditEvent.Action.CREATE, entry, chart=chart, description="Billing adjustment"
    )
    created(request)
    messages.success(request, "Adjustment recorded.")
    return redirect("clinic_billing:chart", pk=chart.pk)


@login_required
def profile(request: AuthedHttpRequest) -> HttpResponse:
    """The clinic's billing profile (name, address, tax ID, NPI): clinic admins change it."""
    clinic = chosen_clinic(request)
    is_admin = (
        ClinicMembership.objects.of_user(request.user)
        .filter(clinic=clinic, role=ClinicMembership.Role.ADMIN)
        .exists()
    )
    instance = BillingProfile.for_clinic(clinic)
    form = BillingProfileForm(request.POST or None, instance=instance)
    if request.method == "POST":
        if not is_admin:
            raise PermissionDenied
        if form.is_valid():
            saved = form.save(commit=False)
            saved.clinic = clinic
            saved.updated_at = timezone.now()
            saved.save()
            record(request, AuditEvent.Action.UPDATE, saved, description="Billing profile")
            messages.success(request, "Billing profile saved.")
            return redirect("clinic_billing:profile")
    return clinic_page(
        request,
        "billing/clinic/profile.html",
        clinic,
        form=form,
        can_edit=is_admin,
        status=400 if request.method == "POST" else 200,
    )
