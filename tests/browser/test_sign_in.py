import pytest

from tests.browser.conftest import assert_accessible, sign_in
from tests.conftest import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_it_signs_in_and_sees_the_dashboard(cast, page, portal_url, screenshot):
    page.goto(f"{portal_url}/accounts/login/")
    assert_accessible(page, "sign-in page")
    screenshot(page, "sign-in")
    sign_in(page, portal_url, cast.alice.email, PASSWORD)
    from tests.browser.conftest import complete_mfa  # noqa: PLC0415

    complete_mfa(page, cast.alice)
    page.wait_for_url(f"{portal_url}/dashboard/**")
    assert page.get_by_role("heading", name="Dashboard").is_visible()
    assert page.get_by_role("cell", name="AVRIL LAVIGNE").first.is_visible()
    assert page.get_by_text("CEDRIC STONE").count() == 0  # carol's patient
    assert_accessible(page, "dashboard")
    screenshot(page, "dashboard-first")


def test_it_rejects_a_wrong_password(cast, page, portal_url):
    sign_in(page, portal_url, cast.alice.email, "not-the-password")
    assert (
        page.get_by_role("alert")
        .filter(has_text="The email or password is not correct.")
        .is_visible()
    )
    assert_accessible(page, "sign-in error")
