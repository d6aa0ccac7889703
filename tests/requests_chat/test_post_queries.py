"""The chat message POST: what runs before the push (the latency every reader waits for) is
counted and pinned, and the rest of the work happens after it."""

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from requests_chat import services
from requests_chat.models import Message, ReadState
from requests_chat.services import create_request
from tests.conftest import sign_in

# Autocommit, as in production: the push runs at the commit, inside the counted request.
pytestmark = pytest.mark.django_db(transaction=True)

# Before the push: session, user, second-factor device (middleware); the access root and the
# visible request (the view); the message stored with the author's read marker (PostgreSQL: one
# statement that bumps and locks the request, inserts the message and moves the marker;
# SQLite: the general path's transaction); then the audience, from the database after the
# commit.
BEFORE_PUSH = {"postgresql": 7, "sqlite": 11}


def test_a_message_post_runs_few_statements_before_its_push(cast, monkeypatch):
    chat, _ = create_request(prescription=cast.rx_alice, author=cast.alice, body="Any update?")
    client = sign_in(Client(), cast.phil)
    url = reverse("requests_chat:send", args=[chat.pk])
    # Phil's first message (his read marker is created); the second one is the usual case.
    client.post(url, {"body": "Looking", "client_id": "c0"}, headers={"HX-Request": "true"})
    at_push: list[int] = []
    push = services.broadcast_message

    def counting_push(message, audience):
        at_push.append(len(queries.captured_queries))
        return push(message, audience)

    monkeypatch.setattr(services, "broadcast_message", counting_push)
    with CaptureQueriesContext(connection) as queries:
        response = client.post(
            url, {"body": "PA approved", "client_id": "c1"}, headers={"HX-Request": "true"}
        )
    assert response.status_code == 200
    message = Message.objects.get(client_id="c1")
    assert f'id="message-{message.pk}"' in response.content.decode()
    assert len(at_push) == 1  # pushed once
    before = [q["sql"] for q in queries.captured_queries[: at_push[0]]]
    after = [q["sql"] for q in queries.captured_queries[at_push[0] :]]
    assert len(before) == BEFORE_PUSH[connection.vendor], before
    # The message is stored (and committed) before it is pushed; the rest comes after.
    assert any("requests_chat_message" in sql and "INSERT" in sql for sql in before)
    assert any("requests_chat_readstate" in sql for sql in before)  # with the message
    for table in ("audit_auditevent", "django_session"):
        writes = [sql for sql in before if table in sql and not sql.startswith("SELECT")]
        assert not writes, table
    assert any("audit_auditevent" in sql for sql in after)
    # The session is not saved at all here: the idle timeout records activity at most once a
    # minute (accounts.middleware.IdleTimeoutMiddleware), and the first POST just recorded it.
    assert not [sql for sql in after if "django_session" in sql and "UPDATE" in sql]
    # The author's marker still moved to their own message.
    assert ReadState.objects.get(user=cast.phil, request=chat).last_read_message_id == message.pk


def test_a_retried_client_id_is_stored_once_and_answered_with_the_stored_message(cast, monkeypatch):
    chat, _ = create_request(prescription=cast.rx_alice, author=cast.alice, body="Any update?")
    client = sign_in(Client(), cast.phil)
    url = reverse("requests_chat:send", args=[chat.pk])
    pushed: list[int] = []
    push = services.broadcast_message
    monkeypatch.setattr(
        services, "broadcast_message", lambda m, a: pushed.append(m.pk) or push(m, a)
    )
    first = client.post(url, {"body": "Once", "client_id": "same"}, headers={"HX-Request": "true"})
    again = client.post(url, {"body": "Once", "client_id": "same"}, headers={"HX-Request": "true"})
    message = Message.objects.get(client_id="same")
    assert Message.objects.filter(request=chat, body="Once").count() == 1
    assert pushed == [message.pk]  # the retry is not pushed again
    for response in (first, again):
        assert response.status_code == 200
        assert f'id="message-{message.pk}"' in response.content.decode()
