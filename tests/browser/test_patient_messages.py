"""Messages, as a parent on a phone and a provider at a desk, by the manual's section names.

The patient joins Riverside by invite (code and last name, then creates her account) → Home →
switches to her child's chart → Messages → "Send a message" with a photo (PNG) → archives the
conversation. The provider, in a second browser at desktop width, sees the thread arrive live
in the Clinic inbox, opens it and replies; the reply appears on the patient's page without a
reload. axe on every page; screenshots at 375 and 1280 px in artifacts/screenshots/messages-*.
"""

from __future__ import annotations

import datetime as dt

import pytest
from PIL import Image
from playwright.sync_api import expect

from accounts.models import User
from invites.models import Clinic, ClinicMembership, Invite
from messaging.models import Attachment, Thread
from patient_portal.models import Chart, ProxyGrant
from tests.browser.conftest import assert_accessible, complete_mfa, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "Browser-Messages-42!"
PATIENT_PASSWORD = "Blue-Harbor-Lamp-73"
PHONE = {"width": 375, "height": 812}
DESKTOP = {"width": 1280, "height": 860}


@pytest.fixture
def riverside(db):
    clinic = Clinic.objects.create(name="Riverside Family Clinic", phone="4155550199")
    jane = User.objects.create_user(
        "jane.smith@example.com", PASSWORD, first_name="Jane", last_name="Smith", role="prescriber"
    )
    provider = ClinicMembership.objects.create(user=jane, clinic=clinic, role="provider")
    tim = Chart.objects.create(
        clinic=clinic,
        provider=provider,
        legal_first_name="Tim",
        legal_last_name="Doe",
        date_of_birth=dt.date(2017, 9, 3),
    )
    invite = Invite.objects.create(
        clinic=clinic,
        provider=provider,
        first_name="Mary",
        last_name="Doe",
        email="mary.doe@example.com",
        code="482913",
        invited_by=jane,
    )
    return {"clinic": clinic, "jane": jane, "tim": tim, "invite": invite}


def photo(tmp_path) -> str:
    path = tmp_path / "rash.png"
    Image.new("RGB", (320, 240), (214, 96, 80)).save(path, "PNG")
    return str(path)


def test_a_parent_sends_a_photo_and_the_clinic_replies_live(
    browser, portal_url, riverside, screenshot, tmp_path
):
    patient_context = browser.new_context(viewport=PHONE, reduced_motion="reduce")
    patient = patient_context.new_page()

    # Join by invite: the code and last name, then an account, then sign in.
    patient.goto(f"{portal_url}/clinic/join/")
    patient.get_by_role("textbox", name="Invite Code").fill("482913")
    patient.get_by_label("Last Name").fill("Doe")
    patient.get_by_role("button", name="Continue").click()
    create = patient.get_by_role("region", name="Create your account")
    create.get_by_label("Password").first.fill(PATIENT_PASSWORD)
    create.get_by_label("Confirm Password").fill(PATIENT_PASSWORD)
    create.get_by_role("button", name="Create account and join").click()
    patient.get_by_role("link", name="Sign in").click()
    patient.get_by_label("Email").fill("mary.doe@example.com")
    patient.get_by_label("Password").fill(PATIENT_PASSWORD)
    patient.get_by_role("button", name="Sign in").click()
    expect(
        patient.get_by_role("heading", name="You have joined Riverside Family Clinic")
    ).to_be_visible()
    # The clinic links her account to her son's chart (Charts › Link an existing account).
    mary = User.objects.get(email="mary.doe@example.com")
    ProxyGrant.objects.create(chart=riverside["tim"], grantee=mary, relationship="parent")

    # Home: the Messages card says what to do.
    patient.goto(f"{portal_url}/patient/")
    expect(patient.get_by_role("heading", name="Messages")).to_be_visible()
    expect(patient.get_by_text("No messages yet")).to_be_visible()
    assert_accessible(patient, "Home (375 px)")
    screenshot(patient, "messages-home-375", full_page=False)

    # Switch to the child's chart.
    patient.get_by_label("Viewing").select_option(
        label="Tim Doe (child) — Jane Smith, Riverside Family Clinic"
    )
    patient.get_by_role("button", name="Switch").click()
    expect(patient.get_by_role("heading", level=1)).to_have_text("Tim Doe")

    # The clinic, at a desk: Jane signs in (second factor) and opens the Clinic inbox.
    clinic_context = browser.new_context(viewport=DESKTOP, reduced_motion="reduce")
    clinic = clinic_context.new_page()
    sign_in(clinic, portal_url, "jane.smith@example.com", PASSWORD)
    complete_mfa(clinic, riverside["jane"])
    clinic.goto(f"{portal_url}/clinic/messages/")
    expect(clinic.get_by_role("heading", name="Messages", level=1)).to_be_visible()
    expect(clinic.get_by_text("No messages here")).to_be_visible()
    assert_accessible(clinic, "Clinic inbox, empty (1280 px)")

    # Messages → Send a message, with a photo.
    patient.get_by_role("navigation", name="Patient portal").get_by_role(
        "link", name="Messages"
    ).first.click()
    patient.wait_for_url("**/patient/messages/")
    expect(patient.get_by_text("No messages yet")).to_be_visible()
    assert_accessible(patient, "Messages inbox, empty (375 px)")
    patient.get_by_role("link", name="Send a message").first.click()
    patient.wait_for_url("**/patient/messages/new/")
    assert_accessible(patient, "Send a message (375 px)")
    patient.get_by_label("My clinician").check()
    patient.get_by_label("Subject").fill("Rash on Tim's arm")
    patient.get_by_label("Message").fill("Tim has had this rash for three days. Photo attached.")
    patient.get_by_label("Attach a photo or PDF").set_input_files(photo(tmp_path))
    screenshot(patient, "messages-compose-375")
    patient.get_by_role("button", name="Send").click()
    patient.wait_for_url("**/patient/messages/*/")
    expect(patient.get_by_role("heading", name="Rash on Tim's arm", level=1)).to_be_visible()
    expect(patient.get_by_role("img", name="Photo: rash.png")).to_be_visible()
    expect(patient.locator("[data-chat-status]")).to_have_text("Live")
    thread = Thread.objects.get()
    assert thread.chart == riverside["tim"]
    assert Attachment.objects.get().content_type == "image/png"
    # Archive it (for Mary only).
    patient.get_by_role("button", name="Archive").click()
    expect(patient.get_by_role("button", name="Unarchive")).to_be_visible()
    assert_accessible(patient, "Thread, archived (375 px)")

    # The clinic sees it arrive without reloading, opens it and replies.
    row = clinic.locator(f"#thread-{thread.pk}")
    expect(row).to_contain_text("Rash on Tim")
    expect(row).to_contain_text("Tim Doe")
    expect(clinic.locator("#clinic-inbox-badge")).to_have_text("1 unread")
    assert_accessible(clinic, "Clinic inbox with a new thread (1280 px)")
    screenshot(clinic, "messages-clinic-inbox-1280", full_page=False)
    row.get_by_role("link", name="Rash on Tim's arm").click()
    clinic.wait_for_url(f"**/clinic/messages/{thread.pk}/")
    expect(clinic.get_by_role("img", name="Photo: rash.png")).to_be_visible()
    expect(clinic.locator("[data-chat-status]")).to_have_text("Live")
    clinic.get_by_label("Reply").fill("Thanks, Mary. Please book a visit this week.")
    clinic.get_by_role("button", name="Send").click()
    expect(clinic.locator("#message-list")).to_contain_text("Please book a visit")
    assert_accessible(clinic, "Clinic thread (1280 px)")
    screenshot(clinic, "messages-clinic-thread-1280")

    # The patient sees the reply without reloading.
    expect(patient.locator("#message-list")).to_contain_text("Please book a visit this week.")
    assert_accessible(patient, "Thread with the reply (375 px)")
    screenshot(patient, "messages-thread-375")

    # The same pages at desktop width.
    patient.set_viewport_size(DESKTOP)
    screenshot(patient, "messages-thread-1280", full_page=False)
    patient.goto(f"{portal_url}/patient/messages/")
    expect(patient.locator(f"#thread-{thread.pk}")).to_contain_text("Rash on Tim")
    assert_accessible(patient, "Messages inbox (1280 px)")
    screenshot(patient, "messages-inbox-1280", full_page=False)
    patient.set_viewport_size(PHONE)
    patient.reload()
    screenshot(patient, "messages-inbox-375", full_page=False)
    clinic.set_viewport_size(PHONE)
    clinic.goto(f"{portal_url}/clinic/messages/")
    assert_accessible(clinic, "Clinic inbox (375 px)")
    screenshot(clinic, "messages-clinic-inbox-375")
    patient_context.close()
    clinic_context.close()
