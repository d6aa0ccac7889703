"""The provider interface's two implementations against the loopback test provider: the same
answers through urllib (TestProvider) and through the official `stripe` package."""

from __future__ import annotations

import time

import pytest

from billing.provider import (
    CardDeclined,
    ProviderError,
    StripeProvider,
    TestProvider,
    WebhookError,
    sign_webhook,
    verify_webhook,
)
from tests.billing.conftest import tokenise


@pytest.fixture(params=["test", "stripe"])
def provider(request, provider_server, settings):
    cls = TestProvider if request.param == "test" else StripeProvider
    return cls(api_base=provider_server.url)


def test_customer_card_charge_refund(provider, provider_server):
    customer = provider.create_customer(reference=f"chart-{time.time_ns()}", name="Mary Doe")
    card = provider.attach_card(customer_id=customer, token=tokenise(provider_server))
    assert (card.brand, card.last4, card.exp_year) == ("visa", "4242", 2039)
    key = f"portal-payment-{time.time_ns()}"
    args = {
        "customer_id": customer,
        "payment_method_id": card.payment_method_id,
        "amount_cents": 1234,
        "currency": "usd",
        "metadata": {"payment_key": "x"},
    }
    first = provider.charge(idempotency_key=key, **args)
    again = provider.charge(idempotency_key=key, **args)
    assert first.status == "succeeded" and first.provider_payment_id == again.provider_payment_id
    other = provider.charge(idempotency_key=key + "-2", **args)
    assert other.provider_payment_id != first.provider_payment_id
    refund = provider.refund(
        provider_payment_id=first.provider_payment_id, amount_cents=234, idempotency_key=key + "-r"
    )
    assert refund.status == "succeeded"
    with pytest.raises(ProviderError):
        provider.refund(
            provider_payment_id=first.provider_payment_id,
            amount_cents=1001,
            idempotency_key=key + "-r2",
        )


@pytest.mark.parametrize(
    ("number", "words"),
    [
        ("4000000000000002", "was declined"),
        ("4000000000009995", "insufficient funds"),
        ("4000000000000069", "expired"),
    ],
)
def test_a_decline_in_plain_words(provider, provider_server, number, words):
    customer = provider.create_customer(reference=f"chart-{time.time_ns()}")
    card = provider.attach_card(customer_id=customer, token=tokenise(provider_server, number))
    with pytest.raises(CardDeclined) as caught:
        provider.charge(
            customer_id=customer,
            payment_method_id=card.payment_method_id,
            amount_cents=500,
            currency="usd",
            idempotency_key=f"k-{time.time_ns()}",
            metadata={},
        )
    assert words in caught.value.message
    assert caught.value.provider_payment_id.startswith("pi_")


def test_a_timeout_is_transient_and_said_plainly(provider, provider_server):
    customer = provider.create_customer(reference=f"chart-{time.time_ns()}")
    card = provider.attach_card(
        customer_id=customer, token=tokenise(provider_server, "4000000000000119")
    )
    with pytest.raises(ProviderError) as caught:
        provider.charge(
            customer_id=customer,
            payment_method_id=card.payment_method_id,
            amount_cents=500,
            currency="usd",
            idempotency_key=f"k-{time.time_ns()}",
            metadata={},
        )
    assert caught.value.transient and "did not answer in time" in caught.value.message


def test_an_unreachable_provider_is_said_plainly(settings):
    from tests.servers import free_port

    for cls in (TestProvider, StripeProvider):
        with pytest.raises(ProviderError) as caught:
            cls(api_base=f"http://127.0.0.1:{free_port()}").create_customer(reference="x")
        assert caught.value.transient and "cannot be reached" in caught.value.message


def test_a_wrong_api_key_is_refused(provider_server):
    with pytest.raises(ProviderError) as caught:
        TestProvider(api_base=provider_server.url, api_key="sk_wrong").create_customer(
            reference="x"
        )
    assert not caught.value.transient


def test_webhook_signatures_and_the_replay_window():
    payload = (
        b'{"id": "evt_1", "type": "payment_intent.succeeded", "data": {"object": {"id": "pi_1"}}}'
    )
    event = verify_webhook(payload, sign_webhook(payload, "s"), "s", tolerance=300)
    assert (event.id, event.data["id"]) == ("evt_1", "pi_1")
    # The stripe package's own verifier agrees with our signatures.
    import stripe

    stripe.WebhookSignature.verify_header(
        payload.decode(), sign_webhook(payload, "s"), "s", tolerance=300
    )
    for header in (
        sign_webhook(payload, "other"),
        sign_webhook(payload, "s", int(time.time()) - 301),
        "t=1",
        "",
    ):
        with pytest.raises(WebhookError):
            verify_webhook(payload, header, "s", tolerance=300)
    with pytest.raises(WebhookError):
        verify_webhook(b"not json", sign_webhook(b"not json", "s"), "s", tolerance=300)
