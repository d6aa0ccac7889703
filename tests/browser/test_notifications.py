"""The bell in a real browser: a pharmacist's message rings the prescriber's bell live."""

from concurrent.futures import ThreadPoolExecutor

import pytest
from django.contrib.sessions.backends.db import SessionStore
from django_otp.plugins.otp_totp.models import TOTPDevice
from playwright.sync_api import expect

from notifications.models import Activity, NotificationPreference
from requests_chat.models import Request
from tests.browser.conftest import assert_accessible, complete_mfa, sign_in
from tests.conftest import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def sign_in_verified(page, portal_url, user) -> None:
    """Sign in through the form and pass the second factor.

    complete_mfa() does the TOTP step once MFA is enforced; until then (or if it is a no-op)
    the session is marked verified the way django-otp does, so the websocket accepts it.
    """
    sign_in(page, portal_url, user.email, PASSWORD)
    page.wait_for_url(lambda url: "/accounts/login/" not in url)
    complete_mfa(page, user)
    cookie = next(c for c in page.context.cookies() if c["name"] == "sessionid")
    session = SessionStore(session_key=cookie["value"])
    if not session.get("otp_device_id"):
        device = TOTPDevice.objects.filter(user=user, confirmed=True).first() or (
            TOTPDevice.objects.create(user=user, name="Authenticator", confirmed=True)
        )
        session["otp_device_id"] = device.persistent_id
        session.save()


def notify_from_thread(**kwargs):
    """notify() outside Playwright's event loop (it pushes with async_to_sync)."""
    from django.db import connections

    from notifications.services import notify

    def run():
        try:
            return notify(**kwargs)
        finally:
            connections.close_all()  # the thread ends; don't leave its connection open

    with ThreadPoolExecutor(1) as pool:
        return pool.submit(run).result()


def bell_button(page):
    return page.locator("#notification-bell-button")


def test_a_pharmacists_message_rings_the_prescribers_bell(
    cast, page, browser, portal_url, screenshot
):
    chat = Request.objects.create(prescription=cast.rx_alice, created_by=cast.alice)
    sign_in_verified(page, portal_url, cast.alice)
    page.goto(f"{portal_url}/dashboard/")
    expect(page.locator("[data-bell][data-live=open]")).to_have_count(1)
    expect(bell_button(page)).to_have_attribute("aria-label", "Notifications, 0 unread")

    phil_context = browser.new_context(
        viewport={"width": 1366, "height": 900}, reduced_motion="reduce"
    )
    try:
        phil = phil_context.new_page()
        sign_in_verified(phil, portal_url, cast.phil)
        phil.goto(f"{portal_url}/requests/{chat.pk}/")
        phil.get_by_label("Message", exact=True).fill("The prior authorization was approved.")
        phil.get_by_role("button", name="SEND MESSAGE").click()

        # No reload: the count arrives over the websocket.
        expect(bell_button(page)).to_have_attribute(
            "aria-label", "Notifications, 1 unread", timeout=10_000
        )
        expect(page.locator("#notification-count")).to_have_text("1")
    finally:
        phil_context.close()

    # The feed is a disclosure: opens by keyboard, Escape closes and returns focus.
    bell_button(page).focus()
    page.keyboard.press("Enter")
    panel = page.locator("#notification-panel")
    expect(panel).to_be_visible()
    expect(bell_button(page)).to_have_attribute("aria-expanded", "true")
    item = panel.get_by_role("link", name="New message from Phil Pharm")
    expect(item).to_be_visible()
    assert_accessible(page, "bell feed open")
    screenshot(page, "notifications-feed-open", full_page=False)
    page.keyboard.press("Escape")
    expect(panel).to_be_hidden()
    expect(bell_button(page)).to_be_focused()

    bell_button(page).click()
    item.click()
    page.wait_for_url(f"{portal_url}/requests/{chat.pk}/")
    expect(bell_button(page)).to_have_attribute("aria-label", "Notifications, 0 unread")
    expect(page.locator("#notification-count")).to_be_hidden()


def test_preferences_save_instantly_and_history_filters(cast, page, portal_url, screenshot):
    notify_from_thread(activity=Activity.NEW_REQUEST, obj=cast.rx_alice, actor=cast.bob)
    notify_from_thread(
        activity=Activity.DELEGATE_JOINED, obj=cast.bob.delegations.get(), actor=cast.bob
    )
    sign_in_verified(page, portal_url, cast.alice)
    page.goto(f"{portal_url}/dashboard/")
    expect(bell_button(page)).to_have_attribute("aria-label", "Notifications, 2 unread")
    bell_button(page).click()
    page.get_by_role("button", name="Mark all read").click()
    expect(bell_button(page)).to_have_attribute("aria-label", "Notifications, 0 unread")
    expect(page.locator("#notification-panel .bell__item--unread")).to_have_count(0)
    page.get_by_role("link", name="Notification Preferences").click()
    page.wait_for_url(f"{portal_url}/notifications/preferences/")
    expect(page.get_by_role("heading", name="Notification Preferences")).to_be_visible()
    switch = page.get_by_label("New document: email")
    expect(switch).not_to_be_checked()
    switch.check()
    expect(page.get_by_role("status").filter(has_text="Saved")).to_be_visible()
    assert NotificationPreference.objects.get(user=cast.alice, activity=Activity.NEW_DOCUMENT).email
    page.get_by_label("Hourly digest").check()
    assert_accessible(page, "notification preferences")
    screenshot(page, "notifications-preferences")
    page.reload()
    expect(page.get_by_label("New document: email")).to_be_checked()
    expect(page.get_by_label("Hourly digest")).to_be_checked()

    page.goto(f"{portal_url}/notifications/")
    expect(page.get_by_role("cell", name="Avril Lavigne · Humira Pen")).to_be_visible()
    page.get_by_label("Type").select_option(label="Delegate joined")
    expect(page.get_by_role("cell", name="Avril Lavigne · Humira Pen")).to_have_count(0)
    expect(page.get_by_role("link", name="Bob Baker joined as your delegate")).to_be_visible()
    assert "type=delegate_joined" in page.url
    assert_accessible(page, "notification history")
    screenshot(page, "notifications-history")


def test_the_feed_fits_a_phone(cast, page, portal_url, screenshot):
    notify_from_thread(activity=Activity.NEW_MESSAGE, obj=cast.rx_alice, actor=cast.phil)
    page.set_viewport_size({"width": 390, "height": 800})
    sign_in_verified(page, portal_url, cast.alice)
    page.goto(f"{portal_url}/dashboard/")
    bell_button(page).click()
    expect(page.locator("#notification-panel")).to_be_visible()
    box = page.locator("#notification-panel").bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= 390
    assert_accessible(page, "bell feed on a phone")
    screenshot(page, "notifications-feed-phone", full_page=False)
