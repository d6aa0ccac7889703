"""The Billing tabs, PDFs, CSV and the Clinic area's billing pages; who reaches what."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest
from django.urls import reverse
from pypdf import PdfReader

from billing import services
from billing.models import BillingProfile, Card, Invoice, LedgerEntry
from patient_portal.selectors import SESSION_CHART
from tests.billing.conftest import make_invoice, tokenise
from tests.conftest import sign_in


def as_patient(client, user, chart):
    client.force_login(user)
    session = client.session
    session[SESSION_CHART] = chart.pk
    session.save()
    return client


def pdf_text(data: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


@pytest.fixture
def mary(client, billing):
    return as_patient(client, billing.family.mary, billing.family.mary_a)


def test_the_tabs_render(mary, billing):
    for name in ("billing:cards", "billing:history", "billing:invoices", "billing:card_add"):
        response = mary.get(reverse(name))
        assert response.status_code == 200, name
        page = response.content.decode()
        for tab in ("Credit Cards", "Billing History", "Invoices"):
            assert tab in page
        assert "Balance due: <strong>$200.00</strong>" in page
    page = mary.get(reverse("billing:invoice", args=[billing.invoice.pk])).content.decode()
    assert "99213" in page and "E11.9, I10" in page and "Pay now" in page


def test_only_the_add_card_page_may_frame_the_provider(mary, billing, provider_server):
    add = mary.get(reverse("billing:card_add"))
    policy = add["Content-Security-Policy"]
    assert f"frame-src 'self' blob: {provider_server.url}" in policy
    assert provider_server.url in policy.split("form-action")[1]
    assert provider_server.url not in mary.get(reverse("billing:cards"))["Content-Security-Policy"]


def test_a_card_is_added_by_token_only(mary, billing, provider_server):
    token = tokenise(provider_server, "5555555555554444", exp="04/38")
    response = mary.post(reverse("billing:card_add"), {"token": token, "idempotency_key": "e" * 32})
    assert response.status_code == 302
    card = Card.objects.get(provider_payment_method_id=token)
    assert (card.brand, card.last4, card.exp_month, card.exp_year) == (
        "mastercard",
        "4444",
        4,
        2038,
    )
    assert not card.is_default  # the first card stays the default
    # A card number posted to the portal is refused, and not kept anywhere.
    response = mary.post(reverse("billing:card_add"), {"token": "4242424242424242"})
    assert response.status_code == 400
    assert "4242424242424242" not in response.content.decode()


def test_default_and_remove(mary, billing, provider_server):
    other = services.add_card(chart=billing.family.mary_a, token=tokenise(provider_server), by=None)
    mary.post(reverse("billing:card_default", args=[other.pk]))
    other.refresh_from_db()
    billing.card.refresh_from_db()
    assert other.is_default and not billing.card.is_default
    mary.post(reverse("billing:card_remove", args=[other.pk]))
    billing.card.refresh_from_db()
    assert billing.card.is_default
    assert "ending 4242" in mary.get(reverse("billing:cards")).content.decode()


def test_the_history_has_a_running_balance_a_filter_and_a_safe_csv(mary, billing):
    chart = billing.family.mary_a
    services.add_adjustment(chart=chart, amount_cents=-2500, description='=HYPERLINK("x")', by=None)
    LedgerEntry.objects.filter(kind="charge").update(
        occurred_at=dt.datetime(2026, 3, 5, 12, tzinfo=dt.UTC)
    )
    page = mary.get(reverse("billing:history")).content.decode()
    assert "$175.00" in page and "$200.00" in page
    filtered = mary.get(
        reverse("billing:history"), {"date_from": "2026-03-01", "date_to": "2026-03-31"}
    )
    assert "HYPERLINK" not in filtered.content.decode()
    assert "$200.00" in filtered.content.decode()
    bad = mary.get(reverse("billing:history"), {"date_from": "2026-04-01", "date_to": "2026-03-01"})
    assert bad.status_code == 200 and "after the" in bad.content.decode()
    rows = list(csv.reader(io.StringIO(mary.get(reverse("billing:history_csv")).content.decode())))
    assert rows[0] == ["Date", "Type", "Description", "Amount", "Balance"]
    assert rows[1][2] == '\'=HYPERLINK("x")'
    assert rows[1][3] == "'-25.00"  # a negative amount starts with "-": neutralised too
    assert rows[1][4] == "175.00" and rows[2][4] == "200.00"


def test_the_invoice_and_superbill_pdfs(mary, billing, cast):
    BillingProfile.objects.create(
        clinic=billing.family.clinics.a,
        legal_name="Riverside Family Clinic LLC",
        address_line1="12 River Rd",
        city="Philadelphia",
        state="PA",
        zip_code="19106",
        tax_id="12-3456789",
        npi="1234567893",
    )
    response = mary.get(reverse("billing:invoice_pdf", args=[billing.invoice.pk]))
    assert response["Content-Type"] == "application/pdf"
    text = pdf_text(response.content)
    for expected in (
        "INV-",
        "99213",
        "0001F",
        "E11.9",
        "$150.00",
        "$200.00",
        "Riverside Family Clinic LLC",
        "12-3456789",
    ):
        assert expected in text, expected
    response = mary.get(
        reverse("billing:superbill"), {"date_from": "2026-03-01", "date_to": "2026-03-31"}
    )
    text = pdf_text(response.content)
    for expected in (
        "Superbill",
        "Mary Doe",
        "1234567893",
        "12-3456789",
        cast.npi_alice.npi,
        "99213",
        "I10",
        "Z00.00",
        "$200.00",
    ):
        assert expected in text, expected
    missing = mary.get(reverse("billing:superbill"), {"date_from": "2026-03-01"})
    assert missing.status_code == 400 and "both dates" in missing.content.decode()


def test_home_shows_the_balance_with_make_a_payment(mary, billing):
    page = mary.get(reverse("patient_portal:home")).content.decode()
    assert "Balance due" in page and "$200.00" in page and "Make a payment" in page


def test_billing_off_at_the_clinic_404s(mary, billing):
    from patient_portal.models import PortalSettings

    PortalSettings.objects.create(clinic=billing.family.clinics.a, billing=False)
    assert mary.get(reverse("billing:invoices")).status_code == 404
    assert "Balance due" not in mary.get(reverse("patient_portal:home")).content.decode()


# Access ------------------------------------------------------------------------------------------


def test_no_patient_sees_another_charts_billing(client, billing, provider_server):
    fam = billing.family
    peter_invoice = make_invoice(fam.peter_a, fam.clinics.cadmin)
    peter_card = services.add_card(chart=fam.peter_a, token=tokenise(provider_server), by=None)
    mary = as_patient(client, fam.mary, fam.mary_a)
    assert mary.get(reverse("billing:invoice", args=[peter_invoice.pk])).status_code == 404
    assert mary.get(reverse("billing:invoice_pdf", args=[peter_invoice.pk])).status_code == 404
    assert (
        mary.post(
            reverse("billing:pay", args=[peter_invoice.pk]),
            {"amount": "1", "card": billing.card.pk},
        ).status_code
        == 404
    )
    assert mary.post(reverse("billing:card_remove", args=[peter_card.pk])).status_code == 404
    assert mary.post(reverse("billing:card_default", args=[peter_card.pk])).status_code == 404
    # Paying mary's invoice with peter's card: not one of the chart's cards.
    response = mary.post(
        reverse("billing:pay", args=[billing.invoice.pk]), {"amount": "1", "card": peter_card.pk}
    )
    assert response.status_code == 400
    # Her own invoice is not visible while she views her other chart (clinic B).
    session = mary.session
    session[SESSION_CHART] = fam.mary_b.pk
    session.save()
    assert mary.get(reverse("billing:invoice", args=[billing.invoice.pk])).status_code == 404
    assert "Office visit" not in mary.get(reverse("billing:history")).content.decode()
    assert Invoice.objects.visible_to(fam.grace).filter(pk=billing.invoice.pk).count() == 0
    assert LedgerEntry.objects.visible_to(fam.peter).filter(chart=fam.mary_a).count() == 0
    assert Card.objects.visible_to(fam.peter).filter(pk=billing.card.pk).count() == 0


def test_a_revoked_proxy_loses_billing_at_once(client, billing):
    fam = billing.family
    tim_invoice = make_invoice(fam.tim, fam.clinics.cadmin)
    mary = as_patient(client, fam.mary, fam.tim)
    assert mary.get(reverse("billing:invoice", args=[tim_invoice.pk])).status_code == 200
    fam.tim_grant.revoke(by=fam.clinics.cadmin)
    assert mary.get(reverse("billing:invoice", args=[tim_invoice.pk])).status_code == 404


def test_staff_see_only_their_clinics(client, billing, cast):
    fam = billing.family
    oscar = sign_in(client, fam.clinics.oscar)
    assert oscar.get(reverse("clinic_billing:chart", args=[fam.mary_a.pk])).status_code == 404
    assert (
        oscar.post(reverse("clinic_billing:invoice_void", args=[billing.invoice.pk])).status_code
        == 404
    )
    carol = sign_in(client, cast.carol)
    assert carol.get(reverse("clinic_billing:chart", args=[fam.mary_a.pk])).status_code == 404
    admin = sign_in(client, fam.clinics.cadmin)
    page = admin.get(reverse("clinic_billing:chart", args=[fam.mary_a.pk])).content.decode()
    assert "Balance: $200.00" in page


def test_only_staff_issue_or_void(client, billing):
    fam = billing.family
    draft = make_invoice(fam.mary_a, fam.clinics.cadmin, issue=False)
    mary = as_patient(client, fam.mary, fam.mary_a)
    assert mary.post(reverse("clinic_billing:invoice_issue", args=[draft.pk])).status_code == 404
    assert (
        mary.post(reverse("clinic_billing:invoice_void", args=[billing.invoice.pk])).status_code
        == 404
    )
    assert mary.get(reverse("billing:invoice", args=[draft.pk])).status_code == 404  # drafts unseen
    admin = sign_in(client, fam.clinics.cadmin)
    admin.post(reverse("clinic_billing:invoice_issue", args=[draft.pk]))
    admin.post(reverse("clinic_billing:invoice_void", args=[billing.invoice.pk]))
    draft.refresh_from_db()
    billing.invoice.refresh_from_db()
    assert draft.status == "open" and billing.invoice.status == "void"
    assert services.chart_balance(fam.mary_a) == 20000  # the void reversed its charge


def test_staff_create_an_invoice_with_validated_codes(client, billing):
    fam = billing.family
    admin = sign_in(client, fam.clinics.cadmin)
    url = reverse("clinic_billing:invoice_new", args=[fam.mary_a.pk])
    data = {
        "line-TOTAL_FORMS": "1",
        "line-INITIAL_FORMS": "0",
        "line-MIN_NUM_FORMS": "1",
        "line-MAX_NUM_FORMS": "8",
        "line-0-service_date": "2026-02-01",
        "line-0-description": "Consult",
        "line-0-cpt_code": "9921",
        "line-0-icd10_codes": "E11.9, banana",
        "line-0-units": "1",
        "line-0-amount": "80.00",
        "memo": "",
        "issue": "on",
    }
    response = admin.post(url, data)
    assert response.status_code == 400
    page = response.content.decode()
    assert "CPT code is five characters" in page and "“BANANA” is not an ICD-10 code" in page
    data |= {
        "line-0-cpt_code": "99204",
        "line-0-icd10_codes": "e11.9, i10",
        "idempotency_key": "f" * 32,
    }
    assert admin.post(url, data).status_code == 302
    assert admin.post(url, data).status_code == 302  # a double submit
    invoice = Invoice.objects.filter(chart=fam.mary_a).latest("pk")
    assert Invoice.objects.filter(chart=fam.mary_a).count() == 2
    assert invoice.status == "open" and invoice.total_cents == 8000
    assert invoice.lines.get().icd10_codes == "E11.9,I10"


def test_the_open_invoice_list_costs_the_same_queries_at_any_size(client, billing):
    fam = billing.family
    admin = sign_in(client, fam.clinics.cadmin)
    session = admin.session
    session["invites_clinic_id"] = fam.clinics.a.pk
    session.save()
    url = reverse("clinic_billing:open_invoices")
    assert "INV-" in admin.get(url).content.decode()

    def count() -> int:
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        with CaptureQueriesContext(connection) as ctx:
            assert admin.get(url).status_code == 200
        return len(ctx.captured_queries)

    few = count()
    for _ in range(30):
        make_invoice(fam.peter_a, fam.clinics.cadmin, amounts=(1000,))
    assert count() == few
    balances = reverse("clinic_billing:charts")
    assert "$200.00" in admin.get(balances).content.decode()
