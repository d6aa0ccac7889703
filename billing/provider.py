"""The one payment-provider interface, its two implementations and webhook verification.

- `PaymentProvider`: create a customer, attach a card token, charge with an idempotency key,
  refund, verify and parse a webhook. Every call has a deadline (PAYMENT_TIMEOUT_SECONDS) and
  every failure becomes a `ProviderError` whose message a patient can read.
- `TestProvider` (PAYMENT_PROVIDER=test): a plain HTTP client of the test provider
  (`billing/testprovider/`, a loopback server started by bin/run and the tests).
- `StripeProvider` (PAYMENT_PROVIDER=stripe): the official `stripe` package; in development and
  tests its `api_base` is the same loopback server, which speaks the small part of Stripe's API
  used here.

Card numbers never pass through here: the browser gives them to the provider's own card form,
and the portal only ever sees the payment-method token it answers with.
"""

from __future__ import annotations

import hashlib
import hmac
import http.client
import json
import socket
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings

# Provider error codes -> what a patient reads.
DECLINE_MESSAGES = {
    "generic_decline": "Your card was declined. Try another card or call your bank.",
    "card_declined": "Your card was declined. Try another card or call your bank.",
    "insufficient_funds": "Your card has insufficient funds. Try another card.",
    "expired_card": "Your card has expired. Add a card with a later expiry date.",
    "incorrect_cvc": "The card's security code is incorrect.",
    "lost_card": "Your card was declined. Call your bank.",
    "stolen_card": "Your card was declined. Call your bank.",
    "processing_error": "The card processor had a problem. Try again in a few minutes.",
}
TIMEOUT_MESSAGE = (
    "The card processor did not answer in time. Your payment may still go through: check "
    "again in a moment before paying again."
)
UNAVAILABLE_MESSAGE = "The card processor cannot be reached right now. Try again in a few minutes."


class ProviderError(Exception):
    """A provider call failed. `message` is plain words; `transient`: worth trying again with
    the same idempotency key (the outcome is unknown, e.g. a timeout)."""

    def __init__(self, message: str, *, transient: bool = False, code: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.transient = transient
        self.code = code


class CardDeclined(ProviderError):
    """The provider refused the charge; its reason, in plain words, is `message`."""

    def __init__(self, code: str, *, provider_payment_id: str = "") -> None:
        super().__init__(DECLINE_MESSAGES.get(code, DECLINE_MESSAGES["card_declined"]), code=code)
        self.provider_payment_id = provider_payment_id


class WebhookError(Exception):
    """A webhook that must not be acted on (bad signature, outside the replay window)."""


@dataclass(frozen=True)
class CardDetails:
    payment_method_id: str
    brand: str
    last4: str
    exp_month: int
    exp_year: int


@dataclass(frozen=True)
class ChargeResult:
    provider_payment_id: str
    status: str  # "succeeded" (a decline raises CardDeclined)


@dataclass(frozen=True)
class RefundResult:
    provider_refund_id: str
    status: str


@dataclass(frozen=True)
class Event:
    id: str
    type: str
    data: dict[str, Any] = field(default_factory=dict)


# Webhook signatures: Stripe's format, "t=<unix time>,v1=<hex HMAC-SHA256 of 't.payload'>".


def sign_webhook(payload: bytes, secret: str, timestamp: int | None = None) -> str:
    """The signature header a provider sends with `payload` (used by the test provider)."""
    t = int(time.time()) if timestamp is None else timestamp
    mac = hmac.new(secret.encode(), f"{t}.".encode() + payload, hashlib.sha256).hexdigest()
    return f"t={t},v1={mac}"


def verify_webhook(payload: bytes, header: str, secret: str, *, tolerance: int) -> Event:
    """Check the signature and the timestamp (replay window), then parse the event."""
    parts: dict[str, list[str]] = {}
    for item in (header or "").split(","):
        name, _, value = item.strip().partition("=")
        parts.setdefault(name, []).append(value)
    try:
        timestamp = int(parts.get("t", [""])[0])
    except ValueError as exc:
        raise WebhookError("No timestamp in the signature") from exc
    expected = hmac.new(
        secret.encode(), f"{timestamp}.".encode() + payload, hashlib.sha256
    ).hexdigest()
    if not any(hmac.compare_digest(expected, given) for given in parts.get("v1", [])):
        raise WebhookError("Bad signature")
    if abs(time.time() - timestamp) > tolerance:
        raise WebhookError("Outside the replay window")
    try:
        body = json.loads(payload)
        return Event(id=str(body["id"]), type=str(body["type"]), data=dict(body["data"]["object"]))
    except (ValueError, KeyError, TypeError) as exc:
        raise WebhookError("Not an event") from exc


class PaymentProvider:
    """What the portal needs from a payment provider. All amounts are integer cents."""

    name = "base"

    def create_customer(self, *, reference: str, email: str = "", name: str = "") -> str:
        raise NotImplementedError

    def attach_card(self, *, customer_id: str, token: str) -> CardDetails:
        raise NotImplementedError

    def detach_card(self, *, payment_method_id: str) -> None:
        raise NotImplementedError

    def charge(
        self,
        *,
        customer_id: str,
        payment_method_id: str,
        amount_cents: int,
        currency: str,
        idempotency_key: str,
        metadata: dict[str, str],
    ) -> ChargeResult:
        raise NotImplementedError

    def refund(
        self, *, provider_payment_id: str, amount_cents: int, idempotency_key: str
    ) -> RefundResult:
        raise NotImplementedError

    def parse_webhook(self, payload: bytes, signature: str) -> Event:
        return verify_webhook(
            payload,
            signature,
            settings.PAYMENT_WEBHOOK_SECRET,
            tolerance=settings.PAYMENT_WEBHOOK_TOLERANCE_SECONDS,
        )


def _error_from(status: int, body: dict[str, Any]) -> ProviderError:
    """A Stripe-style error body -> the exception a patient's message comes from."""
    error = body.get("error") or {}
    code = str(error.get("decline_code") or error.get("code") or "")
    if error.get("type") == "card_error":
        intent = error.get("payment_intent") or {}
        return CardDeclined(code or "card_declined", provider_payment_id=intent.get("id", ""))
    if status == 429 or status >= 500:
        return ProviderError(UNAVAILABLE_MESSAGE, transient=True, code=code)
    return ProviderError(
        "The card processor refused the request. Try again, or call the clinic.", code=code
    )


class TestProvider(PaymentProvider):
    """The test provider's HTTP API (Stripe's shape, form-encoded) through urllib."""

    name = "test"
    __test__ = False  # not a pytest class

    def __init__(self, api_base: str | None = None, api_key: str | None = None) -> None:
        self.api_base = (api_base or settings.PAYMENT_API_BASE).rstrip("/")
        self.api_key = api_key or settings.PAYMENT_API_KEY

    def _post(self, path: str, data: dict[str, Any], idempotency_key: str = "") -> dict[str, Any]:
        headers = {
            "Authorization": f"Bearer {self.api_key}",
            "Content-Type": "application/x-www-form-urlencoded",
        }
        if idempotency_key:
            headers["Idempotency-Key"] = idempotency_key
        request = urllib.request.Request(  # noqa: S310 - a configured https/loopback URL
            f"{self.api_base}{path}",
            data=urllib.parse.urlencode(data).encode(),
            headers=headers,
            method="POST",
        )
        try:
            with urllib.request.urlopen(  # noqa: S310
                request, timeout=settings.PAYMENT_TIMEOUT_SECONDS
            ) as response:
                return dict(json.loads(response.read()))
        except urllib.error.HTTPError as exc:
            try:
                body = json.loads(exc.read())
            except ValueError:
                body = {}
            raise _error_from(exc.code, body) from exc
        except TimeoutError as exc:
            raise ProviderError(TIMEOUT_MESSAGE, transient=True, code="timeout") from exc
        except (urllib.error.URLError, OSError, http.client.HTTPException, ValueError) as exc:
            if isinstance(getattr(exc, "reason", None), TimeoutError | socket.timeout):
                raise ProviderError(TIMEOUT_MESSAGE, transient=True, code="timeout") from exc
            raise ProviderError(UNAVAILABLE_MESSAGE, transient=True, code="unreachable") from exc

    def create_customer(self, *, reference: str, email: str = "", name: str = "") -> str:
        body = self._post(
            "/v1/customers",
            {"email": email, "name": name, "metadata[reference]": reference},
            idempotency_key=f"portal-customer-{reference}",
        )
        return str(body["id"])

    def attach_card(self, *, customer_id: str, token: str) -> CardDetails:
        body = self._post(
            f"/v1/payment_methods/{urllib.parse.quote(token, safe='')}/attach",
            {"customer": customer_id},
        )
        return _card_details(body)

    def detach_card(self, *, payment_method_id: str) -> None:
        self._post(
            f"/v1/payment_methods/{urllib.parse.quote(payment_method_id, safe='')}/detach", {}
        )

    def charge(
        self,
        *,
        customer_id: str,
        payment_method_id: str,
        amount_cents: int,
        currency: str,
        idempotency_key: str,
        metadata: dict[str, str],
    ) -> ChargeResult:
        data: dict[str, Any] = {
            "amount": amount_cents,
            "currency": currency,
            "customer": customer_id,
            "payment_method": payment_method_id,
            "confirm": "true",
            "off_session": "true",
        }
        data.update({f"metadata[{k}]": v for k, v in metadata.items()})
        body = self._post("/v1/payment_intents", data, idempotency_key=idempotency_key)
        return _charge_result(body)

    def refund(
        self, *, provider_payment_id: str, amount_cents: int, idempotency_key: str
    ) -> RefundResult:
        body = self._post(
            "/v1/refunds",
            {"payment_intent": provider_payment_id, "amount": amount_cents},
            idempotency_key=idempotency_key,
        )
        return RefundResult(provider_refund_id=str(body["id"]), status=str(body["status"]))


def _card_details(body: Any) -> CardDetails:
    card = body["card"]
    return CardDetails(
        payment_method_id=str(body["id"]),
        brand=str(card["brand"])[:20],
        last4=str(card["last4"])[-4:],
        exp_month=int(card["exp_month"]),
        exp_year=int(card["exp_year"]),
    )


def _charge_result(body: Any) -> ChargeResult:
    status = str(body["status"])
    if status != "succeeded":
        error = body.get("last_payment_error") or {}
        raise CardDeclined(
            str(error.get("decline_code") or error.get("code") or "card_declined"),
            provider_payment_id=str(body["id"]),
        )
    return ChargeResult(provider_payment_id=str(body["id"]), status=status)


class StripeProvider(PaymentProvider):
    """The `stripe` package (a real provider's official client), errors in plain words."""

    name = "stripe"

    def __init__(self, api_base: str | None = None, api_key: str | None = None) -> None:
        import stripe

        self._stripe = stripe
        self.client = stripe.StripeClient(
            api_key or settings.PAYMENT_API_KEY,
            base_addresses={"api": (api_base or settings.PAYMENT_API_BASE).rstrip("/")},
            # Our own retries go through the Payment row's idempotency key.
            max_network_retries=0,
            http_client=stripe.RequestsClient(timeout=settings.PAYMENT_TIMEOUT_SECONDS),
        )

    def _call(self, fn: Any, *args: Any, **kwargs: Any) -> Any:
        stripe = self._stripe
        try:
            return fn(*args, **kwargs)
        except stripe.CardError as exc:
            error = exc.error
            code = (
                (getattr(error, "decline_code", None) or exc.code or "card_declined")
                if error
                else "card_declined"
            )
            intent = getattr(error, "payment_intent", None) if error else None
            raise CardDeclined(
                str(code), provider_payment_id=str(getattr(intent, "id", "") or "")
            ) from exc
        except stripe.APIConnectionError as exc:
            timed_out = "timed out" in str(exc).lower() or "timeout" in str(exc).lower()
            raise ProviderError(
                TIMEOUT_MESSAGE if timed_out else UNAVAILABLE_MESSAGE,
                transient=True,
                code="timeout" if timed_out else "unreachable",
            ) from exc
        except stripe.RateLimitError as exc:
            raise ProviderError(UNAVAILABLE_MESSAGE, transient=True) from exc
        except stripe.StripeError as exc:
            status = exc.http_status or 0
            raise ProviderError(
                UNAVAILABLE_MESSAGE
                if status >= 500
                else "The card processor refused the request. Try again, or call the clinic.",
                transient=status >= 500,
                code=str(exc.code or ""),
            ) from exc

    def create_customer(self, *, reference: str, email: str = "", name: str = "") -> str:
        customer = self._call(
            self.client.v1.customers.create,
            {"email": email, "name": name, "metadata": {"reference": reference}},
            {"idempotency_key": f"portal-customer-{reference}"},
        )
        return str(customer.id)

    def attach_card(self, *, customer_id: str, token: str) -> CardDetails:
        method = self._call(self.client.v1.payment_methods.attach, token, {"customer": customer_id})
        return _card_details(method)

    def detach_card(self, *, payment_method_id: str) -> None:
        self._call(self.client.v1.payment_methods.detach, payment_method_id)

    def charge(
        self,
        *,
        customer_id: str,
        payment_method_id: str,
        amount_cents: int,
        currency: str,
        idempotency_key: str,
        metadata: dict[str, str],
    ) -> ChargeResult:
        intent = self._call(
            self.client.v1.payment_intents.create,
            {
                "amount": amount_cents,
                "currency": currency,
                "customer": customer_id,
                "payment_method": payment_method_id,
                "confirm": True,
                "off_session": True,
                "metadata": metadata,
            },
            {"idempotency_key": idempotency_key},
        )
        return _charge_result(intent)

    def refund(
        self, *, provider_payment_id: str, amount_cents: int, idempotency_key: str
    ) -> RefundResult:
        refund = self._call(
            self.client.v1.refunds.create,
            {"payment_intent": provider_payment_id, "amount": amount_cents},
            {"idempotency_key": idempotency_key},
        )
        return RefundResult(provider_refund_id=str(refund.id), status=str(refund.status))


_override: PaymentProvider | None = None


def get_provider() -> PaymentProvider:
    """The configured provider (settings.PAYMENT_PROVIDER: "test" or "stripe")."""
    if _override is not None:
        return _override
    if settings.PAYMENT_PROVIDER == "stripe":
        return StripeProvider()
    return TestProvider()


def use_provider(provider: PaymentProvider | None) -> None:
    """Replace the provider (tests); None goes back to the configured one."""
    global _override
    _override = provider
