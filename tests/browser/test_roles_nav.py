"""The nav per role in a real browser: the phone-width menu button, and axe on the pages each
role can open that the other browser tests do not visit (dashboard as delegate and pharmacist,
the 403 page, the clinic's patients, the ops audit log)."""

from __future__ import annotations

import time

import pytest
from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.contrib.sessions.backends.db import SessionStore
from django_otp.plugins.otp_totp.models import TOTPDevice
from playwright.sync_api import expect

from accounts.models import User
from audit.models import AuditEvent
from invites.models import Clinic, ClinicMembership, ClinicPatient
from requests_chat.models import Message, Request
from tests.browser.conftest import assert_accessible
from tests.conftest import make_user

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 375, "height": 740}
DESKTOP = {"width": 1280, "height": 800}


def session_cookie(user: User, *, verified: bool = True) -> dict:
    """A signed-in (second factor passed) session for `user`, as the sign-in pages would leave it.

    The sign-in form and MFA are tested elsewhere (test_sign_in.py); here many roles sign in.
    """
    store = SessionStore()
    store[SESSION_KEY] = str(user.pk)
    store[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    store[HASH_SESSION_KEY] = user.get_session_auth_hash()
    store["last_activity"] = time.time()
    if verified and not user.is_patient:
        device, _ = TOTPDevice.objects.get_or_create(
            user=user, name="Authenticator", defaults={"confirmed": True}
        )
        store["otp_device_id"] = device.persistent_id
    store.save()
    return {"name": settings.SESSION_COOKIE_NAME, "value": store.session_key}


@pytest.fixture
def open_as(browser, portal_url):
    """`open_as(user, path, viewport)` -> a page signed in as `user`, at `path`."""
    contexts = []

    def _open(user: User, path: str, viewport: dict | None = None):
        context = browser.new_context(viewport=viewport or DESKTOP, reduced_motion="reduce")
        contexts.append(context)
        context.add_cookies([{**session_cookie(user), "url": portal_url}])
        page = context.new_page()
        page.goto(f"{portal_url}{path}")
        return page

    yield _open
    for context in contexts:
        context.close()


@pytest.fixture
def clinic(cast):
    riverside = Clinic.objects.create(name="Riverside Family Clinic")
    admin = make_user("carla.mendes@example.com", User.Role.CLINIC_ADMIN)
    ClinicMembership.objects.create(user=admin, clinic=riverside, role="admin")
    provider = ClinicMembership.objects.create(
        user=cast.alice, clinic=riverside, role="provider", prescriber=cast.npi_alice
    )
    patient = make_user("pat.patient@example.com", User.Role.PATIENT)
    ClinicPatient.objects.create(clinic=riverside, provider=provider, user=patient)
    return {"clinic": riverside, "admin": admin, "patient": patient}


# The menu button at phone width ----------------------------------------------------------


def test_the_phone_menu_is_a_keyboard_and_screen_reader_disclosure(
    cast, clinic, open_as, screenshot
):
    page = open_as(cast.alice, "/dashboard/", PHONE)
    nav = page.get_by_role("navigation", name="Main")
    button = nav.get_by_role("button", name="Menu")
    expect(button).to_be_visible()
    expect(button).to_have_attribute("aria-expanded", "false")
    controlled = button.get_attribute("aria-controls")
    assert page.locator(f"#{controlled}").count() == 1
    expect(nav.get_by_role("link", name="Profile")).to_be_hidden()
    # Nothing is cut off or pushed sideways at 375 px.
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    assert_accessible(page, "phone, menu closed")
    screenshot(page, "nav-phone-closed", full_page=False)

    # Keyboard: Tab reaches the button, Enter opens it, the links follow it in tab order.
    button.focus()
    page.keyboard.press("Enter")
    expect(button).to_have_attribute("aria-expanded", "true")
    for name in ("Dashboard", "Requests", "Administration", "Clinic", "Profile"):
        link = nav.get_by_role("link", name=name)
        expect(link).to_be_visible()
        box = link.bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"], name
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent.trim()") == "Dashboard"
    assert_accessible(page, "phone, menu open")
    screenshot(page, "nav-phone-open", full_page=False)

    # Escape closes it and puts the focus back on the button.
    page.keyboard.press("Escape")
    expect(button).to_have_attribute("aria-expanded", "false")
    expect(nav.get_by_role("link", name="Profile")).to_be_hidden()
    assert page.evaluate("document.activeElement.getAttribute('aria-controls')") == controlled

    # A click outside closes it too; a link in it works.
    button.click()
    page.mouse.click(PHONE["width"] // 2, PHONE["height"] - 20)
    expect(button).to_have_attribute("aria-expanded", "false")
    button.click()
    nav.get_by_role("link", name="Clinic").click()
    page.wait_for_url("**/clinic/invite/")


def test_at_desktop_width_the_links_show_and_there_is_no_menu_button(cast, open_as, screenshot):
    page = open_as(cast.alice, "/dashboard/", DESKTOP)
    nav = page.get_by_role("navigation", name="Main")
    expect(nav.get_by_role("button", name="Menu")).to_be_hidden()
    for name in ("Dashboard", "Requests", "Administration", "Profile"):
        expect(nav.get_by_role("link", name=name)).to_be_visible()
    assert_accessible(page, "desktop nav")
    screenshot(page, "nav-desktop", full_page=False)


def test_a_patient_lands_on_their_portal_and_sees_no_staff_link(clinic, open_as, screenshot):
    # Patients land on the patient portal's Home (not a staff page, not a redirect loop), with
    # the portal's own navigation and none of the staff nav.
    for viewport, name in ((DESKTOP, "desktop"), (PHONE, "phone")):
        page = open_as(clinic["patient"], "/", viewport)
        expect(page.get_by_role("heading", level=1)).to_contain_text("Welcome")
        expect(page.get_by_role("navigation", name="Main")).to_have_count(0)
        portal_nav = page.get_by_role("navigation", name="Patient portal").filter(
            has=page.get_by_role("link", name="Home")
        )
        expect(portal_nav.first.get_by_role("link", name="Home").first).to_be_attached()
        for staff in ("Dashboard", "Requests", "Clinic", "Administration"):
            expect(page.get_by_role("link", name=staff, exact=True)).to_have_count(0)
        assert_accessible(page, f"patient landing ({name})")
        screenshot(page, f"nav-patient-{name}", full_page=False)


# axe on the pages each role can open -------------------------------------------------------


def roles(cast, clinic) -> dict[str, User]:
    return {
        "prescriber": cast.alice,
        "delegate": cast.bob,
        "pharmacist": cast.phil,
        "clinic admin": clinic["admin"],
        "ops": cast.olivia,
    }


@pytest.mark.parametrize("width", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_pages_each_role_can_open_have_no_axe_violations(cast, clinic, open_as, width):
    people = roles(cast, clinic)
    event = AuditEvent.objects.create(
        user=cast.alice,
        user_email=cast.alice.email,
        action=AuditEvent.Action.VIEW,
        object_type="patient",
        object_id=str(cast.pat_alice.pk),
        description="patient profile",
        path="/patients/1/",
    )
    # Unread messages for the delegate and the pharmacist: the Chat buttons show a count.
    chat = Request.objects.create(prescription=cast.rx_alice, created_by=cast.alice)
    for n in range(2):
        Message.objects.create(
            request=chat, author=cast.alice, author_name="Alice Adams", body="Hi", client_id=f"m{n}"
        )
    visits = [
        # The dashboard, as everyone who has one.
        *((who, "/dashboard/", "Dashboard") for who in ("prescriber", "delegate", "pharmacist")),
        # The 403 page: colleagues who are not prescribers, on Administration.
        *(
            (who, "/accounts/administration/", "You can't do that here")
            for who in ("delegate", "pharmacist", "clinic admin", "ops")
        ),
        # The clinic's joined patients: its admin and its provider.
        *((who, "/clinic/patients/", None) for who in ("clinic admin", "prescriber")),
        # The ops audit log, list and one event.
        ("ops", "/ops/audit/auditevent/", None),
        ("ops", f"/ops/audit/auditevent/{event.pk}/change/", None),
    ]
    for who, path, heading in visits:
        page = open_as(people[who], path, width)
        assert page.url.endswith(path), f"{who} on {path} went to {page.url}"
        if heading:
            expect(page.get_by_role("heading", name=heading, exact=False).first).to_be_visible()
        assert_accessible(page, f"{path} as {who}")
        page.context.close()


# Time: the browser reports its zone, and the server then uses it --------------------------


def test_the_browser_reports_its_zone_and_pages_use_it(cast, browser, portal_url):
    context = browser.new_context(viewport=DESKTOP, timezone_id="Asia/Tokyo")
    try:
        context.add_cookies([{**session_cookie(cast.alice), "url": portal_url}])
        page = context.new_page()
        page.goto(f"{portal_url}/dashboard/")
        cookies = {c["name"]: c["value"] for c in context.cookies()}
        assert cookies.get("tz") == "Asia%2FTokyo"
        page.goto(f"{portal_url}/accounts/profile/")
        expect(page.get_by_text("Times are shown in Asia/Tokyo")).to_be_visible()
        assert_accessible(page, "profile with the time zone form")
    finally:
        context.close()
