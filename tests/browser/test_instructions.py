"""Clinician's Instructions end to end: a provider writes one (desktop), the parent reads it at
phone width (375 px) for her child, and the clinic sees the first-read time. axe on every page;
screenshots in artifacts/screenshots/instructions-*.png."""

from __future__ import annotations

import datetime as dt

import pytest
from playwright.sync_api import expect

from accounts.models import User
from instructions.models import InstructionRead
from invites.models import Clinic, ClinicMembership, ClinicPatient
from patient_portal.models import Chart, ProxyGrant
from tests.browser.conftest import assert_accessible, complete_mfa, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "Browser-Patient-42!"
PHONE = {"width": 375, "height": 812}
DESKTOP = {"width": 1280, "height": 860}
TEXT = (
    "## Evenings\n\n- Bed by **8 pm**\n- No screens after dinner\n\n"
    "Questions? See the [sleep guide](https://example.org/sleep).\n\n"
    "<script>alert('x')</script> [bad](javascript:alert(1))"
)


@pytest.fixture
def people(db) -> dict[str, User]:
    riverside = Clinic.objects.create(name="Riverside Family Clinic", phone="4155550199")
    jane = User.objects.create_user(
        "jane.smith@example.com", PASSWORD, first_name="Jane", last_name="Smith", role="prescriber"
    )
    prov_jane = ClinicMembership.objects.create(user=jane, clinic=riverside, role="provider")
    mary = User.objects.create_user(
        "mary.doe@example.com", PASSWORD, first_name="Mary", last_name="Doe", role="patient"
    )
    ClinicPatient.objects.create(clinic=riverside, provider=prov_jane, user=mary)
    tim = Chart.objects.create(
        clinic=riverside,
        provider=prov_jane,
        legal_first_name="Tim",
        legal_last_name="Doe",
        date_of_birth=dt.date(2017, 9, 3),
    )
    ProxyGrant.objects.create(chart=tim, grantee=mary, relationship="parent")
    return {"jane": jane, "mary": mary}


def test_a_provider_writes_the_parent_reads_the_clinic_sees(
    browser, portal_url, people, screenshot
):
    dialogs: list[str] = []
    # The provider, at desktop width.
    staff = browser.new_context(viewport=DESKTOP, reduced_motion="reduce")
    desk = staff.new_page()
    desk.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    sign_in(desk, portal_url, people["jane"].email, PASSWORD)
    complete_mfa(desk, people["jane"])
    desk.goto(f"{portal_url}/clinic/portal/charts/")
    desk.get_by_role("link", name="Tim Doe").click()
    desk.get_by_role("link", name="Clinician's Instructions").click()
    expect(desk.get_by_role("heading", name="Nothing shared yet")).to_be_visible()
    desk.get_by_role("link", name="Write an instruction").click()
    desk.get_by_label("Title").fill("Sleep plan")
    desk.get_by_label("Text").fill(TEXT)
    assert_accessible(desk, "Write an instruction (1280 px)")
    screenshot(desk, "instructions-write-1280")
    desk.get_by_role("button", name="Share with the patient").click()
    expect(desk.get_by_text("“Sleep plan” is shared with Tim Doe.")).to_be_visible()
    expect(desk.locator(".ins-body strong")).to_have_text("8 pm")
    expect(desk.get_by_text("Not read yet")).to_be_visible()

    # The parent, at phone width: Home card → the instruction.
    phone_ctx = browser.new_context(viewport=PHONE, reduced_motion="reduce")
    phone = phone_ctx.new_page()
    phone.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    sign_in(phone, portal_url, people["mary"].email, PASSWORD)
    phone.wait_for_url(f"{portal_url}/patient/")
    phone.get_by_label("Viewing").select_option(
        label="Tim Doe (child) — Jane Smith, Riverside Family Clinic"
    )
    phone.get_by_role("button", name="Switch").click()
    expect(phone.get_by_role("heading", level=1)).to_have_text("Tim Doe")
    card = phone.locator(
        "section", has=phone.get_by_role("heading", name="Clinician's Instructions")
    )
    expect(card).to_contain_text("1 new instruction")
    assert_accessible(phone, "Home with a new instruction (375 px)")
    screenshot(phone, "instructions-home-375", full_page=False)
    card.get_by_role("link", name="All instructions").click()
    phone.wait_for_url("**/patient/instructions/")
    expect(phone.get_by_role("heading", name="Clinician's Instructions", level=1)).to_be_visible()
    expect(phone.locator(".ins-item--unread")).to_have_count(1)
    assert_accessible(phone, "Instructions list (375 px)")
    screenshot(phone, "instructions-list-375")
    phone.get_by_role("link", name="Sleep plan").click()
    expect(phone.get_by_role("heading", name="Sleep plan", level=1)).to_be_visible()
    expect(phone.locator(".ins-body li").first).to_have_text("Bed by 8 pm")
    # The script and the javascript: link typed by the provider are inert text.
    expect(phone.get_by_text("<script>alert('x')</script>")).to_be_visible()
    expect(phone.locator(".ins-body")).to_contain_text("bad")
    expect(phone.locator('.ins-body a[href^="javascript"]')).to_have_count(0)
    assert_accessible(phone, "An instruction (375 px)")
    screenshot(phone, "instructions-read-375")
    # No horizontal scrolling at phone width.
    assert phone.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    phone.get_by_role("link", name="← All instructions").click()
    expect(phone.locator(".ins-item--unread")).to_have_count(0)
    phone.set_viewport_size(DESKTOP)
    assert_accessible(phone, "Instructions list (1280 px)")
    screenshot(phone, "instructions-list-1280", full_page=False)

    # The clinic sees who first read it, and when.
    read = InstructionRead.objects.get()
    assert read.reader_id == people["mary"].pk and read.on_behalf_of == "Tim Doe"
    desk.reload()
    expect(desk.get_by_text("First read by Mary Doe (for Tim Doe)")).to_be_visible()
    assert_accessible(desk, "Instruction, read (1280 px)")
    screenshot(desk, "instructions-clinic-read-1280")
    desk.get_by_role("link", name="Clinician's Instructions").last.click()
    expect(desk.get_by_text("First read by Mary Doe (for Tim Doe)")).to_be_visible()
    assert_accessible(desk, "Chart instructions (1280 px)")
    screenshot(desk, "instructions-clinic-chart-1280")
    desk.set_viewport_size(PHONE)
    assert_accessible(desk, "Chart instructions (375 px)")
    screenshot(desk, "instructions-clinic-chart-375")
    assert dialogs == []
    staff.close()
    phone_ctx.close()
