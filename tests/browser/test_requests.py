"""Two people chatting live: alice (prescriber) and phil (pharmacist) in two Chromium contexts."""

import datetime as dt
import re
import time
from zoneinfo import ZoneInfo

import pytest
from django.core.files.storage import default_storage
from playwright.sync_api import expect

from requests_chat.models import Document
from tests.browser.conftest import assert_accessible, complete_mfa, sign_in
from tests.conftest import PASSWORD
from tests.requests_chat.conftest import make_pdf

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.timeout(240),
]


def signed_in_page(browser, portal_url, user, timezone_id="America/New_York"):
    context = browser.new_context(
        viewport={"width": 1366, "height": 900}, reduced_motion="reduce", timezone_id=timezone_id
    )
    page = context.new_page()
    sign_in(page, portal_url, user.email, PASSWORD)
    complete_mfa(page, user)
    return page


# portal/templatetags/times.py's styles, as strftime formats
LOCAL_FORMATS = {"short": "%m/%d/%Y %-I:%M %p", "long": "%b %-d, %Y %-I:%M %p", "date": "%m/%d/%Y"}


def assert_local_times(page, zone, timeout=5.0):
    """Every <time data-local> reads as its instant on the browser's clock, zone in the title.

    Judged on snapshots of the whole page, until one passes: a live row can arrive twice (the
    POST's answer and the socket) and be tidied away between two reads.
    """
    expect(page.locator("time[data-local]").first).to_be_visible()
    zone_names = "PST|PDT" if zone == "America/Los_Angeles" else "EST|EDT"
    deadline = time.monotonic() + timeout
    while True:
        snapshot = page.eval_on_selector_all(
            "time[data-local]",
            "els => els.map(e => [e.dataset.local, e.dateTime, e.textContent, e.title])",
        )
        wrong = []
        for style, stamp, text, title in snapshot:
            when = dt.datetime.fromisoformat(stamp).astimezone(ZoneInfo(zone))
            local = when.strftime(LOCAL_FORMATS[style])
            if text != local or not re.fullmatch(f"{re.escape(local)} ({zone_names})", title):
                wrong.append((stamp, text, title, local))
        if not wrong:
            return
        assert time.monotonic() < deadline, f"times not on the {zone} clock: {wrong}"
        page.wait_for_timeout(100)


def test_it_chats_live_with_a_pdf(cast, browser, portal_url, screenshot, tmp_path):
    pdf = tmp_path / "Avril - Rx Upload.pdf"
    pdf.write_bytes(make_pdf("Prior authorization letter for Avril Lavigne"))

    # Alice creates the request, with a PDF.
    alice = signed_in_page(browser, portal_url, cast.alice)
    alice.goto(f"{portal_url}/requests/")
    alice.get_by_role("link", name="Create a new request").first.click()
    alice.wait_for_url("**/requests/new/")
    alice.wait_for_load_state()  # htmx is ready
    alice.get_by_label("Patient").select_option(label="Avril Lavigne (01 January 1980)")
    prescription = alice.get_by_label("Prescription")
    expect(prescription.locator("option", has_text="Rx: 1001")).to_have_count(1)
    prescription.select_option(label="Humira Pen 40 MG/0.4ML KIT (Rx: 1001) - Order Scheduled")
    alice.get_by_label("Enter Message").fill(
        "I am reaching out to see if you have any updates on my patient's prescription"
    )
    # Attach Documents → UPLOAD FILES → the Upload Document pop-up (title, drop zone, checked).
    alice.get_by_role("button", name="UPLOAD FILES").click()
    upload = alice.get_by_role("dialog", name="Upload Document")
    expect(upload).to_be_visible()
    expect(upload.get_by_label("Document title")).to_be_focused()  # focus moves into the pop-up
    alice.keyboard.press("Escape")  # Escape closes it, focus back on the button
    expect(upload).to_be_hidden()
    expect(alice.get_by_role("button", name="UPLOAD FILES")).to_be_focused()
    alice.keyboard.press("Enter")  # and the keyboard opens it again
    expect(upload).to_be_visible()
    renamed = tmp_path / "setup.pdf"
    renamed.write_bytes(b"MZ\x90\x00 not a pdf at all")
    upload.locator("input[type=file]").set_input_files(str(renamed))
    upload.get_by_role("button", name="CREATE NEW DOCUMENT").click()
    expect(upload.get_by_role("alert")).to_contain_text("not a PDF")
    upload.get_by_role("button", name="CLEAR DATA").click()
    upload.get_by_label("Document title").fill("Avril - Rx Upload")
    upload.locator("input[type=file]").set_input_files(str(pdf))
    expect(upload).to_contain_text("Avril - Rx Upload.pdf")
    assert_accessible(alice, "upload document pop-up")
    screenshot(alice, "requests-upload-document", full_page=False)
    alice.set_viewport_size({"width": 390, "height": 844})
    assert_accessible(alice, "upload document pop-up (phone)")
    screenshot(alice, "requests-upload-document-phone", full_page=False)
    alice.set_viewport_size({"width": 1366, "height": 900})
    upload.get_by_role("button", name="CREATE NEW DOCUMENT").click()
    expect(upload).to_be_hidden()
    expect(
        alice.get_by_role("status").filter(has_text="File successfully attached.")
    ).to_be_visible()
    expect(alice.locator("[data-attached-list]")).to_contain_text("Avril - Rx Upload.pdf")
    assert_accessible(alice, "create request")
    screenshot(alice, "requests-create-form")
    alice.get_by_role("button", name="SEND MESSAGE").click()
    dialog = alice.get_by_role("dialog")
    expect(dialog).to_contain_text("Your request has been successfully created.")
    screenshot(alice, "requests-created-dialog", full_page=False)
    dialog.get_by_role("link", name="GO TO REQUEST DETAILS").click()
    alice.wait_for_url(re.compile(r"/requests/\d+/$"))
    expect(alice.locator("[data-chat-status]")).to_have_text("Live")
    assert_accessible(alice, "request details (alice)")

    # Phil sees it in his list (unread), opens it and replies.
    # Phil works in California: times show on his clock (the portal's zone is New York).
    phil = signed_in_page(browser, portal_url, cast.phil, timezone_id="America/Los_Angeles")
    phil.goto(f"{portal_url}/requests/")
    expect(phil.get_by_role("cell", name="1 unread")).to_be_visible()
    assert_local_times(phil, "America/Los_Angeles")
    assert_accessible(phil, "requests list (phil)")
    screenshot(phil, "requests-list")
    # The search swaps only the results, live, and the field keeps its focus.
    search = phil.get_by_role("searchbox", name="Search")
    search.fill("zzz")
    expect(phil.get_by_role("heading", name="No requests match your search")).to_be_visible()
    expect(search).to_be_focused()
    assert "q=zzz" in phil.url
    search.fill("avril")
    expect(phil.get_by_role("cell", name="1 unread")).to_be_visible()
    assert_accessible(phil, "requests list (search)")
    phil.set_viewport_size({"width": 390, "height": 844})
    screenshot(phil, "requests-list-phone")
    phil.set_viewport_size({"width": 1366, "height": 900})
    phil.get_by_role("link", name="Humira Pen 40 MG/0.4ML KIT").click()
    expect(phil.locator("#message-list")).to_contain_text(
        "any updates on my patient's prescription"
    )
    expect(phil.locator("#message-list")).to_contain_text("Avril - Rx Upload")
    expect(phil.locator("[data-chat-status]")).to_have_text("Live")
    # Each sees the other has the chat open.
    expect(alice.locator("#chat-presence")).to_have_text("Here now: Phil Pharm (Pharmacist)")
    expect(phil.locator("#chat-presence")).to_have_text("Here now: Alice Adams (Prescriber)")
    assert_local_times(phil, "America/Los_Angeles")
    # Alice keeps a second tab on her Requests list: its unread badge moves live.
    alice_list = alice.context.new_page()
    alice_list.goto(f"{portal_url}/requests/")
    expect(alice_list.locator("[data-bell]")).to_have_attribute("data-live", "open")
    expect(alice_list.locator("[id^=unread-request-]")).to_have_text("0")

    phil.get_by_label("Message", exact=True).fill("Prior authorization was approved this morning.")
    expect(alice.locator("#chat-typing")).to_have_text("Phil Pharm (Pharmacist) is typing…")
    phil.get_by_text("Attach Documents", exact=True).click()
    phil.get_by_role("button", name="UPLOAD FILES").click()
    phil_upload = phil.get_by_role("dialog", name="Upload Document")
    phil_upload.get_by_label("Document title").fill("PA approval")
    approval = tmp_path / "approval.pdf"
    approval.write_bytes(make_pdf("Prior authorization approved"))
    phil_upload.locator("input[type=file]").set_input_files(str(approval))
    phil_upload.get_by_role("button", name="CREATE NEW DOCUMENT").click()
    expect(phil.locator("[data-attached-list]")).to_contain_text("approval.pdf")
    phil.get_by_role("button", name="SEND MESSAGE").click()

    # The list tab shows the new message as unread, then 0 once Alice's open chat has shown it.
    expect(alice_list.locator("[id^=unread-request-]")).to_have_text("1 unread")
    assert_accessible(alice_list, "requests list (alice, live badge)")
    expect(alice_list.locator("[id^=unread-request-]")).to_have_text("0", timeout=10_000)
    alice_list.close()

    # Alice sees Phil's reply without reloading, and answers; Phil sees that live too.
    expect(alice.locator("#message-list")).to_contain_text(
        "Prior authorization was approved this morning."
    )
    expect(alice.locator("#message-list .message").last).to_contain_text("Pharmacist")
    expect(alice.locator("#message-list .message").last).to_contain_text("PA approval")
    expect(alice.locator("[data-documents-table] tbody tr")).to_have_count(2)  # joined live
    expect(alice.locator("#chat-typing")).to_have_text("")  # the message replaced "is typing"
    alice.get_by_label("Message", exact=True).fill("Thank you!")
    alice.keyboard.press("Control+Enter")
    expect(phil.locator("#message-list .message").last).to_contain_text("Thank you!")
    expect(phil.locator("#message-list .message")).to_have_count(3)
    expect(alice.locator("#message-list .message")).to_have_count(3)  # no duplicates
    # The pushed message (rendered once, for everyone) also reads on each one's own clock.
    assert_local_times(phil, "America/Los_Angeles")
    assert_local_times(alice, "America/New_York")
    expect(alice.get_by_label("Message", exact=True)).to_have_value("")  # the POST has answered
    screenshot(alice, "requests-detail")

    # The PDF opens in the pop-up viewer, through the access-checked view.
    with phil.expect_response(re.compile(r"/requests/documents/\d+/$")) as document:
        phil.locator("#message-list").get_by_role(
            "link", name=re.compile("Avril - Rx Upload")
        ).click()
    assert document.value.status == 200
    assert document.value.headers["content-type"] == "application/pdf"
    viewer = phil.locator("#pdf-viewer")
    expect(viewer).to_be_visible()
    expect(viewer.locator("iframe")).to_have_attribute(
        "src", re.compile(r"/requests/documents/\d+/$")
    )
    phil.wait_for_timeout(500)  # let the PDF render for the screenshot
    screenshot(phil, "requests-pdf-viewer", full_page=False)
    assert_accessible(phil, "pdf viewer")
    phil.keyboard.press("Escape")
    expect(viewer).to_be_hidden()

    # Patient Details pop-up.
    alice.get_by_role("button", name="Patient Details").click()
    details = alice.locator("#patient-details")
    expect(details).to_contain_text("2751 PENNSYLVANIA AVE")
    screenshot(alice, "requests-patient-details", full_page=False)
    assert_accessible(alice, "patient details")

    # Phone width stays usable.
    alice.keyboard.press("Escape")
    alice.set_viewport_size({"width": 390, "height": 844})
    # the chat log still shows its newest message at the bottom
    alice.wait_for_function(
        "() => { const s = document.querySelector('[data-chat-scroll]');"
        " return s.scrollHeight > s.clientHeight"
        " && s.scrollHeight - s.scrollTop - s.clientHeight < 24; }",
        timeout=5000,
    )
    screenshot(alice, "requests-detail-phone")

    for doc in Document.objects.all():
        default_storage.delete(doc.file.name)


def test_it_falls_back_to_polling_without_a_websocket(cast, page, portal_url):
    from requests_chat.services import create_request, send_message

    chat, _ = create_request(prescription=cast.rx_alice, author=cast.alice, body="First question")
    # The socket is refused (as when Redis or the websocket route is down).
    page.route_web_socket(re.compile(r".*/ws/requests/.*"), lambda ws: ws.close(code=1011))
    sign_in(page, portal_url, cast.phil.email, PASSWORD)
    complete_mfa(page, cast.phil)
    page.goto(f"{portal_url}/requests/{chat.pk}/")
    expect(page.locator("#message-list")).to_contain_text("First question")
    expect(page.locator("[data-chat-status]")).to_contain_text("Reconnecting")
    send_message(
        chat=chat, author=cast.alice, body="Sent while the socket is down", client_id="poll-1"
    )
    expect(page.locator("#message-list")).to_contain_text(
        "Sent while the socket is down", timeout=15_000
    )
    # Sending still works as a plain HTMX POST, and the row appears once.
    page.get_by_label("Message", exact=True).fill("Polling reply")
    page.get_by_role("button", name="SEND MESSAGE").click()
    expect(page.locator("#message-list .message")).to_have_count(3)
    page.wait_for_timeout(4500)  # one more poll must not duplicate anything
    expect(page.locator("#message-list .message")).to_have_count(3)


def test_a_pharmacist_finds_the_patient_by_search(cast, browser, portal_url, screenshot):
    """Beyond 50 patients the Patient select lists only who matches the search, by keyboard."""
    from prescriptions.models import Patient, Prescription

    for n in range(55):
        patient = Patient.objects.create(
            pharmacy=cast.pharmacy,
            pharmacy_patient_id=f"P-MANY-{n}",
            first_name=f"Maria{n:02d}",
            last_name="Garcia",
            date_of_birth="1970-05-05",
        )
        Prescription.objects.create(
            pharmacy_rx_id=f"RX-MANY-{n}",
            rx_number=f"8{n:03d}",
            patient=patient,
            prescriber=cast.npi_alice,
            pharmacy=cast.pharmacy,
            medication_name="Humira Pen",
        )
    phil = signed_in_page(browser, portal_url, cast.phil)
    phil.goto(f"{portal_url}/requests/new/")
    phil.wait_for_load_state()
    patient = phil.get_by_role("combobox", name="Patient", exact=True)
    expect(patient).to_have_count(1)
    expect(patient.locator("option")).to_have_text(["Search for the patient first"])
    search = phil.get_by_label("Search patients by name or date of birth")
    search.click()
    phil.keyboard.type("garcia")
    hint = phil.locator("#patient-search-hint")
    expect(hint).to_contain_text("More than 50 patients match “garcia”")
    phil.keyboard.type(" maria07")
    expect(hint).to_have_text("1 patient matches “garcia maria07”: Maria07 Garcia is chosen.")
    prescription = phil.get_by_label("Prescription")
    expect(prescription.locator("option", has_text="Rx: 8007")).to_have_count(1)  # loaded
    search.fill("03/03/1990")
    phil.keyboard.press("Enter")  # runs the search; does not send the form
    expect(hint).to_have_text("1 patient matches “03/03/1990”: Sam Shared is chosen.")
    expect(phil.locator("#create-form .field__error")).to_have_count(0)
    phil.keyboard.press("Tab")  # on to the Patient select
    expect(patient).to_be_focused()
    expect(patient).to_have_value(str(cast.pat_shared.pk))
    expect(prescription.locator("option", has_text="Dupixent")).to_have_count(1)
    expect(prescription.locator("option", has_text="Rx: 8007")).to_have_count(0)
    expect(prescription.locator("option", has_text="Enbrel")).to_have_count(0)  # Carol's
    assert_accessible(phil, "create request (patient search)")
    screenshot(phil, "requests-create-patient-search", full_page=False)
    phil.set_viewport_size({"width": 390, "height": 844})
    assert_accessible(phil, "create request (patient search, phone)")
    screenshot(phil, "requests-create-patient-search-phone", full_page=False)


def test_a_failed_send_says_so_and_loses_nothing(cast, page, portal_url, screenshot):
    """No network, then a proxy refusing the size: each says what happened, the message stays
    typed, and the retry sends it once."""
    from requests_chat.models import Message
    from requests_chat.services import create_request

    chat, _ = create_request(prescription=cast.rx_alice, author=cast.alice, body="First question")
    sign_in(page, portal_url, cast.phil.email, PASSWORD)
    complete_mfa(page, cast.phil)
    page.goto(f"{portal_url}/requests/{chat.pk}/")
    expect(page.locator("[data-chat-status]")).to_have_text("Live")
    message = page.get_by_label("Message", exact=True)
    alert = page.locator("[data-request-error]")
    send_url = re.compile(r".*/requests/\d+/messages/$")

    page.route(send_url, lambda route: route.abort("internetdisconnected"))
    message.fill("Refill approved, shipping Monday")
    page.get_by_role("button", name="SEND MESSAGE").click()
    expect(alert).to_be_visible()
    expect(alert).to_contain_text("The portal could not be reached")
    expect(message).to_have_value("Refill approved, shipping Monday")
    screenshot(page, "requests-send-failed", full_page=False)
    assert_accessible(page, "request details (send failed)")
    page.keyboard.press("Escape")
    expect(alert).to_be_hidden()

    page.unroute(send_url)
    page.route(send_url, lambda route: route.fulfill(status=413, body="Too large"))
    page.get_by_role("button", name="SEND MESSAGE").click()
    expect(alert).to_contain_text("too large to send at once")
    page.get_by_role("button", name="Dismiss").click()
    expect(alert).to_be_hidden()

    page.unroute(send_url)
    page.get_by_role("button", name="SEND MESSAGE").click()
    expect(page.locator("#message-list .message")).to_have_count(2)
    expect(message).to_have_value("")
    expect(alert).to_be_hidden()
    assert Message.objects.filter(body="Refill approved, shipping Monday").count() == 1


def test_earlier_messages_load_above_without_moving_the_reader(cast, page, portal_url, screenshot):
    from requests_chat.models import Message
    from requests_chat.services import create_request

    chat, _ = create_request(prescription=cast.rx_alice, author=cast.alice, body="Message 0")
    Message.objects.bulk_create(
        Message(
            request=chat,
            author=cast.alice,
            author_name="Alice Adams",
            author_role="Prescriber",
            body=f"Message {n}",
            client_id=f"m{n}",
        )
        for n in range(1, 105)
    )
    sign_in(page, portal_url, cast.phil.email, PASSWORD)
    complete_mfa(page, cast.phil)
    page.goto(f"{portal_url}/requests/{chat.pk}/")
    rows = page.locator("[data-chat] li[data-message-id]")
    expect(rows).to_have_count(100)
    expect(page.locator("#message-list li").last).to_contain_text("Message 104")
    at_bottom = "s => s.scrollHeight - s.scrollTop - s.clientHeight < 24"
    assert page.locator("[data-chat-scroll]").evaluate(at_bottom)

    earlier = page.get_by_role("link", name="Show earlier messages")
    page.locator("[data-chat-scroll]").evaluate("s => { s.scrollTop = 0; }")
    shown_before = page.locator("#message-list li").first.bounding_box()["y"]
    earlier.focus()
    page.keyboard.press("Enter")
    expect(rows).to_have_count(105)
    expect(rows.first).to_contain_text("Message 0")
    expect(earlier).to_have_count(0)  # the start of the conversation
    expect(page.locator("[data-chat-scroll]")).to_be_focused()
    # "Message 5", at the top before, is still where the reader saw it
    assert abs(page.locator("#message-list li").first.bounding_box()["y"] - shown_before) < 60
    assert_accessible(page, "request details (earlier messages)")
    screenshot(page, "requests-earlier-messages", full_page=False)


def test_signing_out_in_another_tab_ends_the_open_chat(cast, page, portal_url):
    """The chat tab stops receiving and goes to the sign-in page when the session ends."""
    from requests_chat.services import create_request

    chat, _ = create_request(prescription=cast.rx_alice, author=cast.alice, body="First question")
    sign_in(page, portal_url, cast.phil.email, PASSWORD)
    complete_mfa(page, cast.phil)
    page.goto(f"{portal_url}/requests/{chat.pk}/")
    expect(page.locator("[data-chat-status]")).to_have_text("Live")
    other_tab = page.context.new_page()
    other_tab.goto(f"{portal_url}/dashboard/")
    other_tab.get_by_role("link", name="Sign out").click()
    other_tab.get_by_role("dialog", name="Sign out?").get_by_role("button", name="Sign out").click()
    other_tab.wait_for_url("**/accounts/login/**")
    page.wait_for_url("**/accounts/login/**", timeout=10_000)
    expect(page.locator("#message-list")).to_have_count(0)


def test_the_requests_list_offers_new_messages_it_does_not_show(
    cast, browser, portal_url, screenshot
):
    """Alice lists only unread requests (none); Phil replies: she is offered the latest."""
    from requests_chat.services import create_request

    chat, _ = create_request(prescription=cast.rx_alice, author=cast.alice, body="Any news?")
    alice = signed_in_page(browser, portal_url, cast.alice)
    alice.goto(f"{portal_url}/requests/?unread=on")
    expect(alice.get_by_role("heading", name="No requests match your search")).to_be_visible()
    expect(alice.locator("[data-bell]")).to_have_attribute("data-live", "open")
    notice = alice.locator("[data-list-notice]")
    expect(notice).to_be_hidden()

    phil = signed_in_page(browser, portal_url, cast.phil)
    phil.goto(f"{portal_url}/requests/{chat.pk}/")
    phil.get_by_label("Message", exact=True).fill("The PA came back approved.")
    phil.get_by_role("button", name="SEND MESSAGE").click()
    expect(phil.locator("#message-list .message")).to_have_count(2)

    expect(notice).to_be_visible(timeout=10_000)
    expect(notice).to_contain_text("New messages in requests not shown below.")
    assert_accessible(alice, "requests list (new messages offered)")
    screenshot(alice, "requests-list-new-messages", full_page=False)
    alice.get_by_role("button", name="Show latest").click()
    expect(alice.get_by_role("cell", name="1 unread")).to_be_visible()
    expect(notice).to_be_hidden()
