"""Property: any sequence of charges, payments, refunds and adjustments keeps the balance (the
running balance cached on each entry) equal to the sum of the ledger and to a plain model of
it, and never pays an invoice beyond its total. The provider is an in-memory fake (the HTTP
provider is tested elsewhere)."""

from __future__ import annotations

import datetime as dt
import itertools

from django.db import transaction
from django.db.models import Sum
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from billing import services
from billing.models import Card, Invoice, LedgerEntry, Payment, ProviderCustomer
from billing.provider import CardDetails, ChargeResult, PaymentProvider, RefundResult, use_provider

ids = itertools.count(1)


class FakeProvider(PaymentProvider):
    name = "fake"

    def create_customer(self, *, reference, email="", name=""):
        return f"cus_{reference}"

    def attach_card(self, *, customer_id, token):
        return CardDetails(token, "visa", "4242", 12, 2039)

    def detach_card(self, *, payment_method_id):
        return None

    def charge(self, **kwargs):
        return ChargeResult(f"pi_{next(ids)}", "succeeded")

    def refund(self, **kwargs):
        return RefundResult(f"re_{next(ids)}", "succeeded")


cents = st.integers(min_value=1, max_value=500_00)
operation = st.one_of(
    st.tuples(st.just("charge"), cents),
    st.tuples(st.just("pay"), st.integers(0, 5), cents),
    st.tuples(st.just("refund"), st.integers(0, 5), cents),
    st.tuples(st.just("adjust"), st.integers(-500_00, 500_00).filter(bool)),
    st.tuples(st.just("void"), st.integers(0, 5)),
)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(operations=st.lists(operation, max_size=14))
def test_the_balance_is_the_ledger_and_invoices_are_never_overpaid(family, operations):
    use_provider(FakeProvider())
    try:
        with transaction.atomic():
            run(family, operations)
            transaction.set_rollback(True)
    finally:
        use_provider(None)


def run(family, operations) -> None:
    chart = family.mary_a
    ProviderCustomer.objects.create(chart=chart, provider="fake", customer_id=f"cus_{next(ids)}")
    card = Card.objects.create(
        chart=chart,
        provider_payment_method_id=f"pm_{next(ids)}",
        brand="visa",
        last4="4242",
        exp_month=12,
        exp_year=2039,
        is_default=True,
    )
    expected = 0
    invoices: list[Invoice] = []
    payments: list[Payment] = []
    for op in operations:
        kind = op[0]
        try:
            if kind == "charge":
                invoices.append(
                    services.create_invoice(
                        chart=chart,
                        by=None,
                        issue=True,
                        lines=[
                            services.LineData(dt.date(2026, 1, 1), "Visit", "99213", [], 1, op[1])
                        ],
                    )
                )
                expected += op[1]
            elif kind == "pay" and invoices:
                invoice = invoices[op[1] % len(invoices)]
                payment = services.start_payment(
                    invoice=invoice, card=card, amount_cents=op[2], by=None
                )
                payment, _ = services.attempt_payment(payment)
                payments.append(payment)
                expected -= op[2]
            elif kind == "refund" and payments:
                payment = payments[op[1] % len(payments)]
                services.refund_payment(payment=payment, amount_cents=op[2], by=None)
                expected += op[2]
            elif kind == "adjust":
                services.add_adjustment(
                    chart=chart, amount_cents=op[1], description="Adjustment", by=None
                )
                expected += op[1]
            elif kind == "void" and invoices:
                invoice = invoices[op[1] % len(invoices)]
                was_open = Invoice.objects.get(pk=invoice.pk).status == Invoice.Status.OPEN
                services.void_invoice(invoice=invoice, by=None)
                if was_open:
                    expected -= invoice.total_cents
        except services.BillingError:
            pass  # refused (beyond the open amount, beyond the payment, paid invoice…): no change
        ledger = LedgerEntry.objects.filter(chart=chart).aggregate(s=Sum("amount_cents"))["s"] or 0
        # The cached running balance (on each entry) is the ledger's sum, entry by entry.
        assert services.chart_balance(chart) == services.ledger_sum(chart) == ledger == expected
        running = 0
        for entry in LedgerEntry.objects.filter(chart=chart).order_by("occurred_at", "pk"):
            running += entry.amount_cents
            assert entry.balance_after_cents == running
        for invoice in Invoice.objects.filter(chart=chart):
            paid = services.invoice_paid_cents(invoice)
            assert 0 <= paid <= invoice.total_cents
            if invoice.status == Invoice.Status.PAID:
                assert paid == invoice.total_cents
            if invoice.status == Invoice.Status.OPEN:
                assert paid < invoice.total_cents
