"""The live chat socket, through the full ASGI application (origin check, session, OTP)."""

import asyncio

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.test import Client

from portal.asgi import application
from requests_chat.models import Message
from requests_chat.services import create_request, send_message
from tests.conftest import verify_otp

pytestmark = pytest.mark.django_db(transaction=True)


def cookie_for(user, *, otp: bool = True) -> bytes:
    client = Client()
    client.force_login(user)
    if otp:
        verify_otp(client, user)
    return f"sessionid={client.cookies['sessionid'].value}".encode()


@pytest.fixture
def chat(cast):
    chat, _ = create_request(prescription=cast.rx_alice, author=cast.alice, body="Any update?")
    return chat


async def join(cookie: bytes, pk: int, origin: bytes = b"http://localhost"):
    communicator = WebsocketCommunicator(
        application, f"/ws/requests/{pk}/", headers=[(b"origin", origin), (b"cookie", cookie)]
    )
    connected, code = await communicator.connect(timeout=3)
    return communicator, connected, code


# Presence updates ("Here now: …") arrive whenever someone joins or leaves, and the page's
# bookkeeping ("complete through", test_catch_up.py) after a catch-up; the tests of messages
# and typing look past them (presence has tests of its own, test_presence.py).
def is_presence(output: dict) -> bool:
    text = output.get("text", "")
    return output.get("type") == "websocket.send" and (
        'id="chat-presence"' in text or 'id="chat-sync"' in text
    )


async def next_output(communicator, timeout: float = 3) -> dict:
    """The next thing the server sends that is not a presence update."""
    while True:
        output = await communicator.receive_output(timeout=timeout)
        if not is_presence(output):
            return output


async def receive_from(communicator, timeout: float = 3) -> str:
    output = await next_output(communicator, timeout)
    assert output["type"] == "websocket.send", output
    return output["text"]


async def nothing(communicator, timeout: float = 0.3) -> bool:
    """Nothing but presence updates arrives within `timeout`."""
    while not await communicator.receive_nothing(timeout=timeout):
        if not is_presence(await communicator.receive_output()):
            return False
    return True


post = database_sync_to_async(
    lambda chat, author, body, client_id: send_message(
        chat=chat, author=author, body=body, client_id=client_id
    )
)


async def test_it_refuses_an_outsider_and_the_other_prescriber(cast, chat):
    for user in (cast.mallory, cast.carol):
        cookie = await database_sync_to_async(cookie_for)(user)
        communicator, connected, code = await join(cookie, chat.pk)
        assert (connected, code) == (False, 4403)


async def test_it_refuses_a_removed_delegate(cast, chat):
    cookie = await database_sync_to_async(cookie_for)(cast.bob)
    communicator, connected, _ = await join(cookie, chat.pk)
    assert connected
    await communicator.disconnect()
    await database_sync_to_async(lambda: cast.bob.delegations.get().revoke())()
    communicator, connected, code = await join(cookie, chat.pk)
    assert (connected, code) == (False, 4403)


async def test_it_cuts_off_a_delegate_removed_while_connected(cast, chat):
    cookie = await database_sync_to_async(cookie_for)(cast.bob)
    communicator, connected, _ = await join(cookie, chat.pk)
    assert connected
    await database_sync_to_async(lambda: cast.bob.delegations.get().revoke())()
    await communicator.send_json_to({"type": "catch_up", "after": 0})
    closed = await next_output(communicator)
    assert closed == {"type": "websocket.close", "code": 4403}


@pytest.mark.parametrize("how", ["delegation revoked", "account deactivated"])
async def test_a_push_after_losing_access_closes_the_socket_and_carries_nothing(cast, chat, how):
    """Nothing sent by the user: the next message itself cuts them off, and they never see it."""
    cookie = await database_sync_to_async(cookie_for)(cast.bob)
    bob, connected, _ = await join(cookie, chat.pk)
    alice, alice_connected, _ = await join(
        await database_sync_to_async(cookie_for)(cast.alice), chat.pk
    )
    assert connected and alice_connected

    def lose_access():
        if how == "delegation revoked":
            cast.bob.delegations.get().revoke()
        else:
            type(cast.bob).objects.filter(pk=cast.bob.pk).update(is_active=False)

    await database_sync_to_async(lose_access)()
    await post(chat, cast.phil, "Lab results attached", "after-removal")
    assert "Lab results attached" in await receive_from(alice)
    assert await next_output(bob) == {"type": "websocket.close", "code": 4403}
    assert await nothing(bob)
    await alice.disconnect()


async def test_it_refuses_a_forged_request_id(cast, chat):
    cookie = await database_sync_to_async(cookie_for)(cast.alice)
    communicator, connected, code = await join(cookie, chat.pk + 1000)
    assert (connected, code) == (False, 4403)


async def test_it_refuses_a_session_without_the_second_factor(cast, chat):
    cookie = await database_sync_to_async(cookie_for)(cast.alice, otp=False)
    communicator, connected, code = await join(cookie, chat.pk)
    assert (connected, code) == (False, 4403)


async def test_it_refuses_anonymous_and_foreign_origins(cast, chat):
    communicator, connected, code = await join(b"sessionid=nope", chat.pk)
    assert (connected, code) == (False, 4403)
    cookie = await database_sync_to_async(cookie_for)(cast.alice)
    communicator, connected, _ = await join(cookie, chat.pk, origin=b"http://evil.example")
    assert not connected


async def test_it_delivers_a_message_to_every_participant(cast, chat):
    sockets = []
    for user in (cast.alice, cast.bob, cast.phil):
        cookie = await database_sync_to_async(cookie_for)(user)
        communicator, connected, _ = await join(cookie, chat.pk)
        assert connected
        sockets.append(communicator)
    message, created = await post(chat, cast.phil, "Insurance approved", "m-1")
    assert created
    for communicator in sockets:
        html = await receive_from(communicator)
        assert f'id="message-{message.pk}"' in html
        assert 'hx-swap-oob="beforeend"' in html
        assert "Insurance approved" in html and "Pharmacist" in html
        await communicator.disconnect()


async def test_it_stores_and_delivers_a_duplicate_client_id_once(cast, chat):
    cookie = await database_sync_to_async(cookie_for)(cast.alice)
    communicator, connected, _ = await join(cookie, chat.pk)
    first, created = await post(chat, cast.phil, "Once", "same-id")
    again, created_again = await post(chat, cast.phil, "Once", "same-id")
    assert (created, created_again, first.pk) == (True, False, again.pk)
    assert await database_sync_to_async(Message.objects.filter(client_id="same-id").count)() == 1
    assert "Once" in await receive_from(communicator)
    assert await nothing(communicator)
    await communicator.disconnect()


async def test_it_catches_up_on_reconnect(cast, chat):
    cookie = await database_sync_to_async(cookie_for)(cast.alice)
    communicator, connected, _ = await join(cookie, chat.pk)
    seen, _ = await post(chat, cast.phil, "Before", "b-1")
    assert "Before" in await receive_from(communicator)
    await communicator.disconnect()
    # While alice is away:
    missed = [await post(chat, cast.phil, f"Missed {n}", f"m-{n}") for n in range(3)]
    communicator, connected, _ = await join(cookie, chat.pk)
    await communicator.send_json_to({"type": "catch_up", "after": seen.pk})
    received = [await receive_from(communicator) for _ in missed]
    for (message, _), html in zip(missed, received, strict=True):
        assert f'id="message-{message.pk}"' in html
    assert await nothing(communicator)
    await communicator.disconnect()


async def test_it_marks_pushed_messages_read(cast, chat, monkeypatch):
    from requests_chat import live
    from requests_chat.models import ReadState

    monkeypatch.setattr(live, "READ_MARK_DELAY", 0.01)
    cookie = await database_sync_to_async(cookie_for)(cast.alice)
    communicator, connected, _ = await join(cookie, chat.pk)
    message, _ = await post(chat, cast.phil, "Read me", "r-1")
    await receive_from(communicator)

    # The mark is written READ_MARK_DELAY after the push; on a loaded machine the write itself
    # may take a while, so wait for it (up to 5 s) rather than a fixed 0.2 s.
    def marked() -> int | None:
        state = ReadState.objects.filter(user=cast.alice, request=chat).first()
        return state.last_read_message_id if state else None

    for _ in range(100):
        await asyncio.sleep(0.05)
        if await database_sync_to_async(marked)() == message.pk:
            break
    assert await database_sync_to_async(marked)() == message.pk
    await communicator.disconnect()


async def test_typing_reaches_the_others_only_and_is_throttled(cast, chat, monkeypatch):
    import requests_chat.consumers as consumers

    alice, ok_a, _ = await join(await database_sync_to_async(cookie_for)(cast.alice), chat.pk)
    phil, ok_p, _ = await join(await database_sync_to_async(cookie_for)(cast.phil), chat.pk)
    assert ok_a and ok_p
    await phil.send_json_to({"type": "typing"})
    html = await receive_from(alice)
    assert 'id="chat-typing"' in html and 'hx-swap-oob="true"' in html
    assert "Phil Pharm (Pharmacist) is typing" in html
    assert await nothing(phil)  # not shown to the typist
    await phil.send_json_to({"type": "typing"})  # again at once: dropped
    assert await nothing(alice)
    monkeypatch.setattr(consumers, "TYPING_INTERVAL", 0)
    await phil.send_json_to({"type": "typing"})
    assert "is typing" in await receive_from(alice)
    await alice.disconnect()
    await phil.disconnect()


async def test_a_removed_delegate_cannot_announce_or_see_typing(cast, chat):
    bob, ok_b, _ = await join(await database_sync_to_async(cookie_for)(cast.bob), chat.pk)
    alice, ok_a, _ = await join(await database_sync_to_async(cookie_for)(cast.alice), chat.pk)
    phil, ok_p, _ = await join(await database_sync_to_async(cookie_for)(cast.phil), chat.pk)
    assert ok_b and ok_a and ok_p
    await database_sync_to_async(lambda: cast.bob.delegations.get().revoke())()
    # Alice types: Phil sees it; Bob, still connected but no longer in the audience, does not.
    await alice.send_json_to({"type": "typing"})
    assert "Alice Adams (Prescriber) is typing" in await receive_from(phil)
    assert await nothing(bob)
    # Bob types: refused (the access check runs on every client message), nobody is told.
    await bob.send_json_to({"type": "typing"})
    assert await next_output(bob) == {"type": "websocket.close", "code": 4403}
    assert await nothing(alice)
    assert await nothing(phil)
    await alice.disconnect()
    await phil.disconnect()
