"""A clinic admin with two clinics invites patients (form and CSV) and a patient joins."""

import pytest
from playwright.sync_api import expect

from accounts.models import User
from invites.models import Clinic, ClinicMembership, Invite
from tests.browser.conftest import assert_accessible, complete_mfa, sign_in
from tests.conftest import PASSWORD, make_user

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def shoot_both(page, screenshot, name):
    """Desktop and phone-width screenshots (axe runs at both widths too)."""
    screenshot(page, f"invites-{name}")
    page.set_viewport_size({"width": 390, "height": 844})
    assert_accessible(page, f"{name} (phone)")
    screenshot(page, f"invites-{name}-phone")
    page.set_viewport_size({"width": 1366, "height": 900})


def test_a_clinic_admin_invites_patients_and_one_joins(
    cast, page, portal_url, screenshot, tmp_path, browser
):
    riverside = Clinic.objects.create(name="Riverside Family Clinic")
    lakeside = Clinic.objects.create(name="Lakeside Dermatology")
    admin = make_user("carla.mendes@example.com", User.Role.CLINIC_ADMIN)
    for clinic in (riverside, lakeside):
        ClinicMembership.objects.create(user=admin, clinic=clinic, role="admin")
    ClinicMembership.objects.create(
        user=cast.alice, clinic=riverside, role="provider", prescriber=cast.npi_alice
    )
    ClinicMembership.objects.create(
        user=make_user("maya.ortiz@example.com", "prescriber"), clinic=riverside, role="provider"
    )
    ClinicMembership.objects.create(user=cast.carol, clinic=lakeside, role="provider")

    sign_in(page, portal_url, admin.email, PASSWORD)
    complete_mfa(page, admin)
    page.goto(f"{portal_url}/")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Clinic").click()
    page.wait_for_url("**/clinic/invite/")

    # Pick the clinic, then the provider.
    page.get_by_label("Select Clinic").select_option(label="Riverside Family Clinic")
    # Choosing the clinic swaps in its Providers list (htmx); wait for it before Apply, so the
    # swap cannot land in the middle of the form's submission.
    expect(page.get_by_label("Providers").locator("option", has_text="Alice Adams")).to_have_count(
        1
    )
    with page.expect_navigation():
        page.get_by_role("button", name="Apply").click()
    page.get_by_label("Providers").select_option(label="Alice Adams")
    with page.expect_navigation():
        page.get_by_role("button", name="Apply").click()
    expect(page.get_by_text("Provider: Alice Adams")).to_be_visible()
    assert_accessible(page, "invite patients")
    shoot_both(page, screenshot, "invite-page")

    # Two patients in one form, the second row added with the keyboard.
    row1 = page.locator("fieldset", has_text="Patient 1")
    row1.get_by_label("First Name").fill("Ada")
    row1.get_by_label("Last Name").fill("Lovelace")
    row1.get_by_label("Email").fill("ada@example.com")
    page.get_by_role("button", name="+ Invite Another Patient").focus()
    page.keyboard.press("Enter")
    row2 = page.locator("fieldset", has_text="Patient 2")
    assert row2.get_by_label("First Name").evaluate("el => el === document.activeElement")
    page.keyboard.type("Alan")
    row2.get_by_label("Last Name").fill("Turing")
    row2.get_by_label("Mobile Number").fill("2155550123")
    page.get_by_role("button", name="Invite Patient(s)").click()

    dialog = page.get_by_role("dialog", name="Confirm the invitations")
    assert dialog.is_visible()
    for text in ("Alice Adams", "Riverside Family Clinic", "Ada Lovelace", "Alan Turing"):
        assert dialog.get_by_text(text).first.is_visible()
    assert_accessible(page, "confirmation dialog")
    screenshot(page, "invites-confirm-dialog", full_page=False)
    dialog.get_by_role("button", name="Confirm and Invite").click()

    page.wait_for_url("**/clinic/invite/sent/")
    assert page.get_by_role("heading", name="Invitations Sent").is_visible()
    assert page.get_by_text("2 invitations sent successfully.").is_visible()
    assert_accessible(page, "invitations sent")
    shoot_both(page, screenshot, "sent")
    page.get_by_role("link", name="OK").click()

    # CSV upload: one new patient, one already invited.
    csv = tmp_path / "patients.csv"
    csv.write_text(
        "First Name,Last Name,Email,Mobile Number\r\nGrace,Hopper,grace@example.com,\r\n"
        "Ada,Lovelace,ada@example.com,\r\n",
        encoding="utf-8",
    )
    page.get_by_label("CSV file").set_input_files(str(csv))
    page.get_by_role("button", name="Import CSV").click()
    assert page.get_by_text(
        "CSV import was successful: 1 patient invited, 1 skipped as duplicate"
    ).is_visible()
    # The summary counts the duplicates and the problem rows list each one.
    expect(page.get_by_text("Skipped (duplicate)")).to_have_count(2)
    assert page.get_by_text("Skipped (duplicate)").first.is_visible()
    assert_accessible(page, "import result")
    shoot_both(page, screenshot, "import-result")

    # The Invited Patients list.
    page.get_by_role("link", name="Back to Invite Patients").click()
    table = page.locator("#invite-list table")
    for name in ("Ada Lovelace", "Alan Turing", "Grace Hopper"):
        assert table.get_by_role("cell", name=name, exact=True).is_visible()
    ada_code = Invite.objects.get(email="ada@example.com").code
    assert table.get_by_text(ada_code).is_visible()
    # Row actions are always shown (keyboard and touch users too), not only on hover or focus.
    resend = page.get_by_role("button", name="Resend Invite to Grace Hopper")
    resend.focus()
    resend.evaluate("el => el.closest('form').getAnimations().forEach(a => a.finish())")
    assert resend.evaluate("el => getComputedStyle(el.closest('form')).opacity") == "1"
    others = page.get_by_role("button", name="Resend Invite to Ada Lovelace")
    others.evaluate("el => el.closest('form').getAnimations().forEach(a => a.finish())")
    assert others.evaluate("el => getComputedStyle(el.closest('form')).opacity") == "1"
    page.get_by_label("Search").fill("hopper")
    page.wait_for_function("() => document.querySelectorAll('#invite-list tbody tr').length === 1")
    page.get_by_label("Search").fill("")
    page.wait_for_function("() => document.querySelectorAll('#invite-list tbody tr').length === 3")
    assert_accessible(page, "invited patients list")
    shoot_both(page, screenshot, "list")

    # The patient joins with the code (a separate browser, not signed in).
    patient_context = browser.new_context(
        viewport={"width": 390, "height": 844}, reduced_motion="reduce"
    )
    patient = patient_context.new_page()
    patient.goto(f"{portal_url}/clinic/join/")
    assert_accessible(patient, "join with code")
    patient.get_by_role("textbox", name="Invite Code").fill(ada_code)
    patient.get_by_label("Last Name").fill("Lovelace")
    patient.get_by_role("button", name="Continue").click()
    assert patient.get_by_role("heading", name="Create your account").is_visible()
    assert_accessible(patient, "create account")
    screenshot(patient, "invites-join-account-phone")
    create = patient.get_by_role("region", name="Create your account")
    assert create.get_by_label("Email").input_value() == "ada@example.com"
    create.get_by_label("Password").first.fill("Blue-Harbor-Lamp-73")
    create.get_by_label("Confirm Password").fill("Blue-Harbor-Lamp-73")
    create.get_by_role("button", name="Create account and join").click()
    # The same answer as for an email that already had an account: the patient signs in next.
    assert patient.get_by_role("heading", name="Sign in to continue").is_visible()
    patient.get_by_role("link", name="Sign in").click()
    patient.get_by_label("Email").fill("ada@example.com")
    patient.get_by_label("Password").fill("Blue-Harbor-Lamp-73")
    patient.get_by_role("button", name="Sign in").click()
    assert patient.get_by_role(
        "heading", name="You have joined Riverside Family Clinic"
    ).is_visible()
    assert_accessible(patient, "joined")
    screenshot(patient, "invites-joined-phone")
    patient_context.close()

    invite = Invite.objects.get(email="ada@example.com")
    assert invite.status == Invite.Status.ACCEPTED and invite.accepted_at
    page.reload()
    assert page.locator("#invite-list tbody .badge", has_text="Accepted").is_visible()

    # Remove Invite asks first: Cancel (the default, and Escape) keeps it; confirming removes it.
    remove = page.get_by_role("button", name="Remove Invite of Grace Hopper")
    remove.focus()
    page.keyboard.press("Enter")
    confirm = page.get_by_role("dialog", name="Remove Invite")
    assert confirm.is_visible()
    assert "Remove the invite of Grace Hopper?" in confirm.inner_text()
    assert confirm.get_by_role("button", name="Cancel").evaluate(
        "el => el === document.activeElement"
    )
    assert_accessible(page, "remove invite confirmation")
    screenshot(page, "invites-remove-confirm", full_page=False)
    page.keyboard.press("Escape")
    assert not confirm.is_visible()
    assert Invite.objects.get(email="grace@example.com").removed_at is None
    remove.focus()
    page.keyboard.press("Enter")
    confirm.get_by_role("button", name="Remove Invite").click()
    page.wait_for_load_state()
    assert page.get_by_text("The invite to Grace Hopper was removed").is_visible()
    assert Invite.objects.get(email="grace@example.com").removed_at is not None
