"""Issue "what users hit": the presence line showed the patient's other requests, and one new
request with a document sent each recipient three notifications."""

import re

import pytest
from django.test import Client
from django.urls import reverse

from notifications.models import Activity, Notification
from requests_chat.documents import check_pdf
from requests_chat.services import create_request, send_message
from tests.conftest import sign_in

pytestmark = pytest.mark.django_db


def test_the_presence_line_of_a_patient_with_other_requests_names_no_request(cast):
    chat, _ = create_request(prescription=cast.rx_alice, author=cast.alice, body="Any update?")
    other, _ = create_request(prescription=cast.rx_alice_old, author=cast.alice, body="And this?")
    page = sign_in(Client(), cast.alice).get(reverse("requests_chat:detail", args=[chat.pk]))
    content = page.content.decode()
    presence = re.search(r'<p id="chat-presence"[^>]*>(.*?)</p>', content, re.S).group(1)
    assert presence.strip() == ""  # nobody else is here; certainly not "Request 14 · Rx …"
    assert "Here now" not in content
    # The other request is where it belongs: the Other Requests card.
    card = content[content.index('id="others-title"') :]
    assert reverse("requests_chat:detail", args=[other.pk]) in card
    assert cast.rx_alice_old.rx_number in card


def notifications_of(user):
    return list(Notification.objects.filter(recipient=user).order_by("pk"))


def test_a_new_request_with_a_document_is_one_notification_naming_it(
    cast, pdf_bytes, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        create_request(
            prescription=cast.rx_alice,
            author=cast.phil,
            body="PA letter attached",
            files=[("PA letter", check_pdf(pdf_bytes, name="pa.pdf"))],
        )
    for user in (cast.alice, cast.bob):
        (only,) = notifications_of(user)
        assert only.activity == Activity.NEW_REQUEST
        assert only.title == "New request from Phil Pharm with 1 document"
    assert notifications_of(cast.phil) == []  # not the author
    assert notifications_of(cast.carol) == []


def test_a_message_with_documents_is_one_notification_naming_them(
    cast, pdf_bytes, django_capture_on_commit_callbacks
):
    chat, _ = create_request(prescription=cast.rx_alice, author=cast.alice, body="Any update?")
    Notification.objects.all().delete()
    pdf = check_pdf(pdf_bytes, name="pa.pdf")
    with django_capture_on_commit_callbacks(execute=True):
        send_message(
            chat=chat,
            author=cast.phil,
            body="Two letters",
            client_id="two",
            files=[("One", pdf), ("Two", pdf)],
        )
    (only,) = notifications_of(cast.alice)
    assert (only.activity, only.title) == (
        Activity.NEW_MESSAGE,
        "New message from Phil Pharm with 2 documents",
    )
    # Documents without words: one "new document".
    with django_capture_on_commit_callbacks(execute=True):
        send_message(chat=chat, author=cast.phil, body="", client_id="doc", files=[("x", pdf)])
    assert [n.activity for n in notifications_of(cast.alice)] == [
        Activity.NEW_MESSAGE,
        Activity.NEW_DOCUMENT,
    ]
