"""Billing of a chart: invoices, the ledger, payments and refunds, cards on file, webhooks.

Money is integer cents (billing/money.py). The balance is never stored: it is the sum of the
chart's `LedgerEntry.amount_cents` (charges and refunds positive, payments negative,
adjustments either way). Every model hanging off a chart has `visible_to(user)` built on
`Chart.objects.visible_to(user)`; staff writes go through `editable_by(user)`.
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Self, TypeVar

from django.conf import settings
from django.db import models
from django.db.models import Q, Sum
from django.utils import timezone

from invites.models import Clinic
from patient_portal.models import Chart

from .validation import validate_cpt, validate_icd10_list

if TYPE_CHECKING:
    from accounts.models import User


_M = TypeVar("_M", bound=models.Model)


class ChartScopedQuerySet(models.QuerySet[_M]):
    def visible_to(self, user: User) -> Self:
        """Rows of the charts the user may read (own, live proxy grants, their clinics')."""
        return self.filter(chart__in=Chart.objects.visible_to(user))

    def in_portal_of(self, user: User) -> Self:
        """The patient side only: rows of the user's own and live-proxy charts."""
        return self.filter(chart__in=Chart.objects.in_portal_of(user))

    def editable_by(self, user: User) -> Self:
        """Rows staff of the chart's clinic may change (issue, void, refund, adjust)."""
        return self.filter(chart__in=Chart.objects.editable_by(user))


class BillingProfile(models.Model):
    """The clinic's identifiers printed on invoices and superbills."""

    clinic = models.OneToOneField(Clinic, on_delete=models.CASCADE, related_name="billing_profile")
    legal_name = models.CharField("legal name", max_length=200, blank=True)
    address_line1 = models.CharField("address", max_length=200, blank=True)
    address_line2 = models.CharField("address line 2", max_length=200, blank=True)
    city = models.CharField(max_length=100, blank=True)
    state = models.CharField(max_length=2, blank=True)
    zip_code = models.CharField("ZIP code", max_length=10, blank=True)
    tax_id = models.CharField("tax ID (EIN)", max_length=10, blank=True)
    npi = models.CharField("group NPI", max_length=10, blank=True)
    phone = models.CharField(max_length=20, blank=True)
    updated_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"Billing profile of {self.clinic}"

    @classmethod
    def for_clinic(cls, clinic: Clinic) -> BillingProfile:
        return cls.objects.filter(clinic=clinic).first() or cls(clinic=clinic)

    @property
    def display_name(self) -> str:
        return self.legal_name or self.clinic.name

    @property
    def address(self) -> str:
        city = ", ".join(p for p in (self.city, f"{self.state} {self.zip_code}".strip()) if p)
        return "\n".join(p for p in (self.address_line1, self.address_line2, city) if p)


class InvoiceQuerySet(ChartScopedQuerySet["Invoice"]):
    pass


class Invoice(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        OPEN = "open", "Open"
        PAID = "paid", "Paid"
        VOID = "void", "Void"

    chart = models.ForeignKey(Chart, on_delete=models.PROTECT, related_name="invoices")
    status = models.CharField(max_length=5, choices=Status.choices, default=Status.DRAFT)
    # The sum of the lines, fixed when the invoice is issued (lines cannot change after).
    total_cents = models.BigIntegerField(default=0)
    memo = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    issued_at = models.DateTimeField(null=True, blank=True)
    due_on = models.DateField(null=True, blank=True)
    voided_at = models.DateTimeField(null=True, blank=True)
    paid_at = models.DateTimeField(null=True, blank=True)

    objects = InvoiceQuerySet.as_manager()

    class Meta:
        ordering = ["-issued_at", "-pk"]
        indexes = [
            models.Index(fields=["chart", "status"]),
            models.Index(fields=["status", "issued_at"]),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(total_cents__gte=0), name="invoice_total_positive")
        ]

    def __str__(self) -> str:
        return self.number

    @property
    def number(self) -> str:
        return f"INV-{self.pk or 0:06d}"

    @property
    def is_payable(self) -> bool:
        return self.status == self.Status.OPEN


class InvoiceLine(models.Model):
    invoice = models.ForeignKey(Invoice, on_delete=models.CASCADE, related_name="lines")
    service_date = models.DateField("date of service")
    description = models.CharField(max_length=200)
    cpt_code = models.CharField("CPT code", max_length=5, validators=[validate_cpt])
    # Comma-separated, normalised (upper case, deduplicated) by the form.
    icd10_codes = models.CharField(
        "ICD-10 codes", max_length=100, blank=True, validators=[validate_icd10_list]
    )
    units = models.PositiveSmallIntegerField(default=1)
    amount_cents = models.BigIntegerField()

    class Meta:
        ordering = ["service_date", "pk"]
        constraints = [
            models.CheckConstraint(condition=Q(amount_cents__gt=0), name="line_amount_positive")
        ]

    def __str__(self) -> str:
        return f"{self.cpt_code} {self.description}"

    @property
    def icd10_list(self) -> list[str]:
        return [c for c in self.icd10_codes.split(",") if c]


class ProviderCustomer(models.Model):
    """The chart's customer record at the payment provider (cards hang off it)."""

    chart = models.OneToOneField(Chart, on_delete=models.CASCADE, related_name="billing_customer")
    provider = models.CharField(max_length=20)
    customer_id = models.CharField(max_length=100, unique=True)
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"{self.provider} customer of chart {self.chart_id}"


class CardQuerySet(ChartScopedQuerySet["Card"]):
    pass


class Card(models.Model):
    """A card on file: only the provider's token and what may be shown (brand, last 4)."""

    chart = models.ForeignKey(Chart, on_delete=models.CASCADE, related_name="cards")
    provider_payment_method_id = models.CharField(max_length=100, unique=True)
    brand = models.CharField(max_length=20)
    last4 = models.CharField(max_length=4)
    exp_month = models.PositiveSmallIntegerField()
    exp_year = models.PositiveSmallIntegerField()
    is_default = models.BooleanField(default=False)
    added_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    removed_at = models.DateTimeField(null=True, blank=True)

    objects = CardQuerySet.as_manager()

    class Meta:
        ordering = ["-is_default", "-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["chart"],
                condition=Q(is_default=True, removed_at__isnull=True),
                name="one_default_card_per_chart",
            )
        ]

    def __str__(self) -> str:
        return self.label

    @property
    def label(self) -> str:
        return f"{self.brand_label} ending {self.last4}"

    @property
    def brand_label(self) -> str:
        names = {"visa": "Visa", "mastercard": "Mastercard", "amex": "American Express"}
        return names.get(self.brand, self.brand.title() or "Card")

    @property
    def expiry(self) -> str:
        return f"{self.exp_month:02d}/{self.exp_year % 100:02d}"

    @property
    def is_expired(self) -> bool:
        today = timezone.localdate()
        return (self.exp_year, self.exp_month) < (today.year, today.month)


def new_idempotency_key() -> str:
    return uuid.uuid4().hex


class PaymentQuerySet(ChartScopedQuerySet["Payment"]):
    pass


class Payment(models.Model):
    """One attempt to take money, created *before* the provider is called.

    pending -> succeeded | failed, only through services (under select_for_update). The
    provider's idempotency key is derived from the row, so every retry of this attempt (a
    timeout, "Check again", a worker) asks the provider for the same charge.
    """

    class Status(models.TextChoices):
        PENDING = "pending", "Processing"
        SUCCEEDED = "succeeded", "Paid"
        FAILED = "failed", "Declined"

    chart = models.ForeignKey(Chart, on_delete=models.PROTECT, related_name="payments")
    invoice = models.ForeignKey(
        Invoice, null=True, blank=True, on_delete=models.PROTECT, related_name="payments"
    )
    card = models.ForeignKey(Card, null=True, on_delete=models.SET_NULL, related_name="payments")
    amount_cents = models.BigIntegerField()
    currency = models.CharField(max_length=3, default="usd")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    key = models.CharField(max_length=64, unique=True, default=new_idempotency_key)
    provider = models.CharField(max_length=20)
    provider_payment_id = models.CharField(max_length=100, null=True, blank=True, unique=True)
    failure_message = models.CharField(max_length=300, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    completed_at = models.DateTimeField(null=True, blank=True)
    receipt_sent = models.BooleanField(default=False)

    objects = PaymentQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.CheckConstraint(condition=Q(amount_cents__gt=0), name="payment_positive")
        ]
        indexes = [models.Index(fields=["invoice", "status"])]

    def __str__(self) -> str:
        return f"Payment {self.pk} ({self.status})"

    @property
    def idempotency_key(self) -> str:
        return f"portal-payment-{self.key}"

    @property
    def refunded_cents(self) -> int:
        return int(
            self.refunds.filter(status=Refund.Status.SUCCEEDED).aggregate(s=Sum("amount_cents"))[
                "s"
            ]
            or 0
        )


class Refund(models.Model):
    """Money given back on a succeeded payment (staff), created before the provider is called."""

    class Status(models.TextChoices):
        PENDING = "pending", "Processing"
        SUCCEEDED = "succeeded", "Refunded"
        FAILED = "failed", "Failed"

    payment = models.ForeignKey(Payment, on_delete=models.PROTECT, related_name="refunds")
    amount_cents = models.BigIntegerField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    key = models.CharField(max_length=64, unique=True, default=new_idempotency_key)
    provider_refund_id = models.CharField(max_length=100, null=True, blank=True, unique=True)
    failure_message = models.CharField(max_length=300, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(amount_cents__gt=0), name="refund_positive")
        ]

    def __str__(self) -> str:
        return f"Refund {self.pk} of payment {self.payment_id}"

    @property
    def idempotency_key(self) -> str:
        return f"portal-refund-{self.key}"


class LedgerEntryQuerySet(ChartScopedQuerySet["LedgerEntry"]):
    pass


class LedgerEntry(models.Model):
    """One line of a chart's account; the balance is the sum of `amount_cents`."""

    class Kind(models.TextChoices):
        CHARGE = "charge", "Charge"
        PAYMENT = "payment", "Payment"
        REFUND = "refund", "Refund"
        ADJUSTMENT = "adjustment", "Adjustment"

    chart = models.ForeignKey(Chart, on_delete=models.PROTECT, related_name="ledger_entries")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    # Positive: the patient owes more (charge, refund); negative: less (payment, credit).
    amount_cents = models.BigIntegerField()
    # The chart's balance right after this entry: the sum of the ledger up to it, written by
    # services.post_entry under the chart's lock (Billing History and the balance read it
    # instead of summing 100,000 rows; tests check it against the sum).
    balance_after_cents = models.BigIntegerField(default=0)
    description = models.CharField(max_length=200)
    occurred_at = models.DateTimeField(default=timezone.now)
    invoice = models.ForeignKey(
        Invoice, null=True, blank=True, on_delete=models.PROTECT, related_name="ledger_entries"
    )
    payment = models.OneToOneField(
        Payment, null=True, blank=True, on_delete=models.PROTECT, related_name="ledger_entry"
    )
    refund = models.OneToOneField(
        Refund, null=True, blank=True, on_delete=models.PROTECT, related_name="ledger_entry"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    objects = LedgerEntryQuerySet.as_manager()

    class Meta:
        ordering = ["-occurred_at", "-pk"]
        verbose_name_plural = "ledger entries"
        indexes = [
            # The history page (newest first, by chart) and the balance sum read only this.
            models.Index(fields=["chart", "occurred_at", "id"]),
        ]
        constraints = [
            # An invoice is charged once (issuing twice cannot add a second charge).
            models.UniqueConstraint(
                fields=["invoice"],
                condition=Q(kind="charge"),
                name="one_charge_per_invoice",
            ),
            models.CheckConstraint(condition=~Q(amount_cents=0), name="ledger_entry_not_zero"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.amount_cents} on chart {self.chart_id}"


class WebhookEvent(models.Model):
    """A provider event, stored in the transaction that acts on it: each event id acts once."""

    provider = models.CharField(max_length=20)
    event_id = models.CharField(max_length=100)
    type = models.CharField(max_length=100)
    received_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["provider", "event_id"], name="one_webhook_event")
        ]

    def __str__(self) -> str:
        return f"{self.provider} {self.type} {self.event_id}"
