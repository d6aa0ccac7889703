"""Phone (375 px) and laptop (1280 px) layouts: nothing wider than the window, and the things
people came for on the first screen: the invite row actions, the first prescription, the
chat's Send button."""

import datetime as dt

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from accounts.models import User
from invites.models import Clinic, ClinicMembership, Invite
from tests.browser.conftest import assert_accessible, complete_mfa, sign_in
from tests.conftest import PASSWORD, make_patient, make_rx, make_user

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.timeout(240),
]

PHONE = {"width": 375, "height": 667}
LAPTOP = {"width": 1280, "height": 800}


def signed_in(browser, portal_url, user, viewport):
    context = browser.new_context(viewport=viewport, reduced_motion="reduce")
    page = context.new_page()
    sign_in(page, portal_url, user.email, PASSWORD)
    complete_mfa(page, user)
    return page


def page_width(page) -> tuple[int, int]:
    return page.evaluate(
        "() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]"
    )


def in_viewport(page, locator) -> bool:
    box = locator.bounding_box()
    size = page.viewport_size
    return (
        box is not None
        and box["x"] >= 0
        and box["y"] >= 0
        and box["x"] + box["width"] <= size["width"]
        and box["y"] + box["height"] <= size["height"]
    )


@pytest.fixture
def clinic_admin(cast):
    clinic = Clinic.objects.create(name="Riverside Family Clinic")
    admin = make_user("carla.mendes@example.com", User.Role.CLINIC_ADMIN)
    ClinicMembership.objects.create(user=admin, clinic=clinic, role="admin")
    provider = ClinicMembership.objects.create(
        user=cast.alice, clinic=clinic, role="provider", prescriber=cast.npi_alice
    )
    now = timezone.now()
    people = [
        ("Maximilian", "Oppenheimer-Castellanos", "maximilian.oppenheimer.castellanos@example.com"),
        ("Sofia", "Lopez", ""),
        ("Maria", "Lopez", "maria.lopez@example.org"),
        ("Ben", "Okafor", "b.okafor@example.net"),
    ]
    for n, (first, last, email) in enumerate(people):
        Invite.objects.create(
            clinic=clinic,
            provider=provider,
            invited_by=admin,
            first_name=first,
            last_name=last,
            email=email,
            mobile="2155550123",
            code=f"{n + 1:06d}",
            invited_at=now - dt.timedelta(days=n),
            status=Invite.Status.ERROR if n == 0 else Invite.Status.PENDING,
            error_reason="SMS provider answered 429: rate limited" if n == 0 else "",
        )
    return admin


@pytest.mark.parametrize("viewport", [LAPTOP, PHONE], ids=["1280", "375"])
def test_the_invited_patients_table_fits_and_shows_its_actions(
    clinic_admin, browser, portal_url, screenshot, viewport
):
    page = signed_in(browser, portal_url, clinic_admin, viewport)
    page.goto(f"{portal_url}/clinic/invite/")
    table = page.get_by_role("table", name="Invited patients")
    expect(table).to_be_visible()
    scroll_width, client_width = page_width(page)
    assert scroll_width <= client_width, (scroll_width, client_width)
    # The header spans the page like the table does.
    header = page.locator(".topbar").bounding_box()
    assert header["width"] >= client_width - 1
    row = page.locator("tr", has_text="Maximilian")
    for name in ("Resend Invite to Maximilian", "Remove Invite of Maximilian"):
        button = row.get_by_role("button", name=name)
        # Visible without hovering, not scrolled off to the side.
        assert button.evaluate("b => getComputedStyle(b).opacity") == "1"
        button.scroll_into_view_if_needed()
        assert in_viewport(page, button), name
    # Reachable by keyboard: Tab from the row's last cell lands on the buttons.
    row.get_by_role("button", name="Resend Invite to Maximilian").focus()
    page.keyboard.press("Tab")
    expect(row.get_by_role("button", name="Remove Invite of Maximilian")).to_be_focused()
    assert_accessible(page, f"invite page at {viewport['width']}")
    screenshot(page, f"layout-invites-{viewport['width']}")


def test_the_first_prescription_is_on_the_first_phone_screen(cast, browser, portal_url, screenshot):
    for n in range(6):
        patient = make_patient(f"P-L{n}", f"Pat{n}", "Layout")
        make_rx(f"RX70{n}", patient, cast.npi_alice, cast.pharmacy, medication_name="Stelara")
    page = signed_in(browser, portal_url, cast.alice, PHONE)
    page.goto(f"{portal_url}/")
    first_row = page.locator(".dashboard-table tbody tr").first
    expect(first_row).to_be_visible()
    assert first_row.bounding_box()["y"] < PHONE["height"], first_row.bounding_box()
    scroll_width, client_width = page_width(page)
    assert scroll_width <= client_width
    assert_accessible(page, "dashboard at 375")
    screenshot(page, "layout-dashboard-375", full_page=False)

    # The filters are one tap away, and say how many are on.
    toggle = page.get_by_role("button", name="Filters (0)")
    expect(toggle).to_have_attribute("aria-expanded", "false")
    toggle.click()
    expect(toggle).to_have_attribute("aria-expanded", "true")
    page.get_by_role("button", name="Due for Fill").click()
    toggle = page.get_by_role("button", name="Filters (1)")
    expect(toggle).to_be_visible()
    assert_accessible(page, "dashboard at 375, filters open")
    screenshot(page, "layout-dashboard-375-filters", full_page=False)


def test_the_filters_are_open_on_a_laptop(cast, browser, portal_url):
    page = signed_in(browser, portal_url, cast.alice, LAPTOP)
    page.goto(f"{portal_url}/")
    expect(page.get_by_role("button", name="Filters (0)")).to_have_attribute(
        "aria-expanded", "true"
    )
    expect(page.get_by_text("Quick filters")).to_be_visible()


def test_the_send_button_is_on_the_first_phone_screen(cast, browser, portal_url, screenshot):
    from requests_chat.models import Message
    from requests_chat.services import create_request

    chat, _ = create_request(prescription=cast.rx_alice, author=cast.alice, body="First question")
    Message.objects.bulk_create(
        Message(
            request=chat,
            author=cast.alice,
            author_name="Alice Adams",
            author_role="Prescriber",
            body=f"Message {n}: is the prior authorization through yet?",
            client_id=f"m{n}",
        )
        for n in range(1, 15)
    )
    page = signed_in(browser, portal_url, cast.phil, PHONE)
    page.goto(f"{portal_url}/requests/{chat.pk}/")
    expect(page.locator("[data-chat-status]")).to_have_text("Live")
    send = page.get_by_role("button", name="SEND MESSAGE")
    assert in_viewport(page, send), send.bounding_box()
    assert in_viewport(page, page.get_by_label("Message", exact=True))
    scroll_width, client_width = page_width(page)
    assert scroll_width <= client_width
    screenshot(page, "layout-request-375", full_page=False)
    # Typing and sending from there works, and the newest message is in view above the box.
    page.get_by_label("Message", exact=True).fill("Approved this morning")
    send.click()
    newest = page.locator("#message-list .message").last
    expect(newest).to_contain_text("Approved this morning")
    assert in_viewport(page, send)
    # Documents and Other Requests follow the chat.
    chat_box = page.locator("[data-chat]").bounding_box()
    documents = page.get_by_role("heading", name="Documents").bounding_box()
    assert documents["y"] > chat_box["y"]
    assert_accessible(page, "request details at 375")
    screenshot(page, "layout-request-375-sent", full_page=False)


def test_the_clinic_tabs_are_one_row_on_a_phone_with_the_current_tab_in_view(
    clinic_admin, browser, portal_url, screenshot
):
    """Ten tabs would wrap into five rows above every Clinic page at 375 px: they are one row
    that scrolls sideways, the page itself does not, and the current tab (here the ninth) is
    shown without scrolling; every tab is still reachable by keyboard."""
    page = signed_in(browser, portal_url, clinic_admin, PHONE)
    page.goto(f"{portal_url}/clinic/records/changes/")
    bar = page.get_by_role("navigation", name="Clinic")
    tabs = bar.get_by_role("link")
    tops = {round(box["y"]) for box in (tab.bounding_box() for tab in tabs.all())}
    assert len(tops) == 1, tops
    scroll_width, client_width = page_width(page)
    assert scroll_width <= client_width, (scroll_width, client_width)
    current = bar.locator("[aria-current='page']")
    expect(current).to_have_text("Record changes")
    assert in_viewport(page, current)
    screenshot(page, "layout-clinic-tabs-375", full_page=False)
    # Tabbing reaches the first tab, and the bar scrolls it into view.
    tabs.first.focus()
    assert in_viewport(page, tabs.first)
    assert_accessible(page, "clinic tabs at 375")
