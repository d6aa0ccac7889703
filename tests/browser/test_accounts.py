"""Registration with MFA enrolment, and a delegate invited by email, driven in Chromium."""

import base64
import re
import time
from pathlib import Path

import pytest
from django_otp.oath import TOTP
from playwright.sync_api import expect

from accounts.models import User
from prescriptions.models import Prescriber
from prescriptions.npi import make_npi
from tests.browser.conftest import (
    assert_accessible,
    complete_mfa,
    free_port,
    sign_in,
    start_server,
    stop_server,
)
from tests.conftest import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

NEW_PASSWORD = "Blue-Kettle-2024!"


def code_from_secret(secret: str) -> str:
    key = base64.b32decode(secret + "=" * (-len(secret) % 8))
    return f"{TOTP(key).token():06d}"


def test_a_prescriber_registers_enrols_mfa_and_signs_in_again(db, page, portal_url, screenshot):
    dana = Prescriber.objects.create(
        npi=make_npi("100000003"),
        first_name="Dana",
        last_name="Diaz",
        address_line1="5 Elm St",
        city="Pittsburgh",
        state="PA",
        zip_code="15213",
        phone="4125550177",
    )
    page.goto(f"{portal_url}/accounts/login/")
    page.get_by_role("link", name="Register").click()
    page.get_by_label("Email").fill("dana.diaz@example.com")
    page.get_by_label("First name").fill("Dana")
    page.get_by_label("Last name").fill("Diaz")
    page.get_by_label("Phone").fill("412-555-0100")
    # A wrong check digit first: the pop-up names the support address.
    page.get_by_label("NPI").fill(dana.npi[:9] + str((int(dana.npi[9]) + 1) % 10))
    page.get_by_role("button", name="Continue").click()
    dialog = page.get_by_role("dialog", name="We could not complete this step")
    dialog.wait_for()  # opened by accounts.js once the page has loaded
    assert dialog.get_by_text("check digit does not match").is_visible()
    assert dialog.get_by_role("link", name="portal-support@example.com").is_visible()
    assert_accessible(page, "registration error pop-up")
    screenshot(page, "accounts-register-error")
    dialog.get_by_role("button", name="OK").click()
    assert page.get_by_label("Email").input_value() == "dana.diaz@example.com"
    page.get_by_label("NPI").fill(dana.npi)
    assert_accessible(page, "registration")
    screenshot(page, "accounts-register")
    page.get_by_role("button", name="Continue").click()

    page.get_by_role("heading", name="Verify your identity").wait_for()
    page.get_by_role("group", name="What is the ZIP code of your practice address?").get_by_label(
        "15213"
    ).check()
    page.get_by_role("group", name="In which city is your practice?").get_by_label(
        "Pittsburgh"
    ).check()
    page.get_by_role(
        "group", name="What are the last four digits of your practice phone number?"
    ).get_by_label("0177").check()
    assert_accessible(page, "identity verification")
    screenshot(page, "accounts-register-verify")
    page.get_by_role("button", name="Verify").click()

    page.get_by_role("heading", name="Create your password").wait_for()
    assert page.get_by_text(
        "Password requirement: at least 10 characters - 1 each of lower case, upper case, number, symbol"
    ).is_visible()
    page.get_by_label(re.compile(r"^Password\W*$")).fill(NEW_PASSWORD)
    page.get_by_label("Confirm Password").fill(NEW_PASSWORD)
    screenshot(page, "accounts-register-password")
    page.get_by_role("button", name="Complete Registration").click()
    page.get_by_role("heading", name="Registration complete").wait_for()
    page.get_by_role("link", name="Sign In").click()

    page.get_by_label("Email").fill("dana.diaz@example.com")
    page.get_by_label("Password").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("heading", name="Set up multi-factor authentication").wait_for()
    assert page.get_by_role("img", name=re.compile("QR code")).is_visible()
    assert_accessible(page, "MFA enrolment")
    screenshot(page, "accounts-mfa-setup")
    secret = page.locator("[data-totp-secret]").inner_text().strip()
    page.get_by_role("textbox", name="Authentication code").fill("000000")
    page.get_by_role("button", name="Set up").click()
    page.get_by_text("That code is not correct.").wait_for()
    time.sleep(1.1)  # django-otp's throttle after one wrong code
    page.get_by_role("textbox", name="Authentication code").fill(code_from_secret(secret))
    page.get_by_role("button", name="Set up").click()

    page.get_by_role("heading", name="Save your recovery codes").wait_for()
    assert page.get_by_role("list", name="Recovery codes").get_by_role("listitem").count() == 10
    assert_accessible(page, "recovery codes")
    screenshot(page, "accounts-recovery-codes")
    with page.expect_download() as download:
        page.get_by_role("link", name="Download as text").click()
    assert Path(download.value.path()).read_text().count("\n") >= 12
    page.get_by_role("button", name="I have saved my codes, continue").click()
    page.wait_for_url(f"{portal_url}/dashboard/**")

    # Sign out asks first, then returns to the sign-in page.
    page.get_by_role("link", name="Sign out").click()
    confirm = page.get_by_role("dialog", name="Sign out?")
    confirm.get_by_role("button", name="Sign out").click()
    page.wait_for_url(f"{portal_url}/accounts/login/")

    sign_in(page, portal_url, "dana.diaz@example.com", NEW_PASSWORD)
    page.get_by_role("heading", name="Enter your authentication code").wait_for()
    assert_accessible(page, "MFA verification")
    screenshot(page, "accounts-mfa-verify")
    complete_mfa(page, User.objects.get(email="dana.diaz@example.com"))
    page.wait_for_url(f"{portal_url}/dashboard/**")
    assert page.get_by_role("heading", name="Dashboard").is_visible()


@pytest.fixture
def mail_server(tmp_path):
    """A portal server of its own whose email goes to files the test can read."""
    port = free_port()
    proc = start_server(
        port, {"EMAIL_FILE_PATH": str(tmp_path), "SITE_URL": f"http://127.0.0.1:{port}"}
    )
    yield f"http://127.0.0.1:{port}", tmp_path
    stop_server(proc)


def test_a_prescriber_invites_a_delegate_who_registers_from_the_email(
    cast, page, mail_server, screenshot
):
    url, outbox = mail_server
    sign_in(page, url, cast.alice.email, PASSWORD)
    complete_mfa(page, cast.alice)
    page.get_by_role("link", name="Administration").click()
    page.get_by_role("heading", name="Administration").wait_for()
    page.get_by_role("button", name="Invite Delegate").click()
    dialog = page.get_by_role("dialog", name="Invite Delegate")
    dialog.get_by_label("Email").fill("dee.legate@example.com")
    assert_accessible(page, "invite dialog")
    screenshot(page, "accounts-invite-dialog", full_page=False)
    dialog.get_by_role("button", name="Invite Delegate").click()
    page.get_by_text("Invitation sent to dee.legate@example.com.").wait_for()
    expect(page.get_by_role("cell", name="dee.legate@example.com", exact=True)).to_be_visible()
    expect(page.get_by_role("cell", name=cast.bob.get_full_name(), exact=True)).to_be_visible()
    assert_accessible(page, "administration")
    screenshot(page, "accounts-administration")
    page.set_viewport_size({"width": 390, "height": 844})
    expect(page.get_by_role("button", name="Invite Delegate")).to_be_visible()
    screenshot(page, "accounts-administration-phone")
    page.set_viewport_size({"width": 1366, "height": 900})

    body = "".join(p.read_text() for p in outbox.iterdir())
    link = re.search(r"http://127\.0\.0\.1:\d+/accounts/invite/\S+/", body).group(0)
    page.context.clear_cookies()
    page.goto(link)
    page.get_by_role("heading", name="Complete your account").wait_for()
    expect(
        page.get_by_text("Email must match with the email where you received the invite.")
    ).to_be_visible()
    page.get_by_label("First name").fill("Dee")
    page.get_by_label("Last name").fill("Legate")
    page.get_by_label("Email").fill("wrong@example.com")
    page.get_by_label("Phone").fill("2155550199")
    page.get_by_label(re.compile(r"^Password\W*$")).fill(NEW_PASSWORD)
    page.get_by_label("Confirm Password").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Complete Registration").click()
    dialog = page.get_by_role("dialog", name="We could not complete this step")
    dialog.wait_for()
    expect(
        dialog.get_by_text("Email must match with the email where you received the invite.")
    ).to_be_visible()
    dialog.get_by_role("button", name="OK").click()
    page.get_by_label("Email").fill("dee.legate@example.com")
    page.get_by_label(re.compile(r"^Password\W*$")).fill(NEW_PASSWORD)
    page.get_by_label("Confirm Password").fill(NEW_PASSWORD)
    assert_accessible(page, "delegate registration")
    screenshot(page, "accounts-delegate-register")
    page.get_by_role("button", name="Complete Registration").click()
    page.wait_for_url(f"{url}/accounts/login/")

    sign_in(page, url, "dee.legate@example.com", NEW_PASSWORD)
    complete_mfa(page, User.objects.get(email="dee.legate@example.com"))
    page.wait_for_url(f"{url}/dashboard/**")
    expect(page.get_by_role("cell", name="AVRIL LAVIGNE").first).to_be_visible()
    assert page.get_by_role("link", name="Administration").count() == 0
    page.get_by_role("link", name="Profile").click()
    page.get_by_role("heading", name="Your profile").wait_for()
    assert_accessible(page, "profile")
    screenshot(page, "accounts-profile")
