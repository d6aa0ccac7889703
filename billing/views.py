"""The patient's Billing section: Credit Cards, Billing History, Invoices (SPEC §8.8).

Every view is `@patient_section("billing")` (sign-in, the chosen chart, the clinic's billing
permission, reads audited) and reads through `visible_to(user)` narrowed to `request.chart`.
"""

from __future__ import annotations

import csv
import datetime as dt
from typing import Any

from django.conf import settings
from django.core.paginator import Page, Paginator
from django.db import transaction
from django.http import HttpResponse, HttpResponseBadRequest
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from audit.models import AuditEvent
from patient_portal.decorators import patient_section
from patient_portal.layout import render_patient
from patient_portal.services import record_for_chart
from portal.idempotency import created, idempotent
from portal.types import AuthedHttpRequest
from prescriptions.views import neutralise

from . import services
from .forms import CardTokenForm, DateRangeForm, PayForm, SuperbillForm
from .models import Card, Invoice, Payment
from .money import plain_cents
from .pdfs import invoice_pdf, superbill_pdf
from .provider import ProviderError, WebhookError, get_provider
from .selectors import history_page, ledger_in_range, with_amounts, with_running_balance

TABS = [
    ("cards", "Credit Cards", "billing:cards"),
    ("history", "Billing History", "billing:history"),
    ("invoices", "Invoices", "billing:invoices"),
]


def _page(request: AuthedHttpRequest, template: str, tab: str, **context: Any) -> HttpResponse:
    status = int(context.pop("http_status", 200))
    return render_patient(
        request,
        template,
        {
            "tabs": [(key, label, reverse(name)) for key, label, name in TABS],
            "tab": tab,
            "balance_cents": services.chart_balance(request.chart),  # type: ignore[attr-defined]
            **context,
        },
        status=status,
    )


def _cards(request: AuthedHttpRequest) -> Any:
    return Card.objects.visible_to(request.user).filter(
        chart=request.chart,  # type: ignore[attr-defined]
        removed_at__isnull=True,
    )


# Credit Cards ----------------------------------------------------------------------------------


@patient_section("billing")
@require_GET
def cards(request: AuthedHttpRequest) -> HttpResponse:
    return _page(request, "billing/cards.html", "cards", cards=list(_cards(request)))


@patient_section("billing")
@idempotent
def card_add(request: AuthedHttpRequest) -> HttpResponse:
    chart = request.chart  # type: ignore[attr-defined]
    error = ""
    if request.method == "POST":
        form = CardTokenForm(request.POST)
        if form.is_valid():
            try:
                card = services.add_card(
                    chart=chart, token=form.cleaned_data["token"], by=request.user
                )
            except ProviderError as exc:
                error = exc.message
            else:
                record_for_chart(
                    request,
                    AuditEvent.Action.CREATE,
                    card,
                    chart=chart,
                    description=f"Card ending {card.last4} added",
                )
                created(request)
                next_url = request.POST.get("next", "")
                if next_url.startswith("/patient/billing/invoices/") and next_url.isascii():
                    return redirect(next_url)
                return redirect("billing:cards")
        else:
            error = str(form.errors.get("token", ["The card form did not finish."])[0])
    origin = settings.PAYMENT_PROVIDER_ORIGIN.rstrip("/")
    response = _page(
        request,
        "billing/card_add.html",
        "cards",
        provider_origin=origin,
        card_form_url=f"{origin}/card-form?origin={request.scheme}://{request.get_host()}",
        error=error,
        next=request.GET.get("next", "") or request.POST.get("next", ""),
        http_status=400 if error else 200,
    )
    # Only this page frames the provider's card form (and may post to it).
    response._csp_update = {"frame-src": [origin], "form-action": [origin]}  # type: ignore[attr-defined]
    return response


@patient_section("billing")
@require_POST
def card_default(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    card = get_object_or_404(_cards(request), pk=pk)
    services.set_default_card(card=card)
    record_for_chart(
        request,
        AuditEvent.Action.UPDATE,
        card,
        chart=card.chart,
        description=f"Card ending {card.last4} made the default",
    )
    return redirect("billing:cards")


@patient_section("billing")
@require_POST
def card_remove(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    card = get_object_or_404(_cards(request), pk=pk)
    services.remove_card(card=card)
    record_for_chart(
        request,
        AuditEvent.Action.DELETE,
        card,
        chart=card.chart,
        description=f"Card ending {card.last4} removed",
    )
    return redirect("billing:cards")


# Billing History -------------------------------------------------------------------------------


def _range(request: AuthedHttpRequest) -> tuple[DateRangeForm, dt.date | None, dt.date | None]:
    form = DateRangeForm(request.GET or None)
    if form.is_bound and form.is_valid():
        return form, form.cleaned_data.get("date_from"), form.cleaned_data.get("date_to")
    return form, None, None


@patient_section("billing")
@require_GET
def history(request: AuthedHttpRequest) -> HttpResponse:
    chart = request.chart  # type: ignore[attr-defined]
    form, date_from, date_to = _range(request)
    page, rows = history_page(
        chart, date_from=date_from, date_to=date_to, page_number=request.GET.get("page")
    )
    query = "&".join(f"{k}={v}" for k, v in (("date_from", date_from), ("date_to", date_to)) if v)
    return _page(
        request,
        "billing/history.html",
        "history",
        form=form,
        page=page,
        rows=rows,
        query=query,
        superbill_form=SuperbillForm(
            initial={"date_from": date_from, "date_to": date_to}, auto_id="superbill_%s"
        ),
    )


@patient_section("billing")
@require_GET
def history_csv(request: AuthedHttpRequest) -> HttpResponse:
    chart = request.chart  # type: ignore[attr-defined]
    _form, date_from, date_to = _range(request)
    entries, _start = ledger_in_range(chart, date_from, date_to)
    rows = with_running_balance(chart, list(entries[:20000]))
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="billing-history.csv"'
    writer = csv.writer(response)
    writer.writerow(["Date", "Type", "Description", "Amount", "Balance"])
    for row in rows:
        e = row.entry
        writer.writerow(
            [
                neutralise(f"{e.occurred_at:%Y-%m-%d}"),
                neutralise(e.get_kind_display()),
                neutralise(e.description),
                neutralise(plain_cents(e.amount_cents)),
                neutralise(plain_cents(row.balance_cents)),
            ]
        )
    return response


@patient_section("billing")
@require_GET
def superbill(request: AuthedHttpRequest) -> HttpResponse:
    chart = request.chart  # type: ignore[attr-defined]
    form = SuperbillForm(request.GET, auto_id="superbill_%s")
    if not form.is_valid():
        form_, date_from, date_to = _range(request)
        page, rows = history_page(chart)
        return _page(
            request,
            "billing/history.html",
            "history",
            form=form_,
            page=page,
            rows=rows,
            query="",
            superbill_form=form,
            http_status=400,
        )
    start, end = form.cleaned_data["date_from"], form.cleaned_data["date_to"]
    data = superbill_pdf(chart, date_from=start, date_to=end)
    record_for_chart(
        request,
        AuditEvent.Action.EXPORT,
        chart,
        chart=chart,
        description=f"Superbill {start:%Y-%m-%d} to {end:%Y-%m-%d}",
    )
    response = HttpResponse(data, content_type="application/pdf")
    response["Content-Disposition"] = (
        f'attachment; filename="superbill-{start:%Y%m%d}-{end:%Y%m%d}.pdf"'
    )
    return response


# Invoices --------------------------------------------------------------------------------------

STATUS_FILTERS = {
    "open": [Invoice.Status.OPEN],
    "paid": [Invoice.Status.PAID],
    "void": [Invoice.Status.VOID],
}


def _invoices(request: AuthedHttpRequest) -> Any:
    return Invoice.objects.visible_to(request.user).filter(
        chart=request.chart,  # type: ignore[attr-defined]
        status__in=[Invoice.Status.OPEN, Invoice.Status.PAID, Invoice.Status.VOID],
    )


@patient_section("billing")
@require_GET
def invoices(request: AuthedHttpRequest) -> HttpResponse:
    status = request.GET.get("status", "")
    found = _invoices(request)
    if status in STATUS_FILTERS:
        found = found.filter(status__in=STATUS_FILTERS[status])
    else:
        status = ""
    page: Page[Invoice] = Paginator(with_amounts(found.order_by("-issued_at", "-pk")), 25).get_page(
        request.GET.get("page")
    )
    return _page(request, "billing/invoices.html", "invoices", page=page, status=status)


def _invoice_page(
    request: AuthedHttpRequest,
    invoice: Invoice,
    *,
    form: PayForm | None = None,
    error: str = "",
    status: int = 200,
) -> HttpResponse:
    paid = services.invoice_paid_cents(invoice)
    open_cents = services.invoice_open_cents(invoice)
    cards_qs = _cards(request)
    if form is None:
        default = cards_qs.filter(is_default=True).first()
        form = PayForm(
            cards=cards_qs,
            initial={"amount": plain_cents(open_cents) if open_cents else "", "card": default},
        )
    return _page(
        request,
        "billing/invoice.html",
        "invoices",
        invoice=invoice,
        lines=list(invoice.lines.all()),
        paid_cents=paid,
        open_cents=open_cents,
        pending_cents=services.invoice_pending_cents(invoice),
        pay_form=form,
        has_cards=cards_qs.exists(),
        payments=list(invoice.payments.select_related("card").order_by("-created_at")[:20]),
        error=error,
        http_status=status,
    )


@patient_section("billing")
@require_GET
def invoice(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    return _invoice_page(request, get_object_or_404(_invoices(request), pk=pk))


@patient_section("billing")
@require_GET
def invoice_pdf_view(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    found = get_object_or_404(
        _invoices(request).select_related(
            "chart__clinic", "chart__provider__user", "chart__provider__prescriber"
        ),
        pk=pk,
    )
    data = invoice_pdf(found, paid_cents=services.invoice_paid_cents(found))
    record_for_chart(
        request,
        AuditEvent.Action.EXPORT,
        found,
        chart=found.chart,
        description=f"Invoice {found.number} PDF",
    )
    response = HttpResponse(data, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{found.number}.pdf"'
    return response


@patient_section("billing")
@require_POST
@idempotent
def pay(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    found = get_object_or_404(_invoices(request), pk=pk)
    form = PayForm(request.POST, cards=_cards(request))
    if not form.is_valid():
        return _invoice_page(request, found, form=form, status=400)
    try:
        payment = services.start_payment(
            invoice=found,
            card=form.cleaned_data["card"],
            amount_cents=form.cleaned_data["amount"],
            by=request.user,
        )
    except services.BillingError as exc:
        return _invoice_page(request, found, form=form, error=str(exc), status=400)
    record_for_chart(
        request,
        AuditEvent.Action.CREATE,
        payment,
        chart=found.chart,
        description=f"Payment of {plain_cents(payment.amount_cents)} on {found.number} started",
    )
    # The row is committed before the provider is called; the idempotency record of this POST
    # must commit with it, so a repeat of the POST finds this payment, not a second one.
    created(request)
    # The provider is asked only once the row (and this POST's idempotency record) committed:
    # a crash after the charge then leaves a pending payment to check, never a lost one.
    transaction.on_commit(lambda: services.attempt_payment(payment), robust=True)
    return redirect("billing:payment", pk=payment.pk)


def _payments(request: AuthedHttpRequest) -> Any:
    return Payment.objects.visible_to(request.user).filter(chart=request.chart)  # type: ignore[attr-defined]


@patient_section("billing")
@require_GET
def payment(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    found = get_object_or_404(_payments(request).select_related("invoice", "card"), pk=pk)
    return _page(request, "billing/payment.html", "invoices", payment=found)


@patient_section("billing")
@require_POST
def payment_check(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    """ "Check again" on a payment whose outcome is unknown (the provider timed out): the same
    idempotency key, so the provider answers with the charge it made, or makes it once."""
    found = get_object_or_404(_payments(request).select_related("invoice", "card"), pk=pk)
    found, _message = services.attempt_payment(found)
    record_for_chart(
        request,
        AuditEvent.Action.UPDATE,
        found,
        chart=found.chart,
        description=f"Payment {found.pk} checked: {found.status}",
    )
    return redirect("billing:payment", pk=found.pk)


# The provider's webhook ------------------------------------------------------------------------


@csrf_exempt
@require_POST
def webhook(request: AuthedHttpRequest) -> HttpResponse:
    """Signed provider events (no session): a bad signature or an old timestamp is refused
    before anything is read; each event id acts once."""
    provider = get_provider()
    if len(request.body) > 256 * 1024:
        return HttpResponseBadRequest("Too large", content_type="text/plain")
    try:
        event = provider.parse_webhook(request.body, request.headers.get("Stripe-Signature", ""))
    except WebhookError as exc:
        return HttpResponseBadRequest(str(exc), content_type="text/plain")
    services.handle_event(event, provider=provider.name)
    return HttpResponse("ok", content_type="text/plain")
