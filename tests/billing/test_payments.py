"""A payment is recorded once whatever happens: double submits, retries after a timeout,
webhooks before the browser returns, twice, or forged."""

from __future__ import annotations

import time

import pytest
from django.urls import reverse

from billing import services
from billing.models import Invoice, LedgerEntry, Payment, WebhookEvent
from billing.provider import TestProvider, use_provider
from tests.billing.conftest import events, signed, tokenise


def pay(client, invoice, card, amount: str, key: str = "k" * 32):
    return client.post(
        reverse("billing:pay", args=[invoice.pk]),
        {"amount": amount, "card": card.pk, "idempotency_key": key},
    )


@pytest.fixture
def mary_client(client, billing):
    client.force_login(billing.family.mary)
    from patient_portal.selectors import SESSION_CHART

    session = client.session
    session[SESSION_CHART] = billing.family.mary_a.pk
    session.save()
    return client


def test_it_pays_part_of_an_invoice(mary_client, billing, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = pay(mary_client, billing.invoice, billing.card, "50.00")
    payment = Payment.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("billing:payment", args=[payment.pk])
    assert payment.status == Payment.Status.SUCCEEDED
    assert services.chart_balance(billing.family.mary_a) == 20000 - 5000
    billing.invoice.refresh_from_db()
    assert billing.invoice.status == Invoice.Status.OPEN
    page = mary_client.get(response["Location"])
    assert "your payment of $50.00" in page.content.decode()


def test_a_double_submit_pays_once(mary_client, billing, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        first = pay(mary_client, billing.invoice, billing.card, "200.00")
    with django_capture_on_commit_callbacks(execute=True):
        second = pay(mary_client, billing.invoice, billing.card, "200.00")
    assert first["Location"] == second["Location"]
    assert Payment.objects.count() == 1
    assert LedgerEntry.objects.filter(kind="payment").count() == 1
    assert services.chart_balance(billing.family.mary_a) == 0
    billing.invoice.refresh_from_db()
    assert billing.invoice.status == Invoice.Status.PAID


def test_it_never_pays_beyond_the_open_amount(
    mary_client, billing, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = pay(mary_client, billing.invoice, billing.card, "200.01")
    assert response.status_code == 400
    assert "at most $200.00" in response.content.decode()
    assert not Payment.objects.exists()
    with django_capture_on_commit_callbacks(execute=True):
        pay(mary_client, billing.invoice, billing.card, "150.00", key="a" * 32)
    with django_capture_on_commit_callbacks(execute=True):
        response = pay(mary_client, billing.invoice, billing.card, "60.00", key="b" * 32)
    assert "at most $50.00" in response.content.decode()


def test_a_decline_says_why_and_records_nothing(
    mary_client, billing, provider_server, django_capture_on_commit_callbacks
):
    poor = services.add_card(
        chart=billing.family.mary_a, token=tokenise(provider_server, "4000000000009995"), by=None
    )
    with django_capture_on_commit_callbacks(execute=True):
        response = pay(mary_client, billing.invoice, poor, "20.00")
    payment = Payment.objects.get()
    assert payment.status == Payment.Status.FAILED
    page = mary_client.get(response["Location"]).content.decode()
    assert "insufficient funds" in page
    assert services.chart_balance(billing.family.mary_a) == 20000
    assert not LedgerEntry.objects.filter(kind="payment").exists()


def test_a_retry_after_a_provider_timeout_pays_once(
    mary_client, billing, provider_server, django_capture_on_commit_callbacks
):
    slow = services.add_card(
        chart=billing.family.mary_a, token=tokenise(provider_server, "4000000000000119"), by=None
    )
    with django_capture_on_commit_callbacks(execute=True):
        response = pay(mary_client, billing.invoice, slow, "75.00")
    payment = Payment.objects.get()
    # The provider charged but answered too late: the outcome is unknown, so still pending.
    assert payment.status == Payment.Status.PENDING
    page = mary_client.get(response["Location"]).content.decode()
    assert "Check again" in page
    # Meanwhile the balance is what the ledger says (no payment recorded yet) and the open
    # amount counts the payment in progress.
    assert services.chart_balance(billing.family.mary_a) == 20000
    assert services.invoice_open_cents(billing.invoice) == 20000 - 7500
    mary_client.post(reverse("billing:payment_check", args=[payment.pk]))
    mary_client.post(reverse("billing:payment_check", args=[payment.pk]))
    payment.refresh_from_db()
    assert payment.status == Payment.Status.SUCCEEDED
    intents = [
        e
        for e in events(provider_server)
        if e["data"]["object"]["metadata"].get("payment_key") == payment.key
    ]
    assert len(intents) == 1  # the provider made one charge for all three attempts
    assert LedgerEntry.objects.filter(kind="payment").count() == 1
    assert services.chart_balance(billing.family.mary_a) == 20000 - 7500


class WebhookFirst(TestProvider):
    """The provider's webhook reaches the portal before the charge's own answer does."""

    def __init__(self, client, server) -> None:
        super().__init__()
        self.client, self.server = client, server

    def charge(self, **kwargs):
        result = super().charge(**kwargs)
        event = [
            e
            for e in events(self.server)
            if e["data"]["object"]["id"] == result.provider_payment_id
        ][-1]
        payload, signature = signed(event)
        response = self.client.post(
            reverse("billing_webhooks:provider"),
            payload,
            content_type="application/json",
            headers={"stripe-signature": signature},
        )
        assert response.status_code == 200
        return result


def test_a_webhook_before_the_redirect_pays_once(
    mary_client, billing, provider_server, client, django_capture_on_commit_callbacks
):
    use_provider(WebhookFirst(client, provider_server))
    with django_capture_on_commit_callbacks(execute=True):
        pay(mary_client, billing.invoice, billing.card, "120.00")
    payment = Payment.objects.get()
    assert payment.status == Payment.Status.SUCCEEDED
    assert WebhookEvent.objects.count() == 1
    assert LedgerEntry.objects.filter(kind="payment").count() == 1
    assert services.chart_balance(billing.family.mary_a) == 8000


def test_a_webhook_twice_acts_once(
    mary_client, billing, provider_server, client, django_capture_on_commit_callbacks
):
    slow = services.add_card(
        chart=billing.family.mary_a, token=tokenise(provider_server, "4000000000000119"), by=None
    )
    with django_capture_on_commit_callbacks(execute=True):
        pay(mary_client, billing.invoice, slow, "30.00")
    payment = Payment.objects.get()
    assert payment.status == Payment.Status.PENDING
    event = [
        e
        for e in events(provider_server)
        if e["data"]["object"]["metadata"].get("payment_key") == payment.key
    ][0]
    for _ in range(2):
        payload, signature = signed(event)
        response = client.post(
            reverse("billing_webhooks:provider"),
            payload,
            content_type="application/json",
            headers={"stripe-signature": signature},
        )
        assert response.status_code == 200
    payment.refresh_from_db()
    assert payment.status == Payment.Status.SUCCEEDED
    assert WebhookEvent.objects.count() == 1
    assert LedgerEntry.objects.filter(kind="payment").count() == 1
    # The browser's own retry afterwards changes nothing.
    mary_client.post(reverse("billing:payment_check", args=[payment.pk]))
    assert LedgerEntry.objects.filter(kind="payment").count() == 1
    assert services.chart_balance(billing.family.mary_a) == 17000


def test_a_replayed_webhook_with_a_bad_signature_is_refused(
    mary_client, billing, provider_server, client, django_capture_on_commit_callbacks
):
    slow = services.add_card(
        chart=billing.family.mary_a, token=tokenise(provider_server, "4000000000000119"), by=None
    )
    with django_capture_on_commit_callbacks(execute=True):
        pay(mary_client, billing.invoice, slow, "30.00")
    payment = Payment.objects.get()
    event = [
        e
        for e in events(provider_server)
        if e["data"]["object"]["metadata"].get("payment_key") == payment.key
    ][0]
    url = reverse("billing_webhooks:provider")
    payload, _good = signed(event)
    _p, wrong_secret = signed(event, secret="whsec_attacker")
    _p, stale = signed(event, timestamp=int(time.time()) - 3600)
    for header in (wrong_secret, stale, "", "t=abc,v1=zz", f"{_good[:-2]}00"):
        response = client.post(
            url, payload, content_type="application/json", headers={"stripe-signature": header}
        )
        assert response.status_code == 400
    assert not WebhookEvent.objects.exists()
    payment.refresh_from_db()
    assert payment.status == Payment.Status.PENDING
    # The genuine event, then a replay of it with a tampered body: one payment.
    client.post(url, payload, content_type="application/json", headers={"stripe-signature": _good})
    tampered = payload.replace(b'"amount": 3000', b'"amount": 1')
    response = client.post(
        url, tampered, content_type="application/json", headers={"stripe-signature": _good}
    )
    assert response.status_code == 400
    assert LedgerEntry.objects.filter(kind="payment").count() == 1
    assert services.chart_balance(billing.family.mary_a) == 17000


def test_a_refund_goes_back_on_the_ledger_and_reopens_the_invoice(
    mary_client, billing, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        pay(mary_client, billing.invoice, billing.card, "200.00")
    payment = Payment.objects.get()
    services.refund_payment(payment=payment, amount_cents=5000, by=billing.family.clinics.cadmin)
    billing.invoice.refresh_from_db()
    assert billing.invoice.status == Invoice.Status.OPEN
    assert services.chart_balance(billing.family.mary_a) == 5000
    with pytest.raises(services.BillingError, match="At most \\$150.00"):
        services.refund_payment(payment=payment, amount_cents=15001, by=None)


def test_a_receipt_is_emailed_only_with_consent_and_says_no_diagnosis(
    mary_client, billing, mailoutbox, django_capture_on_commit_callbacks
):
    from patient_portal.models import PatientPreferences

    with django_capture_on_commit_callbacks(execute=True):
        pay(mary_client, billing.invoice, billing.card, "10.00", key="c" * 32)
    assert mailoutbox == []
    PatientPreferences.objects.create(user=billing.family.mary, email_consent=True)
    with django_capture_on_commit_callbacks(execute=True):
        pay(mary_client, billing.invoice, billing.card, "11.00", key="d" * 32)
    assert len(mailoutbox) == 1
    body = mailoutbox[0].body
    assert "$11.00" in body and "Riverside Family Clinic" in body
    for phi in ("E11.9", "99213", "Office visit"):
        assert phi not in body
