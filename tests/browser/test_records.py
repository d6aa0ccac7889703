"""Demographic Info and the health-records export, in a browser: a patient at 375 px updates
the address and adds an insurance card photo; the clinic (a second browser, desktop) accepts
the changes; the patient sees them applied, opens Health records, exports the health records
and downloads the PDF (opened with pypdf). axe on every page; screenshots in artifacts/."""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path

import pytest
from PIL import Image
from playwright.sync_api import expect
from pypdf import PdfReader

from accounts.models import User
from invites.models import Clinic, ClinicMembership, ClinicPatient
from patient_portal.models import Chart
from portal.pdf import PortalPDF
from records.models import Demographics, PendingChange
from records.services import add_health_record
from tests.browser.conftest import assert_accessible, complete_mfa, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "Browser-Patient-42!"
PHONE = {"width": 375, "height": 812}
DESKTOP = {"width": 1280, "height": 860}


@pytest.fixture
def people(db) -> dict[str, object]:
    riverside = Clinic.objects.create(name="Riverside Family Clinic")
    jane = User.objects.create_user(
        "jane.smith@example.com", PASSWORD, first_name="Jane", last_name="Smith", role="prescriber"
    )
    prov = ClinicMembership.objects.create(user=jane, clinic=riverside, role="provider")
    mary = User.objects.create_user(
        "mary.doe@example.com", PASSWORD, first_name="Mary", last_name="Doe", role="patient"
    )
    ClinicPatient.objects.create(clinic=riverside, provider=prov, user=mary)
    chart = Chart.objects.get(patient_user=mary)
    chart.date_of_birth = dt.date(1986, 4, 12)
    chart.save()
    Demographics.objects.create(chart=chart, address_line1="12 Elm Street", city="Springfield")
    for kind, title in (
        ("visit_summary", "Visit summary — check-up"),
        ("lab_result", "Lipid panel"),
    ):
        doc = PortalPDF(title=title)
        doc.paragraph("Results are normal.")
        add_health_record(
            chart=chart,
            kind=kind,
            title=title,
            pdf_bytes=doc.bytes(),
            source="clinic",
            created_by=jane,
        )
    return {"mary": mary, "jane": jane, "chart": chart}


def card_photo(tmp_path) -> str:
    path = tmp_path / "card-front.jpg"
    image = Image.new("RGB", (640, 400), (30, 90, 160))
    exif = Image.Exif()
    exif[0x010F] = "PhoneCam"
    image.save(path, "JPEG", exif=exif.tobytes())
    return str(path)


def test_update_info_review_and_export(browser, portal_url, people, screenshot, tmp_path):
    mary, jane = people["mary"], people["jane"]
    patient_ctx = browser.new_context(
        viewport=PHONE, reduced_motion="reduce", accept_downloads=True
    )
    page = patient_ctx.new_page()
    sign_in(page, portal_url, mary.email, PASSWORD)
    page.wait_for_url(f"{portal_url}/patient/")
    nav = page.get_by_role("navigation", name="Patient portal")
    entry = nav.get_by_role("link", name="Demographic Info")
    if not entry.is_visible():
        nav.get_by_text("More").click()
    entry.click()
    page.wait_for_url("**/patient/records/info/")
    expect(page.get_by_role("heading", name="Demographic Info", level=1)).to_be_visible()
    assert_accessible(page, "Update info (375 px)")

    # The address: sent for review, not applied yet.
    demo = page.locator("section", has=page.get_by_role("heading", name="Demographics"))
    demo.get_by_label("Address", exact=True).fill("42 Harbour Road")
    demo.get_by_role("button", name="Send demographics for review").click()
    expect(page.get_by_text("Sent to your clinic for review")).to_be_visible()
    expect(page.get_by_role("table").get_by_text("42 Harbour Road")).to_be_visible()

    # Primary insurance with a card photo.
    primary = page.locator("section", has=page.get_by_role("heading", name="Primary insurance"))
    primary.get_by_label("Insurance company").fill("Acme Health")
    primary.get_by_label("Member ID").fill("AC-778899")
    primary.get_by_label("Card (front)").set_input_files(card_photo(tmp_path))
    primary.get_by_role("button", name="Send primary insurance for review").click()
    expect(page.get_by_text("Sent to your clinic for review")).to_be_visible()
    assert PendingChange.objects.filter(status="pending").count() == 4
    assert_accessible(page, "Update info with pending changes (375 px)")
    screenshot(page, "records-update-info-pending-375")

    # The clinic, on a desktop, accepts every field.
    clinic_ctx = browser.new_context(viewport=DESKTOP, reduced_motion="reduce")
    staff = clinic_ctx.new_page()
    sign_in(staff, portal_url, jane.email, PASSWORD)
    complete_mfa(staff, jane)
    staff.goto(f"{portal_url}/clinic/records/changes/")
    expect(staff.get_by_role("heading", name="Record changes", level=1)).to_be_visible()
    expect(staff.get_by_text("42 Harbour Road")).to_be_visible()
    assert_accessible(staff, "Record changes (1280 px)")
    screenshot(staff, "records-clinic-changes-1280")
    while staff.get_by_role("button", name="Accept").count():
        staff.get_by_role("button", name="Accept").first.click()
        staff.wait_for_load_state()
    expect(staff.get_by_text("No changes waiting")).to_be_visible()
    staff.goto(f"{portal_url}/clinic/records/charts/{people['chart'].pk}/")
    expect(staff.get_by_role("heading", name="Change history")).to_be_visible()
    expect(staff.get_by_role("link", name="card front")).to_be_visible()
    assert_accessible(staff, "Chart records (1280 px)")
    screenshot(staff, "records-clinic-chart-1280")
    clinic_ctx.close()

    # The patient sees the change applied.
    page.reload()
    demo = page.locator("section", has=page.get_by_role("heading", name="Demographics"))
    expect(demo.get_by_label("Address", exact=True)).to_have_value("42 Harbour Road")
    expect(page.get_by_text("Accepted").first).to_be_visible()
    expect(page.get_by_role("link", name="front")).to_be_visible()
    screenshot(page, "records-update-info-applied-375")
    # The card opens as an image (served with nosniff and a CSP that runs nothing).
    card = patient_ctx.new_page()
    card.goto(portal_url + str(page.get_by_role("link", name="front").get_attribute("href")))
    assert card.evaluate("document.images.length && document.images[0].naturalWidth") == 640
    card.close()

    # Health records.
    page.get_by_role("link", name="Health records").click()
    page.wait_for_url("**/patient/records/health/")
    expect(page.get_by_role("link", name="Lipid panel", exact=True)).to_be_visible()
    page.get_by_label("Type").select_option(label="Lab result")
    expect(page.get_by_role("link", name="Visit summary — check-up", exact=True)).to_be_hidden()
    assert_accessible(page, "Health records (375 px)")
    screenshot(page, "records-health-375")

    # Export health records from Account; download the PDF.
    page.goto(f"{portal_url}/patient/account/")
    page.get_by_role("button", name="Export health records").click()
    expect(page.get_by_role("link", name="Download PDF")).to_be_visible(timeout=20_000)
    assert_accessible(page, "Export ready (375 px)")
    screenshot(page, "records-export-375")
    with page.expect_download() as info:
        page.get_by_role("link", name="Download PDF").click()
    data = Path(info.value.path()).read_bytes()
    reader = PdfReader(io.BytesIO(data))
    text = "\n".join(p.extract_text() for p in reader.pages)
    pages = len(reader.pages)
    assert "Mary Doe" in text and "42 Harbour Road" in text and "Acme Health" in text
    assert "Lipid panel" in text and f"Page {pages} of {pages}" in text
    patient_ctx.close()


def test_health_records_at_desktop_width(browser, portal_url, people, screenshot):
    context = browser.new_context(viewport=DESKTOP, reduced_motion="reduce")
    page = context.new_page()
    sign_in(page, portal_url, people["mary"].email, PASSWORD)
    page.wait_for_url(f"{portal_url}/patient/")
    page.goto(f"{portal_url}/patient/records/info/")
    assert_accessible(page, "Update info (1280 px)")
    screenshot(page, "records-update-info-1280")
    page.goto(f"{portal_url}/patient/records/health/")
    assert_accessible(page, "Health records (1280 px)")
    screenshot(page, "records-health-1280")
    page.goto(f"{portal_url}/patient/records/export/")
    expect(page.get_by_role("heading", name="Export health records", level=1)).to_be_visible()
    assert_accessible(page, "Export health records (1280 px)")
    screenshot(page, "records-exports-1280")
    context.close()
