"""Dashboard and patient profile in a real browser: filters, history, pop-ups, accessibility."""

import datetime as dt
import re

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from prescriptions.models import Prescription, Status, StatusChange
from tests.browser.conftest import assert_accessible, complete_mfa, sign_in
from tests.conftest import PASSWORD, make_patient, make_rx

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PRIMARY_BLUE = "rgb(21, 87, 176)"  # --c-primary


@pytest.fixture
def book(cast):
    """Alice's book, varied enough to filter and to look like a real dashboard."""
    today = timezone.localdate()
    Prescription.objects.filter(pk=cast.rx_shared_alice.pk).update(
        status=Status.DUE_FOR_FILL, last_shipped=today - dt.timedelta(days=12), priority="Dec 2026"
    )
    StatusChange.objects.create(
        prescription=cast.rx_shared_alice,
        to_status=Status.REFERRAL_RECEIVED,
        changed_at=timezone.now() - dt.timedelta(days=40),
    )
    StatusChange.objects.create(
        prescription=cast.rx_shared_alice,
        from_status=Status.REFERRAL_RECEIVED,
        to_status=Status.DUE_FOR_FILL,
        changed_at=timezone.now() - dt.timedelta(days=2),
    )
    people = [
        ("Ashley", "Waldorf", Status.DUE_FOR_FILL, "Abiraterone Acetate"),
        ("Mikey", "Bronkh", Status.PA_PENDING, "Stelara"),
        ("Priya", "Patel", Status.ORDER_SHIPPED, "Skyrizi"),
        ("Hiro", "Tanaka", Status.DELIVERED, "Cosentyx"),
        ("Grace", "Okafor", Status.ON_HOLD, "Xeljanz"),
    ]
    for n, (first, last, status, medication) in enumerate(people):
        patient = make_patient(
            f"P-B{n}", first, last, date_of_birth=dt.date(1960 + 5 * n, 1 + n, 10)
        )
        make_rx(
            f"RX50{n}",
            patient,
            cast.npi_alice,
            cast.pharmacy,
            status=status,
            medication_name=medication,
            last_shipped=today - dt.timedelta(days=7 * n + 3) if n % 2 else None,
            priority="Jan 2027",
        )
    return cast


def test_it_filters_opens_a_profile_and_a_prescription_pop_up(book, page, portal_url, screenshot):
    sign_in(page, portal_url, book.alice.email, PASSWORD)
    complete_mfa(page, book.alice)
    page.wait_for_url(re.compile(r"/dashboard/"))
    expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()
    expect(page.get_by_role("link", name="CEDRIC STONE")).to_have_count(0)  # carol's patient
    assert_accessible(page, "dashboard")
    screenshot(page, "dashboard-desktop")

    # A quick filter applies at once, turns blue and is listed under Filters.
    chip = page.get_by_role("button", name="Due for Fill", exact=True)
    chip.click()
    expect(page).to_have_url(re.compile(r"\?quick=due$"))
    chip = page.get_by_role("button", name="Due for Fill", exact=True)
    expect(chip).to_have_attribute("aria-pressed", "true")
    expect(chip).to_have_css("background-color", PRIMARY_BLUE)
    filters = page.locator(".active-filters")
    expect(filters.get_by_role("link", name="Remove filter Due for Fill")).to_be_visible()
    expect(page.locator("tbody tr")).to_have_count(2)

    # A field filter: "Select Field", then a value; both filters now apply.
    page.get_by_label("Select Field").select_option(label="Last Name")
    page.get_by_label("Last Name", exact=True).fill("shar")
    page.get_by_role("button", name="Apply filter").click()
    expect(filters.get_by_role("link", name="Remove filter Last Name: shar")).to_be_visible()
    expect(page).to_have_url(re.compile(r"\?quick=due&last_name=shar$"))
    expect(page.locator("tbody tr")).to_have_count(1)
    assert_accessible(page, "dashboard with filters")

    # Remove one: the quick filter goes, the field filter stays.
    filters.get_by_role("link", name="Remove filter Due for Fill").click()
    expect(page).to_have_url(re.compile(r"\?last_name=shar$"))
    expect(page.get_by_role("button", name="Due for Fill", exact=True)).to_have_attribute(
        "aria-pressed", "false"
    )
    expect(filters.get_by_role("link", name="Remove filter Due for Fill")).to_have_count(0)

    # Back restores the previous filters (hx-push-url history).
    page.go_back()
    expect(page).to_have_url(re.compile(r"\?quick=due&last_name=shar$"))
    expect(page.get_by_role("button", name="Due for Fill", exact=True)).to_have_attribute(
        "aria-pressed", "true"
    )
    page.go_forward()
    expect(page).to_have_url(re.compile(r"\?last_name=shar$"))

    # Sorting marks the column.
    page.get_by_role("link", name=re.compile("^Last Shipped")).click()
    expect(page.locator("th[aria-sort='ascending']")).to_contain_text("Last Shipped")

    # The Chat button opens the request pop-up for that prescription.
    page.get_by_role("link", name="Chat about Dupixent (Rx 3001)").click()
    chat = page.get_by_role("dialog")
    expect(chat).to_be_visible()
    expect(chat.get_by_role("link", name="Create a new request")).to_be_visible()
    assert_accessible(page, "chat pop-up")
    page.keyboard.press("Escape")
    expect(chat).to_be_hidden()

    # The patient's name opens the profile.
    page.get_by_role("link", name="SAM SHARED").click()
    page.wait_for_url(re.compile(r"/patients/\d+/$"))
    expect(page.get_by_role("heading", name="Active Prescriptions")).to_be_visible()
    expect(page.get_by_text("Enbrel")).to_have_count(0)  # carol's prescription for Sam
    assert_accessible(page, "patient profile")
    screenshot(page, "profile-desktop")

    # The medication opens the details pop-up; Escape closes it and focus returns.
    link = page.get_by_role("link", name="Dupixent 40 MG/0.4ML KIT")
    link.click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text("Dispensing Pharmacy")
    expect(dialog).to_contain_text("CareLink Specialty Pharmacy")
    expect(dialog.locator(".timeline li")).to_have_count(2)
    assert_accessible(page, "prescription pop-up")
    screenshot(page, "profile-rx-popup", full_page=False)
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    expect(link).to_be_focused()


def test_it_works_at_phone_width(book, page, portal_url, screenshot):
    page.set_viewport_size({"width": 390, "height": 844})
    sign_in(page, portal_url, book.alice.email, PASSWORD)
    complete_mfa(page, book.alice)
    page.wait_for_url(re.compile(r"/dashboard/"))
    # At this width the filters are folded behind "Filters (n)".
    page.get_by_role("button", name="Filters (0)").click()
    page.get_by_role("button", name="Needs attention", exact=True).click()
    expect(page).to_have_url(re.compile(r"\?quick=attention$"))
    # No table header at this width: a menu sorts instead.
    page.get_by_label("Sort by").select_option(label="Last Shipped (descending)")
    page.get_by_role("button", name="Sort", exact=True).click()
    expect(page).to_have_url(re.compile(r"\?quick=attention&sort=-last_shipped$"))
    expect(page.get_by_label("Sort by")).to_have_value("-last_shipped")
    assert_accessible(page, "dashboard at phone width")
    screenshot(page, "dashboard-phone")
    page.get_by_role("link", name="MIKEY BRONKH").click()
    page.wait_for_url(re.compile(r"/patients/\d+/$"))
    assert_accessible(page, "profile at phone width")
    screenshot(page, "profile-phone")


def test_it_works_without_javascript(book, browser, portal_url):
    context = browser.new_context(
        java_script_enabled=False, viewport={"width": 1366, "height": 900}
    )
    page = context.new_page()
    sign_in(page, portal_url, book.alice.email, PASSWORD)
    complete_mfa(page, book.alice)
    page.wait_for_url(re.compile(r"/dashboard/"))
    page.get_by_role("button", name="Prior authorization pending", exact=True).click()
    expect(page).to_have_url(re.compile(r"\?quick=pa$"))
    page.get_by_label("Medication", exact=True).fill("stel")
    page.get_by_role("button", name="Apply filter").click()
    expect(page).to_have_url(re.compile(r"\?quick=pa&medication=stel$"))
    expect(page.locator("tbody tr")).to_have_count(1)
    context.close()
