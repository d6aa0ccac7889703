"""The Schedule as a patient at phone width (book → Home → reschedule → cancel) while the clinic
watches its week calendar on a desktop; axe on every page; screenshots in artifacts/."""

from __future__ import annotations

import datetime as dt

import pytest
from playwright.sync_api import expect

from accounts.models import User
from invites.models import Clinic, ClinicMembership, ClinicPatient
from scheduling.models import Appointment, AppointmentType, BookingRules, WorkingHours
from scheduling.selectors import clinic_zone
from tests.browser.conftest import assert_accessible, complete_mfa, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "Browser-Patient-42!"
PHONE = {"width": 375, "height": 812}
DESKTOP = {"width": 1280, "height": 900}


@pytest.fixture
def cast(db) -> dict:
    riverside = Clinic.objects.create(name="Riverside Family Clinic", phone="4155550199")
    jane = User.objects.create_user(
        "jane.smith@example.com", PASSWORD, first_name="Jane", last_name="Smith", role="prescriber"
    )
    admin = User.objects.create_user(
        "carla.mendes@example.com",
        PASSWORD,
        first_name="Carla",
        last_name="Mendes",
        role="clinic_admin",
    )
    provider = ClinicMembership.objects.create(user=jane, clinic=riverside, role="provider")
    ClinicMembership.objects.create(user=admin, clinic=riverside, role="admin")
    mary = User.objects.create_user(
        "mary.doe@example.com",
        PASSWORD,
        first_name="Mary",
        last_name="Doe",
        role="patient",
        time_zone="America/Los_Angeles",
    )
    ClinicPatient.objects.create(clinic=riverside, provider=provider, user=mary)
    for day in range(7):
        WorkingHours.objects.create(
            provider=provider, weekday=day, start=dt.time(9), end=dt.time(17)
        )
    BookingRules.objects.create(
        clinic=riverside, min_notice_hours=48, horizon_days=30, cancel_cutoff_hours=24
    )
    AppointmentType.objects.create(clinic=riverside, name="Follow-up visit", duration_minutes=30)
    AppointmentType.objects.create(
        clinic=riverside, name="Procedure", duration_minutes=90, bookable_online=False
    )
    return {"mary": mary, "admin": admin, "provider": provider}


def calendar_url(portal_url: str, provider: ClinicMembership) -> str:
    appointment = Appointment.objects.order_by("-pk").first()
    assert appointment is not None
    week = appointment.starts_at.astimezone(clinic_zone(provider)).date()
    return f"{portal_url}/clinic/schedule/?provider={provider.pk}&week={week.isoformat()}"


def test_book_reschedule_cancel_while_the_clinic_watches(browser, portal_url, cast, screenshot):
    mary, admin, provider = cast["mary"], cast["admin"], cast["provider"]
    phone = browser.new_context(viewport=PHONE, reduced_motion="reduce").new_page()
    sign_in(phone, portal_url, mary.email, PASSWORD)
    phone.wait_for_url(f"{portal_url}/patient/")
    card = phone.get_by_role("region", name="Next appointment")
    expect(card).to_contain_text("no upcoming appointments")
    card.get_by_role("link", name="Book an appointment").click()

    phone.wait_for_url("**/patient/schedule/book/")
    expect(phone.get_by_role("link", name="Procedure")).to_have_count(0)  # clinic only
    assert_accessible(phone, "Book: type (375 px)")
    phone.get_by_role("link", name="Follow-up visit").click()
    phone.get_by_role("link", name="Jane Smith").click()
    expect(phone.get_by_text("America/Los_Angeles").first).to_be_visible()
    assert_accessible(phone, "Book: times (375 px)")
    screenshot(phone, "schedule-slots-375", full_page=False)
    phone.locator(".sched-day[open] .sched-slots a").first.click()
    assert_accessible(phone, "Book: confirm (375 px)")
    phone.get_by_role("button", name="Confirm booking").click()
    phone.wait_for_url("**/patient/schedule/")
    expect(phone.get_by_text("Your appointment is booked.")).to_be_visible()
    assert_accessible(phone, "Schedule (375 px)")
    screenshot(phone, "schedule-list-375")

    phone.goto(f"{portal_url}/patient/")
    card = phone.get_by_role("region", name="Next appointment")
    expect(card).to_contain_text("Follow-up visit with Jane Smith")
    screenshot(phone, "schedule-home-375", full_page=False)

    # The clinic, on a desktop: the appointment is on Jane's week.
    desk = browser.new_context(viewport=DESKTOP, reduced_motion="reduce").new_page()
    sign_in(desk, portal_url, admin.email, PASSWORD)
    complete_mfa(desk, admin)
    desk.goto(calendar_url(portal_url, provider))
    expect(desk.locator(".sched-appt--booked")).to_contain_text("Mary Doe")
    assert_accessible(desk, "Clinic calendar (1280 px)")
    screenshot(desk, "schedule-calendar-1280", full_page=False)
    day_of = "e => e.closest('section').getAttribute('aria-labelledby')"
    before = desk.locator(".sched-appt--booked").evaluate(day_of)

    # Reschedule to another day's first time.
    phone.goto(f"{portal_url}/patient/schedule/")
    phone.get_by_role("link", name="Reschedule").click()
    phone.locator(".sched-day").nth(2).locator("summary").click()
    phone.locator(".sched-day").nth(2).locator(".sched-slots a").first.click()
    phone.get_by_role("button", name="Confirm new time").click()
    expect(phone.get_by_text("Your appointment is moved.")).to_be_visible()
    desk.goto(calendar_url(portal_url, provider))
    expect(desk.locator(".sched-appt--booked")).to_contain_text("Mary Doe")
    assert desk.locator(".sched-appt--booked").evaluate(day_of) != before

    # Cancel.
    phone.get_by_role("link", name="Cancel").first.click()
    assert_accessible(phone, "Cancel (375 px)")
    phone.get_by_role("button", name="Cancel this appointment").click()
    expect(phone.get_by_text("Your appointment is cancelled.")).to_be_visible()
    expect(phone.get_by_role("region", name="Upcoming appointments")).to_contain_text(
        "no upcoming appointments"
    )
    desk.goto(calendar_url(portal_url, provider))
    expect(desk.locator(".sched-appt--cancelled")).to_contain_text("Mary Doe")
    expect(desk.locator(".sched-appt--booked")).to_have_count(0)
    screenshot(desk, "schedule-calendar-cancelled-1280", full_page=False)

    # The clinic's day view at phone width.
    small = browser.new_context(viewport=PHONE, reduced_motion="reduce").new_page()
    small.context.add_cookies(desk.context.cookies())
    small.goto(calendar_url(portal_url, provider))
    assert_accessible(small, "Clinic calendar (375 px)")
    screenshot(small, "schedule-calendar-375", full_page=False)
