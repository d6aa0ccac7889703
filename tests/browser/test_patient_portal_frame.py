"""The patient portal's frame at phone width, as a patient: sign in → Home → switch to the
child's chart → Account, axe on every page; screenshots at 375 and 1280 px in artifacts/."""

from __future__ import annotations

import datetime as dt

import pytest
from playwright.sync_api import expect

from accounts.models import User
from invites.models import Clinic, ClinicMembership, ClinicPatient
from patient_portal.models import Chart, DashboardMessage, ProxyGrant
from tests.browser.conftest import assert_accessible, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "Browser-Patient-42!"
PHONE = {"width": 375, "height": 812}
DESKTOP = {"width": 1280, "height": 860}


@pytest.fixture
def mary(db) -> User:
    riverside = Clinic.objects.create(name="Riverside Family Clinic", phone="4155550199")
    lakeside = Clinic.objects.create(name="Lakeside Dermatology")
    jane = User.objects.create_user(
        "jane.smith@example.com", PASSWORD, first_name="Jane", last_name="Smith", role="prescriber"
    )
    linh = User.objects.create_user(
        "linh.nguyen@example.com",
        PASSWORD,
        first_name="Linh",
        last_name="Nguyen",
        role="prescriber",
    )
    prov_jane = ClinicMembership.objects.create(user=jane, clinic=riverside, role="provider")
    prov_linh = ClinicMembership.objects.create(user=linh, clinic=lakeside, role="provider")
    mary = User.objects.create_user(
        "mary.doe@example.com", PASSWORD, first_name="Mary", last_name="Doe", role="patient"
    )
    ClinicPatient.objects.create(clinic=riverside, provider=prov_jane, user=mary)
    ClinicPatient.objects.create(clinic=lakeside, provider=prov_linh, user=mary)
    tim = Chart.objects.create(
        clinic=riverside,
        provider=prov_jane,
        legal_first_name="Tim",
        legal_last_name="Doe",
        date_of_birth=dt.date(2017, 9, 3),
    )
    ProxyGrant.objects.create(chart=tim, grantee=mary, relationship="parent")
    DashboardMessage.objects.create(
        provider=prov_jane,
        text="Welcome to the Riverside patient portal. Send me a message here for non-urgent "
        "questions; I answer within two working days.\n\nFlu shots are available every weekday "
        "morning — no appointment needed.",
    )
    return mary


def test_a_patient_at_phone_width(browser, portal_url, mary, screenshot):
    context = browser.new_context(viewport=PHONE, reduced_motion="reduce")
    page = context.new_page()
    sign_in(page, portal_url, mary.email, PASSWORD)
    page.wait_for_url(f"{portal_url}/patient/")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Welcome, Mary")
    expect(page.get_by_role("heading", name="Clinician Information")).to_be_visible()
    switch = page.get_by_label("Viewing")
    expect(switch).to_be_visible()
    # The bottom bar holds the sections at phone width (the first ones; the rest under More).
    tabbar = page.locator(".pp-tabbar")
    expect(tabbar.get_by_role("link", name="Home")).to_be_visible()
    expect(tabbar.locator("summary", has_text="More")).to_be_visible()
    assert_accessible(page, "Home (375 px)")
    screenshot(page, "patient-home-375", full_page=False)

    # The Riverside chart: Jane Smith's Portal Dashboard message.
    switch.select_option(label="Me — Jane Smith, Riverside Family Clinic")
    page.get_by_role("button", name="Switch").click()
    expect(page.get_by_text("Flu shots are available")).to_be_visible()

    # Switch to the child, by keyboard: focus the select, choose, then the Switch button.
    switch = page.get_by_label("Viewing")
    switch.focus()
    switch.select_option(label="Tim Doe (child) — Jane Smith, Riverside Family Clinic")
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    page.wait_for_load_state()
    expect(page.get_by_role("heading", level=1)).to_have_text("Tim Doe")
    expect(page.get_by_role("note")).to_contain_text("You are acting for Tim Doe")
    assert_accessible(page, "Home as Tim's parent (375 px)")
    screenshot(page, "patient-home-child-375", full_page=False)

    tabbar = page.locator(".pp-tabbar")
    account = tabbar.get_by_role("link", name="Account")
    if not account.is_visible():
        tabbar.locator("summary", has_text="More").click()
    account.click()
    page.wait_for_url("**/patient/account/")
    expect(page.get_by_role("heading", name="Account", level=1)).to_be_visible()
    # The current section is marked in the bottom bar (under More when it is not a first tab).
    current = page.locator(".pp-tabbar a[aria-current='page']")
    expect(current).to_have_count(1)
    assert (current.text_content() or "").strip() == "Account"
    assert_accessible(page, "Account (375 px)")
    screenshot(page, "patient-account-375")
    context.close()


def test_a_patient_at_desktop_width(browser, portal_url, mary, screenshot):
    context = browser.new_context(viewport=DESKTOP, reduced_motion="reduce")
    page = context.new_page()
    sign_in(page, portal_url, mary.email, PASSWORD)
    page.wait_for_url(f"{portal_url}/patient/")
    page.get_by_label("Viewing").select_option(label="Me — Jane Smith, Riverside Family Clinic")
    page.get_by_role("button", name="Switch").click()
    expect(page.get_by_text("Flu shots are available")).to_be_visible()
    # Desktop: the sections are a sidebar (the phone's bottom bar is not displayed).
    sidebar = page.locator(".pp-sidebar")
    expect(sidebar.get_by_role("link", name="Home")).to_have_attribute("aria-current", "page")
    expect(page.locator(".pp-tabbar")).to_be_hidden()
    assert_accessible(page, "Home (1280 px)")
    screenshot(page, "patient-home-1280", full_page=False)
    sidebar.get_by_role("link", name="Account").click()
    page.wait_for_url("**/patient/account/")
    assert_accessible(page, "Account (1280 px)")
    screenshot(page, "patient-account-1280")
    context.close()
