"""The Requests list: search, "Unread only", pages, HTMX partial; never beyond visible_to."""

import re

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from audit.models import AuditEvent
from requests_chat.services import create_request, mark_read, send_message
from tests.conftest import make_rx, sign_in

pytestmark = pytest.mark.django_db
URL = reverse("requests_chat:list")


def listed(user, **params) -> list[str]:
    """The medications the user's list shows, in order."""
    response = sign_in(Client(), user).get(URL, params)
    assert response.status_code == 200
    return re.findall(r'href="/requests/\d+/">([^<]+)</a>', response.content.decode())


@pytest.fixture
def chats(cast):
    """Alice's two requests (Avril Lavigne's Humira, Sam Shared's Dupixent) and Carol's two,
    each opened by the prescriber (so nothing is unread for them yet)."""
    made = {}
    for key, rx, author in [
        ("humira", cast.rx_alice, cast.alice),
        ("dupixent", cast.rx_shared_alice, cast.alice),
        ("stelara", cast.rx_carol, cast.carol),
        ("enbrel", cast.rx_shared_carol, cast.carol),
    ]:
        made[key], _ = create_request(prescription=rx, author=author, body="Any update?")
    return made


@pytest.mark.parametrize(
    "who, q, expected",
    [
        ("alice", "", ["Dupixent", "Humira Pen"]),
        ("alice", "lavigne", ["Humira Pen"]),
        ("alice", "AVR", ["Humira Pen"]),
        ("alice", "dupi", ["Dupixent"]),
        ("alice", "3001", ["Dupixent"]),
        ("alice", "avril humira", ["Humira Pen"]),
        ("alice", "avril dupixent", []),
        # Sam Shared has a request with each prescriber: each sees only their own.
        ("alice", "shared", ["Dupixent"]),
        ("carol", "shared", ["Enbrel"]),
        ("alice", "enbrel", []),
        ("alice", "2001", []),
        ("bob", "shared", ["Dupixent"]),
        ("phil", "stelara", []),
        ("phil", "sam", ["Dupixent"]),
        ("mallory", "humira", []),
    ],
)
def test_it_searches_only_what_the_user_may_see(cast, chats, who, q, expected):
    found = listed(getattr(cast, who), q=q)
    assert [name.split(" 40 MG")[0].split(" 30 MG")[0].strip() for name in found] == expected


def test_unread_only_keeps_the_requests_with_unread_messages(cast, chats):
    reply = send_message(
        chat=chats["humira"], author=cast.phil, body="PA approved", client_id="c1"
    )[0]
    assert len(listed(cast.alice)) == 2
    assert [n.startswith("Humira") for n in listed(cast.alice, unread="on")] == [True]
    assert listed(cast.carol, unread="on") == []  # she wrote everything in hers
    # Phil has read Humira's conversation up to his reply: only Dupixent is left for him.
    mark_read(user=cast.phil, chat=chats["humira"], message_id=reply.pk, announce=False)
    assert [n.startswith("Dupixent") for n in listed(cast.phil, unread="on")] == [True]
    assert len(listed(cast.phil, unread="")) == 2


def test_it_pages_and_keeps_the_search_in_the_links(cast, chats, monkeypatch):
    monkeypatch.setattr("requests_chat.views.LIST_PAGE_SIZE", 1)
    client = sign_in(Client(), cast.alice)
    first = client.get(URL, {"q": "", "unread": ""}).content.decode()
    assert "Page 1 of 2" in first
    assert 'href="?q=&amp;unread=&amp;page=2"' in first
    second = client.get(URL, {"q": "", "unread": "", "page": "2"}).content.decode()
    assert "Page 2 of 2" in second
    # The newest activity first, then the older one; a bad page number shows the first page.
    assert listed(cast.alice, page="1") == ["Dupixent 40 MG/0.4ML KIT"]
    assert listed(cast.alice, page="2") == ["Humira Pen 40 MG/0.4ML KIT"]
    assert listed(cast.alice, page="nope") == listed(cast.alice, page="1")


def test_htmx_search_answers_with_the_results_only(cast, chats):
    client = sign_in(Client(), cast.alice)
    response = client.get(
        URL, {"q": "humira"}, headers={"HX-Request": "true", "HX-Target": "request-results"}
    )
    body = response.content.decode()
    assert body.lstrip().startswith('<section id="request-results"')
    assert "Humira Pen" in body and "Dupixent" not in body
    assert "<form" not in body and "<html" not in body
    assert response["Vary"].count("HX-Request") == 1


def test_no_match_says_so_and_offers_to_clear_unread_only(cast, chats):
    body = sign_in(Client(), cast.alice).get(URL, {"q": "zzz", "unread": "on"}).content.decode()
    assert "No requests match your search" in body
    assert 'clear "Unread only"' in body
    assert "No requests yet" not in body


def test_the_list_is_audited_with_its_search(cast, chats):
    sign_in(Client(), cast.alice).get(URL, {"q": "lavigne"})
    event = AuditEvent.objects.filter(user=cast.alice, action=AuditEvent.Action.LIST).last()
    assert event.description == "requests list q=lavigne"


def test_query_count_does_not_grow_with_the_rows(cast, chats):
    client = sign_in(Client(), cast.alice)
    client.get(URL)  # warm the session
    with CaptureQueriesContext(connection) as few:
        client.get(URL)
    for n in range(6):
        rx = make_rx(f"RX90{n}", cast.pat_alice, cast.npi_alice, cast.pharmacy)
        chat, _ = create_request(prescription=rx, author=cast.alice, body="More")
        send_message(chat=chat, author=cast.phil, body="Reply", client_id=f"r{n}")
    with CaptureQueriesContext(connection) as many:
        response = client.get(URL)
    assert response.content.decode().count("unread</span>") == 6
    assert len(many) == len(few)
