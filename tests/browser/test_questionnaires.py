"""Documents in the browser: at 375 px a patient fills a PHQ-9 by keyboard (an error summary
first), submits it and opens its PDF from Completed documents; at desktop width the clinician
sees the score and the SVG trend. axe on every page; screenshots in artifacts/screenshots/."""

from __future__ import annotations

import io
import re

import pytest
from playwright.sync_api import expect
from pypdf import PdfReader

from accounts.models import User
from invites.models import Clinic, ClinicMembership, ClinicPatient
from patient_portal.models import Chart
from questionnaires.builtins import install
from questionnaires.models import Assignment, Form, Question
from tests.browser.conftest import assert_accessible, complete_mfa, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "Browser-Patient-42!"
PHONE = {"width": 375, "height": 812}
DESKTOP = {"width": 1280, "height": 900}


@pytest.fixture
def setup(db) -> dict:
    install(Form, Question)
    riverside = Clinic.objects.create(name="Riverside Family Clinic")
    jane = User.objects.create_user(
        "jane.smith@example.com", PASSWORD, first_name="Jane", last_name="Smith", role="prescriber"
    )
    provider = ClinicMembership.objects.create(user=jane, clinic=riverside, role="provider")
    mary = User.objects.create_user(
        "mary.doe@example.com", PASSWORD, first_name="Mary", last_name="Doe", role="patient"
    )
    link = ClinicPatient.objects.create(clinic=riverside, provider=provider, user=mary)
    chart = Chart.objects.get(joined_link=link)
    phq9 = Form.objects.get(slug="phq-9", is_builtin=True)
    assignment = Assignment.objects.create(chart=chart, form=phq9, assigned_by=jane)
    return {"jane": jane, "mary": mary, "chart": chart, "assignment": assignment}


def test_patient_fills_phq9_by_keyboard_and_clinic_sees_the_trend(
    browser, portal_url, setup, screenshot
):
    context = browser.new_context(viewport=PHONE, reduced_motion="reduce")
    page = context.new_page()
    sign_in(page, portal_url, setup["mary"].email, PASSWORD)
    page.wait_for_url(f"{portal_url}/patient/")
    expect(page.get_by_role("heading", name="Pending documents")).to_be_visible()
    page.get_by_role("link", name="PHQ-9 (Patient Health Questionnaire)").click()
    page.wait_for_url(re.compile(r".*/patient/documents/\d+/$"))
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "PHQ-9 (Patient Health Questionnaire)"
    )
    assert_accessible(page, "PHQ-9 form (375 px)")
    screenshot(page, "questionnaires-fill-375")

    # Submit with nothing answered: the error summary lists the nine items and links to them.
    page.get_by_role("button", name="Submit").focus()
    page.keyboard.press("Enter")
    summary = page.get_by_role("alert").filter(has_text="There are 9 problems")
    expect(summary).to_be_visible()
    assert_accessible(page, "PHQ-9 with errors (375 px)")
    screenshot(page, "questionnaires-errors-375", full_page=False)

    # By keyboard: each item's group gets the focus on "Not at all", the arrow key moves to
    # "Several days" (and selects it), a second arrow to "More than half the days" on item 1.
    groups = page.locator("fieldset.qn-question")
    for i in range(9):
        group = groups.nth(i)
        group.get_by_role("radio", name="Not at all").focus()
        page.keyboard.press("Space")
        page.keyboard.press("ArrowDown")
        if i == 0:
            page.keyboard.press("ArrowDown")
    # Item 9 back to "Not at all" (no alert for this patient) with the arrow up.
    groups.nth(8).get_by_role("radio", name="Several days").focus()
    page.keyboard.press("ArrowUp")
    expect(groups.nth(8).get_by_role("radio", name="Not at all")).to_be_checked()
    expect(groups.nth(0).get_by_role("radio", name="More than half the days")).to_be_checked()
    page.get_by_role("button", name="Submit").focus()
    page.keyboard.press("Enter")
    page.wait_for_url(f"{portal_url}/patient/documents/")
    expect(page.get_by_text("is submitted")).to_be_visible()
    completed = page.locator("section", has=page.get_by_role("heading", name="Completed documents"))
    expect(completed).to_contain_text("Score 9 (Mild)")
    assert_accessible(page, "Documents after submitting (375 px)")
    screenshot(page, "questionnaires-list-375")

    link = completed.get_by_role("link", name=re.compile("^PDF"))
    href = link.get_attribute("href")
    response = page.request.get(f"{portal_url}{href}")
    assert response.status == 200 and response.headers["content-type"] == "application/pdf"
    text = "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(response.body())).pages)
    assert "Mary Doe" in text and "9 of 27" in text and "Mild" in text and "Page 1 of" in text
    with context.expect_page() as opened:
        link.click()
    pdf_page = opened.value
    pdf_page.wait_for_load_state()
    assert "/patient/documents/completed/" in pdf_page.url
    context.close()

    # The clinician, at desktop width.
    staff = browser.new_context(viewport=DESKTOP, reduced_motion="reduce")
    page = staff.new_page()
    sign_in(page, portal_url, setup["jane"].email, PASSWORD)
    complete_mfa(page, setup["jane"])
    page.goto(f"{portal_url}/clinic/portal/documents/charts/{setup['chart'].pk}/")
    expect(page.get_by_role("heading", name=re.compile("score over time"))).to_be_visible()
    expect(
        page.get_by_role("img", name=re.compile("PHQ-9 .* scores, 1 submission"))
    ).to_be_visible()
    expect(page.get_by_role("table").first).to_contain_text("Mild")
    expect(page.get_by_role("cell", name="9 · Mild")).to_be_visible()
    assert_accessible(page, "Clinic: chart documents (1280 px)")
    screenshot(page, "questionnaires-clinic-chart-1280")
    page.get_by_role("link", name="PHQ-9 (Patient Health Questionnaire)").first.click()
    expect(page.get_by_text("9 · Mild")).to_be_visible()
    assert_accessible(page, "Clinic: submission (1280 px)")
    screenshot(page, "questionnaires-clinic-submission-1280")
    page.goto(f"{portal_url}/clinic/portal/documents/forms/{setup['assignment'].form_id}/")
    assert_accessible(page, "Clinic: built-in form (1280 px)")
    staff.close()
