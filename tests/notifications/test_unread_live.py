"""Unread badges of the Requests list, live: a new message and a read marker move them."""

import re

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.db import connections
from django.test import Client

from accounts.models import Delegation
from portal.asgi import application
from requests_chat.services import create_request, mark_read, send_message
from tests.conftest import sign_in

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
async def close_thread_connections():
    yield
    await sync_to_async(connections.close_all)()


def cookie_for(user) -> str:
    return sign_in(Client(), user).cookies["sessionid"].value


async def bell_socket(user):
    cookie = await sync_to_async(cookie_for)(user)
    communicator = WebsocketCommunicator(
        application,
        "/ws/notifications/",
        headers=[(b"origin", b"http://localhost"), (b"cookie", f"sessionid={cookie}".encode())],
    )
    connected, _ = await communicator.connect(timeout=5)
    assert connected
    return communicator


async def unread_frames(communicator, request_pk, *, timeout=1.0) -> list[int]:
    """The unread counts pushed for `request_pk` (other frames, like the bell's, are skipped)."""
    counts = []
    while not await communicator.receive_nothing(timeout=timeout):
        frame = await communicator.receive_from()
        match = re.search(rf'<span id="unread-request-{request_pk}"[^>]*data-unread="(\d+)"', frame)
        if match:
            assert 'hx-swap-oob="true"' in frame
            counts.append(int(match.group(1)))
        timeout = 0.3
    return counts


async def test_a_new_message_updates_everyone_elses_badge_and_reading_clears_it(cast):
    chat, _ = await sync_to_async(create_request)(
        prescription=cast.rx_alice, author=cast.alice, body="Any update?"
    )
    alice, bob, phil, mallory = [
        await bell_socket(u) for u in (cast.alice, cast.bob, cast.phil, cast.mallory)
    ]
    await sync_to_async(send_message)(chat=chat, author=cast.phil, body="Approved", client_id="a")

    assert await unread_frames(alice, chat.pk) == [1]
    assert await unread_frames(bob, chat.pk) == [2]  # bob read nothing yet: both messages
    assert await unread_frames(phil, chat.pk) == []  # his own message
    assert await unread_frames(mallory, chat.pk) == []  # an outsider hears nothing

    # Alice opens the request (read marker moves): her other pages drop to 0.
    message = await sync_to_async(lambda: chat.messages.last())()
    await sync_to_async(mark_read)(user=cast.alice, chat=chat, message_id=message.pk)
    assert await unread_frames(alice, chat.pk) == [0]
    for communicator in (alice, bob, phil, mallory):
        await communicator.disconnect()


async def test_a_removed_delegate_gets_no_badge(cast):
    chat, _ = await sync_to_async(create_request)(
        prescription=cast.rx_alice, author=cast.alice, body="Any update?"
    )
    bob = await bell_socket(cast.bob)
    await sync_to_async(lambda: Delegation.objects.get(delegate=cast.bob).revoke())()
    await sync_to_async(send_message)(chat=chat, author=cast.phil, body="Approved", client_id="b")
    assert await unread_frames(bob, chat.pk) == []
    await bob.disconnect()


async def test_rows_shown_in_an_open_chat_clear_the_badge_of_the_users_other_pages(
    cast, monkeypatch
):
    """The chat socket's batched read markers (services.mark_read_many, from its own threads)
    announce the new count too."""
    from requests_chat import live
    from tests.requests_chat.test_request_consumer import cookie_for as chat_cookie
    from tests.requests_chat.test_request_consumer import join, receive_from

    monkeypatch.setattr(live, "READ_MARK_DELAY", 0.5)  # after the message's own announcement
    chat, _ = await sync_to_async(create_request)(
        prescription=cast.rx_alice, author=cast.alice, body="Any update?"
    )
    bell = await bell_socket(cast.alice)
    chat_ws, connected, _ = await join(await sync_to_async(chat_cookie)(cast.alice), chat.pk)
    assert connected
    await sync_to_async(send_message)(chat=chat, author=cast.phil, body="Approved", client_id="a")
    assert "Approved" in await receive_from(chat_ws)
    # 1 from the message's announcement, then 0 once the chat page showed it.
    assert await unread_frames(bell, chat.pk) == [1]
    assert await unread_frames(bell, chat.pk) == [0]
    await chat_ws.disconnect()
    await bell.disconnect()
