"""Billing in the browser at phone width, as a patient: add a card through the test
provider's own card form (framed, on its own port) → pay an invoice in part → the balance on
Home → download the invoice PDF and a superbill PDF (read with pypdf). axe on every portal
page; screenshots at 375 and 1280 px in artifacts/screenshots/billing-*.png."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from playwright.sync_api import expect
from pypdf import PdfReader

from accounts.models import User
from billing import services
from billing.models import BillingProfile, Card, Payment
from billing.services import LineData
from billing.testprovider.server import State, start_in_thread
from invites.models import Clinic, ClinicMembership, ClinicPatient
from patient_portal.models import Chart
from prescriptions.models import Prescriber
from prescriptions.npi import make_npi
from tests.browser.conftest import assert_accessible, sign_in, start_server, stop_server
from tests.servers import free_port

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "Browser-Patient-42!"
PHONE = {"width": 375, "height": 812}
DESKTOP = {"width": 1280, "height": 900}


@pytest.fixture
def servers(django_db_setup, chromium_available):
    """The test payment provider (a thread here) and a daphne portal pointed at it."""
    port = free_port()
    provider = start_in_thread(
        State(webhook_url=f"http://127.0.0.1:{port}/billing/webhooks/provider/", webhook_delay=0.2)
    )
    proc = start_server(
        port,
        {"PAYMENT_PROVIDER_ORIGIN": provider.url, "PAYMENT_API_BASE": provider.url},
    )
    yield f"http://127.0.0.1:{port}", provider
    stop_server(proc)
    provider.shutdown()


@pytest.fixture
def mary(db) -> User:
    clinic = Clinic.objects.create(name="Riverside Family Clinic", phone="4155550199")
    BillingProfile.objects.create(
        clinic=clinic,
        legal_name="Riverside Family Clinic, P.C.",
        address_line1="120 Riverside Drive",
        city="Philadelphia",
        state="PA",
        zip_code="19103",
        tax_id="23-4567890",
        npi="1245319599",
    )
    npi = Prescriber.objects.create(npi=make_npi("192837465"), first_name="Jane", last_name="Smith")
    jane = User.objects.create_user(
        "jane.smith@example.com",
        PASSWORD,
        first_name="Jane",
        last_name="Smith",
        role="prescriber",
        prescriber=npi,
    )
    provider = ClinicMembership.objects.create(
        user=jane, clinic=clinic, role="provider", prescriber=npi
    )
    mary = User.objects.create_user(
        "mary.doe@example.com", PASSWORD, first_name="Mary", last_name="Doe", role="patient"
    )
    link = ClinicPatient.objects.create(clinic=clinic, provider=provider, user=mary)
    chart = Chart.objects.get(joined_link=link)
    services.create_invoice(
        chart=chart,
        by=None,
        issue=True,
        lines=[
            LineData(
                dt.date(2026, 11, 2),
                "Office visit, established patient",
                "99214",
                ["E11.9", "I10"],
                1,
                21000,
            ),
            LineData(dt.date(2026, 11, 2), "Lipid panel", "80061", ["E78.5"], 1, 4800),
        ],
    )
    return mary


def pdf_text(download) -> str:
    with open(download.path(), "rb") as handle:
        return "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(handle.read())).pages)


def test_a_patient_adds_a_card_pays_in_part_and_downloads_pdfs(browser, servers, mary, screenshot):
    portal, provider = servers
    context = browser.new_context(viewport=PHONE, reduced_motion="reduce", accept_downloads=True)
    page = context.new_page()
    sign_in(page, portal, mary.email, PASSWORD)
    page.wait_for_url(f"{portal}/patient/")
    expect(page.get_by_role("heading", name="Balance due")).to_be_visible()
    expect(page.get_by_text("$258.00")).to_be_visible()

    # Credit Cards → Add a card: the number goes into the provider's framed form.
    page.get_by_role("link", name="Make a payment").click()
    page.get_by_role("navigation", name="Billing").get_by_role("link", name="Credit Cards").click()
    expect(page.get_by_role("heading", name="No cards yet")).to_be_visible()
    assert_accessible(page, "Credit Cards (375 px)")
    page.get_by_role("link", name="Add a card").click()
    frame = page.frame_locator("iframe[title^='Card details']")
    frame.get_by_label("Card number").fill("4242 4242 4242 4242")
    frame.get_by_label("Expiry (MM/YY)").fill("12/34")
    frame.get_by_label("Security code").fill("123")
    frame.get_by_label("ZIP code").fill("19103")
    assert_accessible(page, "Add a card (375 px)")
    screenshot(page, "billing-add-card-375")
    frame.get_by_role("button", name="Save card").click()
    page.wait_for_url(f"{portal}/patient/billing/cards/")
    expect(page.locator("strong", has_text="Visa ending 4242")).to_be_visible()
    screenshot(page, "billing-cards-375")
    card = Card.objects.get()
    assert card.provider_payment_method_id.startswith("pm_") and card.last4 == "4242"

    # Invoices → the open invoice → pay $50 of $258.
    page.get_by_role("navigation", name="Billing").get_by_role("link", name="Invoices").click()
    assert_accessible(page, "Invoices (375 px)")
    page.get_by_role("link", name="INV-").first.click()
    expect(page.get_by_role("heading", name="Make a payment")).to_be_visible()
    assert_accessible(page, "Invoice (375 px)")
    screenshot(page, "billing-invoice-375")
    page.get_by_label("Amount to pay ($)").fill("50.00")
    page.get_by_role("button", name="Pay now").click()
    expect(page.get_by_text("your payment of $50.00")).to_be_visible()
    assert_accessible(page, "Payment (375 px)")
    screenshot(page, "billing-paid-375")
    assert Payment.objects.get().status == "succeeded"

    # Home: the balance due is what is left.
    page.get_by_role("navigation", name="Patient portal").get_by_role("link", name="Home").click()
    expect(page.locator(".billing-home-balance")).to_have_text("$208.00")
    assert_accessible(page, "Home with a balance (375 px)")
    screenshot(page, "billing-home-375", full_page=False)

    # The invoice PDF.
    page.goto(f"{portal}/patient/billing/")
    page.get_by_role("link", name="INV-").first.click()
    with page.expect_download() as info:
        page.get_by_role("link", name="Download PDF").click()
    text = pdf_text(info.value)
    for expected in ("99214", "80061", "E11.9", "$258.00", "$50.00", "$208.00", "23-4567890"):
        assert expected in text, expected

    # Billing History: the ledger, then a superbill for November.
    page.get_by_role("navigation", name="Billing").get_by_role(
        "link", name="Billing History"
    ).click()
    expect(page.get_by_role("cell", name="$208.00").first).to_be_visible()
    assert_accessible(page, "Billing History (375 px)")
    screenshot(page, "billing-history-375")
    superbill = page.get_by_role("form", name="Superbill dates")
    superbill.get_by_label("From").fill("2026-11-01")
    superbill.get_by_label("To").fill("2026-11-30")
    with page.expect_download() as info:
        superbill.get_by_role("button", name="Create superbill (PDF)").click()
    text = pdf_text(info.value)
    for expected in (
        "Superbill",
        "Mary Doe",
        "1245319599",
        "23-4567890",
        "99214",
        "80061",
        "I10",
        "E78.5",
        "$258.00",
        "$50.00",
    ):
        assert expected in text, expected
    context.close()


def test_billing_at_desktop_width(browser, servers, mary, screenshot):
    portal, _provider = servers
    context = browser.new_context(viewport=DESKTOP, reduced_motion="reduce")
    page = context.new_page()
    sign_in(page, portal, mary.email, PASSWORD)
    page.wait_for_url(f"{portal}/patient/")
    screenshot(page, "billing-home-1280", full_page=False)
    page.goto(f"{portal}/patient/billing/")
    page.get_by_role("link", name="INV-").first.click()
    assert_accessible(page, "Invoice (1280 px)")
    screenshot(page, "billing-invoice-1280")
    page.goto(f"{portal}/patient/billing/history/")
    assert_accessible(page, "Billing History (1280 px)")
    screenshot(page, "billing-history-1280")
    context.close()
