"""'Select Clinic' refreshes the Providers list as soon as a clinic is chosen (before Apply)."""

import pytest
from playwright.sync_api import expect

from accounts.models import User
from invites.models import Clinic, ClinicMembership
from tests.browser.conftest import assert_accessible, complete_mfa, sign_in
from tests.conftest import PASSWORD, make_user

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_choosing_a_clinic_lists_its_providers_at_once(cast, page, portal_url, screenshot):
    riverside = Clinic.objects.create(name="Riverside Family Clinic")
    lakeside = Clinic.objects.create(name="Lakeside Dermatology")
    admin = make_user("carla.mendes@example.com", User.Role.CLINIC_ADMIN)
    for clinic in (riverside, lakeside):
        ClinicMembership.objects.create(user=admin, clinic=clinic, role="admin")
    ClinicMembership.objects.create(user=cast.alice, clinic=riverside, role="provider")
    ClinicMembership.objects.create(user=cast.carol, clinic=lakeside, role="provider")
    ClinicMembership.objects.create(
        user=make_user("maya.ortiz@example.com", "prescriber"), clinic=lakeside, role="provider"
    )

    sign_in(page, portal_url, admin.email, PASSWORD)
    complete_mfa(page, admin)
    page.goto(f"{portal_url}/clinic/invite/")
    # The first clinic by name, Lakeside, is shown first.
    providers = page.get_by_label("Providers")
    expect(providers.locator("option", has_text="Carol Clark")).to_have_count(1)

    page.get_by_label("Select Clinic").select_option(label="Riverside Family Clinic")
    # No Apply yet: the list already shows Riverside's only provider, chosen.
    providers = page.get_by_label("Providers")
    expect(providers.locator("option", has_text="Alice Adams")).to_have_count(1)
    expect(providers.locator("option", has_text="Carol Clark")).to_have_count(0)
    expect(providers.locator("option:checked")).to_have_text("Alice Adams")
    assert_accessible(page, "providers refreshed")

    # And back: Lakeside has two providers, so the list asks to choose.
    page.get_by_label("Select Clinic").select_option(label="Lakeside Dermatology")
    expect(providers.locator("option", has_text="Maya Ortiz")).to_have_count(1)
    expect(providers).to_have_value("")

    # Apply saves the clinic and the provider together.
    providers.select_option(label="Maya Ortiz")
    page.get_by_role("button", name="Apply").click()
    expect(page.get_by_text("Provider: Maya Ortiz")).to_be_visible()
    expect(page.get_by_text("Clinic: Lakeside Dermatology")).to_be_visible()
    screenshot(page, "invites-providers-refreshed", full_page=False)
