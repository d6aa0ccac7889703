"""Billing fixtures: the test payment provider on a free loopback port (a thread of the test
process), cards tokenised through its card form, and an issued invoice on mary's chart."""

from __future__ import annotations

import datetime as dt
import json
import re
import urllib.parse
import urllib.request
from dataclasses import dataclass

import pytest

from billing import services
from billing.models import Card, Invoice
from billing.provider import sign_webhook, use_provider
from billing.services import LineData
from billing.testprovider.server import ProviderServer, State, start_in_thread
from tests.invites.conftest import clinics, fresh_throttles, outboxes  # noqa: F401
from tests.patient_portal.conftest import Family, family  # noqa: F401

PASSWORD_CARD = "4242424242424242"


@pytest.fixture(scope="session")
def provider_server() -> ProviderServer:
    # The slow card answers after 2 s; the portal waits 1 s (settings below).
    server = start_in_thread(State(slow_seconds=2.0))
    yield server
    server.shutdown()


@pytest.fixture(autouse=True)
def provider_settings(settings, provider_server):
    settings.PAYMENT_PROVIDER = "test"
    settings.PAYMENT_API_BASE = provider_server.url
    settings.PAYMENT_PROVIDER_ORIGIN = provider_server.url
    settings.PAYMENT_TIMEOUT_SECONDS = 1
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    use_provider(None)
    yield
    use_provider(None)


def tokenise(server: ProviderServer, number: str = PASSWORD_CARD, exp: str = "12/39") -> str:
    """What the browser does in the provider's card form: post the number, get a token."""
    data = urllib.parse.urlencode(
        {"number": number, "exp": exp, "cvc": "123", "origin": "http://testserver"}
    ).encode()
    with urllib.request.urlopen(f"{server.url}/card-form", data=data, timeout=5) as response:  # noqa: S310
        page = response.read().decode()
    found = re.search(r'"(pm_[0-9a-f]+)"', page)
    assert found, page
    return found.group(1)


def events(server: ProviderServer) -> list[dict]:
    with urllib.request.urlopen(f"{server.url}/_test/events", timeout=5) as response:  # noqa: S310
        return json.loads(response.read())["data"]


def signed(
    event: dict, secret: str = "whsec_portal_dev", timestamp: int | None = None
) -> tuple[bytes, str]:
    payload = json.dumps(event).encode()
    return payload, sign_webhook(payload, secret, timestamp)


@dataclass
class Billing:
    family: Family
    invoice: Invoice
    card: Card


def make_invoice(chart, by, amounts=(15000, 5000), issue=True) -> Invoice:
    return services.create_invoice(
        chart=chart,
        by=by,
        issue=issue,
        lines=[
            LineData(
                service_date=dt.date(2026, 3, 2 + i),
                description=f"Office visit {i + 1}",
                cpt_code="99213" if i == 0 else "0001F",
                icd10_codes=["E11.9", "I10"] if i == 0 else ["Z00.00"],
                units=1,
                amount_cents=amount,
            )
            for i, amount in enumerate(amounts)
        ],
    )


@pytest.fixture
def billing(family, provider_server) -> Billing:  # noqa: F811
    invoice = make_invoice(family.mary_a, family.clinics.cadmin)
    card = services.add_card(chart=family.mary_a, token=tokenise(provider_server), by=family.mary)
    return Billing(family=family, invoice=invoice, card=card)
