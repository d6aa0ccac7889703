"""Billing writes: invoices, the ledger, cards, payments, refunds and provider webhooks.

A payment is recorded once whatever happens. `start_payment` creates the `Payment` row
(pending) before the provider is called, in a transaction holding the invoice's row lock and
checking the open amount (pending payments count against it, so two tabs cannot pay the same
balance twice); the provider's idempotency key comes from the row, so every retry of that
attempt asks for the same charge. The outcome arrives by the browser's call
(`attempt_payment`) or the provider's webhook (`handle_event`), in either order, any number
of times: `record_success` / `record_failure` lock the row and act only on a pending payment,
and the ledger entry is one-to-one with the payment.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q, Sum
from django.utils import timezone

from .models import (
    Card,
    Invoice,
    InvoiceLine,
    LedgerEntry,
    Payment,
    ProviderCustomer,
    Refund,
    WebhookEvent,
)
from .money import format_cents
from .provider import CardDeclined, Event, ProviderError, get_provider

if TYPE_CHECKING:
    from accounts.models import User
    from patient_portal.models import Chart

logger = logging.getLogger(__name__)


class BillingError(Exception):
    """A billing action that cannot be done; the message is for the person who asked."""


# Reads ------------------------------------------------------------------------------------------


def chart_balance(chart: Chart | int) -> int:
    """What the chart owes now, in cents (negative: a credit): the running balance kept on
    its newest ledger entry, which `post_entry` keeps equal to the sum of the ledger."""
    chart_id = chart if isinstance(chart, int) else chart.pk
    latest = (
        LedgerEntry.objects.filter(chart_id=chart_id)
        .order_by("-occurred_at", "-pk")
        .values_list("balance_after_cents", flat=True)
        .first()
    )
    return int(latest or 0)


def ledger_sum(chart: Chart | int) -> int:
    """The balance recomputed from every entry (tests compare it with `chart_balance`)."""
    chart_id = chart if isinstance(chart, int) else chart.pk
    total = LedgerEntry.objects.filter(chart_id=chart_id).aggregate(s=Sum("amount_cents"))["s"]
    return int(total or 0)


def post_entry(*, chart_id: int, amount_cents: int, **fields: Any) -> LedgerEntry:
    """Append an entry to the chart's ledger with the balance after it.

    The chart's row is locked, so entries of one chart are appended one at a time, each at
    "now" (after every earlier one) and with the previous balance plus its amount: the
    balance is a cache of the ledger's sum, kept in the transaction that adds to the ledger.
    """
    with transaction.atomic():
        from patient_portal.models import Chart

        Chart.objects.select_for_update().filter(pk=chart_id).values_list("pk").first()
        latest = (
            LedgerEntry.objects.filter(chart_id=chart_id)
            .order_by("-occurred_at", "-pk")
            .values_list("occurred_at", "balance_after_cents")
            .first()
        )
        now = timezone.now()
        if latest is not None and latest[0] > now:  # a clock step back: keep the order
            now = latest[0]
        fields.pop("occurred_at", None)
        return LedgerEntry.objects.create(
            chart_id=chart_id,
            amount_cents=amount_cents,
            balance_after_cents=(latest[1] if latest else 0) + amount_cents,
            occurred_at=now,
            **fields,
        )


def invoice_paid_cents(invoice: Invoice) -> int:
    """Succeeded payments on the invoice, less what was refunded of them."""
    paid = Payment.objects.filter(invoice=invoice, status=Payment.Status.SUCCEEDED).aggregate(
        s=Sum("amount_cents")
    )["s"]
    refunded = Refund.objects.filter(
        payment__invoice=invoice, status=Refund.Status.SUCCEEDED
    ).aggregate(s=Sum("amount_cents"))["s"]
    return int(paid or 0) - int(refunded or 0)


def invoice_pending_cents(invoice: Invoice) -> int:
    pending = Payment.objects.filter(invoice=invoice, status=Payment.Status.PENDING).aggregate(
        s=Sum("amount_cents")
    )["s"]
    return int(pending or 0)


def invoice_open_cents(invoice: Invoice) -> int:
    """What may still be paid on the invoice (payments in progress count as paid)."""
    if invoice.status not in (Invoice.Status.OPEN, Invoice.Status.PAID):
        return 0
    return max(
        invoice.total_cents - invoice_paid_cents(invoice) - invoice_pending_cents(invoice), 0
    )


# Invoices ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LineData:
    service_date: dt.date
    description: str
    cpt_code: str
    icd10_codes: list[str]
    units: int
    amount_cents: int


def create_invoice(
    *, chart: Chart, lines: list[LineData], by: User | None, memo: str = "", issue: bool = False
) -> Invoice:
    """A draft invoice with its lines (issued at once with `issue=True`)."""
    if not lines:
        raise BillingError("Add at least one line to the invoice.")
    with transaction.atomic():
        invoice = Invoice.objects.create(
            chart=chart,
            memo=memo,
            created_by=by,
            total_cents=sum(line.amount_cents for line in lines),
        )
        InvoiceLine.objects.bulk_create(
            InvoiceLine(
                invoice=invoice,
                service_date=line.service_date,
                description=line.description,
                cpt_code=line.cpt_code,
                icd10_codes=",".join(line.icd10_codes),
                units=line.units,
                amount_cents=line.amount_cents,
            )
            for line in lines
        )
        if issue:
            invoice = issue_invoice(invoice=invoice, by=by)
    return invoice


def _locked_invoice(invoice_id: int) -> Invoice:
    return Invoice.objects.select_for_update().select_related("chart__clinic").get(pk=invoice_id)


def issue_invoice(*, invoice: Invoice, by: User | None) -> Invoice:
    """Draft -> open: the total is fixed from the lines and charged to the chart's ledger."""
    with transaction.atomic():
        locked = _locked_invoice(invoice.pk)
        if locked.status != Invoice.Status.DRAFT:
            raise BillingError("Only a draft invoice can be issued.")
        total = locked.lines.aggregate(s=Sum("amount_cents"))["s"] or 0
        if total <= 0:
            raise BillingError("Add at least one line to the invoice.")
        now = timezone.now()
        locked.status = Invoice.Status.OPEN
        locked.total_cents = int(total)
        locked.issued_at = now
        locked.due_on = locked.due_on or (timezone.localdate() + dt.timedelta(days=30))
        locked.save(update_fields=["status", "total_cents", "issued_at", "due_on"])
        post_entry(
            chart_id=locked.chart_id,
            kind=LedgerEntry.Kind.CHARGE,
            amount_cents=locked.total_cents,
            description=f"Invoice {locked.number}",
            occurred_at=now,
            invoice=locked,
            created_by=by,
        )
    return locked


def void_invoice(*, invoice: Invoice, by: User | None) -> Invoice:
    """Open -> void, when nothing is paid or in progress on it; the charge is reversed."""
    with transaction.atomic():
        locked = _locked_invoice(invoice.pk)
        if locked.status == Invoice.Status.DRAFT:
            locked.status = Invoice.Status.VOID
            locked.voided_at = timezone.now()
            locked.save(update_fields=["status", "voided_at"])
            return locked
        if locked.status != Invoice.Status.OPEN:
            raise BillingError("Only a draft or open invoice can be voided.")
        if invoice_paid_cents(locked) or invoice_pending_cents(locked):
            raise BillingError("Payments were made on this invoice: refund them before voiding.")
        now = timezone.now()
        locked.status = Invoice.Status.VOID
        locked.voided_at = now
        locked.save(update_fields=["status", "voided_at"])
        post_entry(
            chart_id=locked.chart_id,
            kind=LedgerEntry.Kind.ADJUSTMENT,
            amount_cents=-locked.total_cents,
            description=f"Invoice {locked.number} voided",
            occurred_at=now,
            invoice=locked,
            created_by=by,
        )
    return locked


def _refresh_invoice_status(invoice: Invoice) -> None:
    """Open <-> paid from what is paid now (the caller holds the invoice's lock)."""
    if invoice.status not in (Invoice.Status.OPEN, Invoice.Status.PAID):
        return
    paid = invoice_paid_cents(invoice)
    if paid > invoice.total_cents:  # never: start_payment and refunds keep this
        raise IntegrityError(f"Invoice {invoice.pk} paid beyond its total")
    status = Invoice.Status.PAID if paid == invoice.total_cents else Invoice.Status.OPEN
    if status != invoice.status:
        invoice.status = status
        invoice.paid_at = timezone.now() if status == Invoice.Status.PAID else None
        invoice.save(update_fields=["status", "paid_at"])


def add_adjustment(
    *, chart: Chart, amount_cents: int, description: str, by: User | None
) -> LedgerEntry:
    """A staff correction of the balance (negative: a credit or write-off)."""
    if amount_cents == 0:
        raise BillingError("An adjustment cannot be zero.")
    return post_entry(
        chart_id=chart.pk,
        kind=LedgerEntry.Kind.ADJUSTMENT,
        amount_cents=amount_cents,
        description=description[:200] or "Adjustment",
        created_by=by,
    )


# Cards ------------------------------------------------------------------------------------------


def ensure_customer(chart: Chart) -> ProviderCustomer:
    """The chart's customer at the provider, created once (the provider's idempotency key is
    the chart's, so two tabs at once get the same customer)."""
    provider = get_provider()
    found = ProviderCustomer.objects.filter(chart=chart, provider=provider.name).first()
    if found is not None:
        return found
    customer_id = provider.create_customer(reference=f"chart-{chart.pk}", name=chart.full_name)
    try:
        with transaction.atomic():
            return ProviderCustomer.objects.create(
                chart=chart, provider=provider.name, customer_id=customer_id
            )
    except IntegrityError:
        return ProviderCustomer.objects.get(chart=chart)


def add_card(*, chart: Chart, token: str, by: User | None) -> Card:
    """Attach the provider's payment-method token to the chart's customer and keep what may be
    shown (brand, last 4, expiry). The same token twice gives the same card."""
    existing = Card.objects.filter(
        chart=chart, provider_payment_method_id=token, removed_at__isnull=True
    ).first()
    if existing is not None:
        return existing
    customer = ensure_customer(chart)
    details = get_provider().attach_card(customer_id=customer.customer_id, token=token)
    with transaction.atomic():
        has_default = (
            Card.objects.select_for_update()
            .filter(chart=chart, is_default=True, removed_at__isnull=True)
            .exists()
        )
        try:
            with transaction.atomic():
                return Card.objects.create(
                    chart=chart,
                    provider_payment_method_id=details.payment_method_id,
                    brand=details.brand,
                    last4=details.last4,
                    exp_month=details.exp_month,
                    exp_year=details.exp_year,
                    is_default=not has_default,
                    added_by=by,
                )
        except IntegrityError:
            return Card.objects.get(provider_payment_method_id=details.payment_method_id)


def set_default_card(*, card: Card) -> None:
    with transaction.atomic():
        Card.objects.select_for_update().filter(chart_id=card.chart_id, is_default=True).update(
            is_default=False
        )
        Card.objects.filter(pk=card.pk).update(is_default=True)


def remove_card(*, card: Card) -> None:
    """Forget the card here and detach it at the provider (a provider error is logged: the
    card is unusable from the portal either way)."""
    with transaction.atomic():
        Card.objects.filter(pk=card.pk).update(removed_at=timezone.now(), is_default=False)
        following = (
            Card.objects.filter(chart_id=card.chart_id, removed_at__isnull=True)
            .order_by("-created_at")
            .first()
        )
        if card.is_default and following is not None:
            Card.objects.filter(pk=following.pk).update(is_default=True)
    try:
        get_provider().detach_card(payment_method_id=card.provider_payment_method_id)
    except ProviderError as exc:
        logger.warning("Detaching card %s failed: %s", card.pk, exc.code or exc.message)


# Payments ---------------------------------------------------------------------------------------


def start_payment(*, invoice: Invoice, card: Card, amount_cents: int, by: User | None) -> Payment:
    """The pending Payment row of a new attempt, never beyond what is still open."""
    if amount_cents <= 0:
        raise BillingError("Enter an amount above zero.")
    if card.chart_id != invoice.chart_id or card.removed_at is not None:
        raise BillingError("Choose one of this chart's cards.")
    if card.is_expired:
        raise BillingError("That card has expired. Add a card with a later expiry date.")
    with transaction.atomic():
        locked = _locked_invoice(invoice.pk)
        if locked.status != Invoice.Status.OPEN:
            raise BillingError(f"Invoice {locked.number} is {locked.get_status_display().lower()}.")
        open_cents = invoice_open_cents(locked)
        if amount_cents > open_cents:
            if open_cents == 0:
                raise BillingError(
                    "Nothing is left to pay on this invoice (a payment may be in progress)."
                )
            raise BillingError(f"You can pay at most {format_cents(open_cents)} on this invoice.")
        return Payment.objects.create(
            chart_id=locked.chart_id,
            invoice=locked,
            card=card,
            amount_cents=amount_cents,
            currency=settings.BILLING_CURRENCY,
            provider=get_provider().name,
            created_by=by,
        )


def attempt_payment(payment: Payment) -> tuple[Payment, str]:
    """Ask the provider for the payment's charge (again, with the same idempotency key).

    Returns the payment as it stands after and a message: "" when it succeeded, the decline's
    reason, or, when the outcome is unknown (a timeout), words saying so — the payment stays
    pending until a retry or the webhook settles it.
    """
    if payment.status != Payment.Status.PENDING:
        return payment, payment.failure_message
    card = payment.card
    customer = ProviderCustomer.objects.filter(chart_id=payment.chart_id).first()
    if card is None or customer is None:
        return record_failure(payment=payment, message="The card is no longer on file."), (
            "The card is no longer on file."
        )
    try:
        result = get_provider().charge(
            customer_id=customer.customer_id,
            payment_method_id=card.provider_payment_method_id,
            amount_cents=payment.amount_cents,
            currency=payment.currency,
            idempotency_key=payment.idempotency_key,
            metadata={"payment_key": payment.key, "chart": str(payment.chart_id)},
        )
    except CardDeclined as exc:
        failed = record_failure(
            payment=payment, message=exc.message, provider_payment_id=exc.provider_payment_id
        )
        return failed, failed.failure_message or exc.message
    except ProviderError as exc:
        if exc.transient:
            return payment, exc.message
        failed = record_failure(payment=payment, message=exc.message)
        return failed, exc.message
    done = record_success(
        payment=payment,
        provider_payment_id=result.provider_payment_id,
        amount_cents=payment.amount_cents,
    )
    return done, done.failure_message


def _lock_payment(payment: Payment) -> tuple[Payment, Invoice | None]:
    """Lock the invoice (first, as start_payment does), then the payment."""
    invoice = _locked_invoice(payment.invoice_id) if payment.invoice_id else None
    locked = Payment.objects.select_for_update().get(pk=payment.pk)
    return locked, invoice


def record_success(*, payment: Payment, provider_payment_id: str, amount_cents: int) -> Payment:
    """pending -> succeeded with its ledger entry; a no-op for a payment already settled."""
    with transaction.atomic():
        locked, invoice = _lock_payment(payment)
        if locked.status == Payment.Status.SUCCEEDED:
            return locked
        if amount_cents != locked.amount_cents:
            logger.error("Provider amount %s differs on payment %s", amount_cents, locked.pk)
            return locked
        # A decline we recorded that the provider later reports as paid: the provider is right.
        locked.status = Payment.Status.SUCCEEDED
        locked.provider_payment_id = provider_payment_id or locked.provider_payment_id
        locked.failure_message = ""
        locked.completed_at = timezone.now()
        locked.save(
            update_fields=["status", "provider_payment_id", "failure_message", "completed_at"]
        )
        label = f"Payment — {locked.card.label}" if locked.card else "Payment"
        post_entry(
            chart_id=locked.chart_id,
            kind=LedgerEntry.Kind.PAYMENT,
            amount_cents=-locked.amount_cents,
            description=f"{label}{f' on {invoice.number}' if invoice else ''}",
            occurred_at=locked.completed_at,
            invoice=invoice,
            payment=locked,
            created_by=locked.created_by,
        )
        if invoice is not None:
            _refresh_invoice_status(invoice)
        transaction.on_commit(lambda: queue_receipt(locked.pk))
    return locked


def record_failure(*, payment: Payment, message: str, provider_payment_id: str = "") -> Payment:
    """pending -> failed (declined); a succeeded payment stays succeeded."""
    with transaction.atomic():
        locked, _invoice = _lock_payment(payment)
        if locked.status != Payment.Status.PENDING:
            return locked
        locked.status = Payment.Status.FAILED
        locked.failure_message = message[:300]
        locked.completed_at = timezone.now()
        fields = ["status", "failure_message", "completed_at"]
        if (
            provider_payment_id
            and not Payment.objects.filter(provider_payment_id=provider_payment_id).exists()
        ):
            locked.provider_payment_id = provider_payment_id
            fields.append("provider_payment_id")
        locked.save(update_fields=fields)
    return locked


def queue_receipt(payment_id: int) -> None:
    from .tasks import send_payment_receipt

    send_payment_receipt.enqueue(payment_id)


def handle_event(event: Event, *, provider: str) -> bool:
    """Act on a verified provider event once (by event id). False when seen before."""
    with transaction.atomic():
        try:
            with transaction.atomic():
                WebhookEvent.objects.create(provider=provider, event_id=event.id, type=event.type)
        except IntegrityError:
            return False
        if event.type not in {"payment_intent.succeeded", "payment_intent.payment_failed"}:
            return True
        metadata = event.data.get("metadata") or {}
        key = str(metadata.get("payment_key", ""))
        payment = Payment.objects.filter(
            Q(key=key) if key else Q(provider_payment_id=str(event.data.get("id", "")))
        ).first()
        if payment is None:
            logger.warning("Webhook %s names no payment of ours", event.id)
            return True
        if event.type == "payment_intent.succeeded":
            record_success(
                payment=payment,
                provider_payment_id=str(event.data.get("id", "")),
                amount_cents=int(event.data.get("amount", 0)),
            )
        else:
            error = event.data.get("last_payment_error") or {}
            code = str(error.get("decline_code") or error.get("code") or "card_declined")
            record_failure(
                payment=payment,
                message=CardDeclined(code).message,
                provider_payment_id=str(event.data.get("id", "")),
            )
    return True


# Refunds ----------------------------------------------------------------------------------------


def refund_payment(*, payment: Payment, amount_cents: int, by: User | None) -> Refund:
    """Give back part or all of a succeeded payment (staff): a pending Refund row first, the
    provider's refund with its idempotency key, then the ledger entry."""
    if amount_cents <= 0:
        raise BillingError("Enter an amount above zero.")
    with transaction.atomic():
        locked, _invoice = _lock_payment(payment)
        if locked.status != Payment.Status.SUCCEEDED or not locked.provider_payment_id:
            raise BillingError("Only a completed payment can be refunded.")
        taken = (
            locked.refunds.exclude(status=Refund.Status.FAILED).aggregate(s=Sum("amount_cents"))[
                "s"
            ]
            or 0
        )
        if amount_cents > locked.amount_cents - taken:
            raise BillingError(
                f"At most {format_cents(locked.amount_cents - taken)} can be refunded."
            )
        refund = Refund.objects.create(payment=locked, amount_cents=amount_cents, created_by=by)
    try:
        result = get_provider().refund(
            provider_payment_id=locked.provider_payment_id or "",
            amount_cents=amount_cents,
            idempotency_key=refund.idempotency_key,
        )
    except ProviderError as exc:
        if not exc.transient:
            Refund.objects.filter(pk=refund.pk, status=Refund.Status.PENDING).update(
                status=Refund.Status.FAILED, failure_message=exc.message[:300]
            )
        raise BillingError(exc.message) from exc
    with transaction.atomic():
        locked, invoice = _lock_payment(payment)
        settled = Refund.objects.select_for_update().get(pk=refund.pk)
        if settled.status == Refund.Status.PENDING:
            settled.status = Refund.Status.SUCCEEDED
            settled.provider_refund_id = result.provider_refund_id
            settled.save(update_fields=["status", "provider_refund_id"])
            post_entry(
                chart_id=locked.chart_id,
                kind=LedgerEntry.Kind.REFUND,
                amount_cents=amount_cents,
                description=f"Refund{f' on {invoice.number}' if invoice else ''}",
                invoice=invoice,
                refund=settled,
                created_by=by,
            )
            if invoice is not None:
                _refresh_invoice_status(invoice)
    return settled
