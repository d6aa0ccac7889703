"""Request Details opens on the latest 100 messages; earlier ones load in batches on demand."""

import re

import pytest
from django.test import Client
from django.urls import reverse

from audit.models import AuditEvent
from requests_chat.models import Document, Message
from requests_chat.services import create_request
from tests.conftest import sign_in

pytestmark = pytest.mark.django_db


@pytest.fixture
def long_chat(cast):
    """A request with 105 messages: "Message 0" (the opening one) to "Message 104"."""
    chat, _ = create_request(prescription=cast.rx_alice, author=cast.alice, body="Message 0")
    Message.objects.bulk_create(
        Message(
            request=chat,
            author=cast.phil if n % 2 else cast.alice,
            author_name="Phil Pharm" if n % 2 else "Alice Adams",
            author_role="Pharmacist" if n % 2 else "Prescriber",
            body=f"Message {n}",
            client_id=f"m{n}",
        )
        for n in range(1, 105)
    )
    return chat


def bodies(html: str) -> list[int]:
    return [int(n) for n in re.findall(r">Message (\d+)<", html)]


def test_it_opens_on_the_latest_messages_with_a_way_to_earlier_ones(cast, long_chat):
    html = sign_in(Client(), cast.alice).get(reverse("requests_chat:detail", args=[long_chat.pk]))
    html = html.content.decode()
    assert bodies(html) == list(range(5, 105))
    fifth = Message.objects.get(request=long_chat, body="Message 5")
    assert f"/messages/before/?before={fifth.pk}" in html
    assert "Show earlier messages" in html
    assert 'href="?all=1"' in html  # without JavaScript: the whole conversation


def test_without_javascript_all_shows_everything(cast, long_chat):
    url = reverse("requests_chat:detail", args=[long_chat.pk])
    html = sign_in(Client(), cast.alice).get(url, {"all": "1"}).content.decode()
    assert bodies(html) == list(range(105))
    assert "Show earlier messages" not in html


def test_earlier_messages_come_in_a_batch_with_the_next_control(cast, long_chat, monkeypatch):
    monkeypatch.setattr("requests_chat.views.DETAIL_MESSAGES", 2)
    client = sign_in(Client(), cast.phil)
    url = reverse("requests_chat:messages_before", args=[long_chat.pk])
    m = {msg.body: msg.pk for msg in Message.objects.filter(request=long_chat)}
    html = client.get(url, {"before": m["Message 3"]}).content.decode()
    assert bodies(html) == [1, 2]
    assert f"?before={m['Message 1']}" in html
    assert 'id="earlier-messages" class="chat__earlier" hx-swap-oob="true"' in html
    html = client.get(url, {"before": m["Message 1"]}).content.decode()
    assert bodies(html) == [0]
    assert "Show earlier messages" not in html  # the start of the conversation
    event = AuditEvent.objects.filter(user=cast.phil).order_by("pk").last()
    assert event.description == "1 earlier messages"


@pytest.mark.parametrize("who", ["mallory", "carol"])
def test_earlier_messages_are_for_participants_only(cast, long_chat, who):
    url = reverse("requests_chat:messages_before", args=[long_chat.pk])
    response = sign_in(Client(), getattr(cast, who)).get(url, {"before": "999999"})
    assert response.status_code == 404


def test_a_bad_before_is_refused(cast, long_chat):
    url = reverse("requests_chat:messages_before", args=[long_chat.pk])
    assert sign_in(Client(), cast.alice).get(url, {"before": "x"}).status_code == 400


def test_the_documents_table_lists_documents_of_messages_not_shown(cast, long_chat):
    first = Message.objects.get(request=long_chat, body="Message 0")
    Document.objects.create(
        request=long_chat,
        message=first,
        title="Old referral letter",
        file="documents/x.pdf",
        size=10,
        sha256="0" * 64,
        page_count=1,
    )
    html = sign_in(Client(), cast.alice).get(reverse("requests_chat:detail", args=[long_chat.pk]))
    html = html.content.decode()
    assert 0 not in bodies(html)
    assert "Old referral letter" in html
    assert html.count(">Old referral letter<") == 1  # in the table, not in a shown message
