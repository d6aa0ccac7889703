"""An open page stops receiving when its session ends: signed out (here or in another tab), or
ended by a password change elsewhere. Its chat and bell sockets are closed with 4401."""

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.test import Client
from django.urls import reverse

from accounts.services import end_other_sessions
from portal.asgi import application
from requests_chat.services import create_request
from tests.conftest import verify_otp

pytestmark = pytest.mark.django_db(transaction=True)
ENDED = {"type": "websocket.close", "code": 4401}


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    verify_otp(client, user)
    return client


async def open_socket(client: Client, path: str) -> WebsocketCommunicator:
    cookie = f"sessionid={client.cookies['sessionid'].value}".encode()
    communicator = WebsocketCommunicator(
        application, path, headers=[(b"origin", b"http://localhost"), (b"cookie", cookie)]
    )
    connected, _ = await communicator.connect(timeout=3)
    assert connected
    return communicator


async def next_close(communicator) -> dict:
    """The next close frame (presence and other pushes before it are skipped)."""
    while True:
        output = await communicator.receive_output(timeout=3)
        if output["type"] == "websocket.close":
            return output


@pytest.fixture
def chat(cast):
    chat, _ = create_request(prescription=cast.rx_alice, author=cast.alice, body="Any update?")
    return chat


async def test_signing_out_closes_that_sessions_sockets_only(cast, chat):
    here = await database_sync_to_async(signed_in)(cast.alice)
    other_tab_session = await database_sync_to_async(signed_in)(cast.alice)
    chat_ws = await open_socket(here, f"/ws/requests/{chat.pk}/")
    bell_ws = await open_socket(here, "/ws/notifications/")
    elsewhere = await open_socket(other_tab_session, f"/ws/requests/{chat.pk}/")
    phil_ws = await open_socket(
        await database_sync_to_async(signed_in)(cast.phil), "/ws/notifications/"
    )

    response = await database_sync_to_async(here.post)(reverse("accounts:sign_out"))
    assert response.status_code in (200, 302)
    assert await next_close(chat_ws) == ENDED
    assert await next_close(bell_ws) == ENDED
    # Alice's other session, and Phil, are untouched.
    assert await elsewhere.receive_nothing(timeout=0.3)
    assert await phil_ws.receive_nothing(timeout=0.3)
    for communicator in (elsewhere, phil_ws):
        await communicator.disconnect()


async def test_a_password_change_elsewhere_closes_the_other_sessions_sockets(cast, chat):
    laptop = await database_sync_to_async(signed_in)(cast.alice)
    phone = await database_sync_to_async(signed_in)(cast.alice)
    laptop_ws = await open_socket(laptop, f"/ws/requests/{chat.pk}/")
    phone_ws = await open_socket(phone, "/ws/notifications/")
    # On the phone, Alice changes her password: her other sessions end (the phone's stays).
    ended = await database_sync_to_async(end_other_sessions)(
        cast.alice, keep=phone.cookies["sessionid"].value
    )
    assert ended == 1
    assert await next_close(laptop_ws) == ENDED
    assert await phone_ws.receive_nothing(timeout=0.3)
    await phone_ws.disconnect()


async def test_an_mfa_reset_closes_the_users_sockets(cast, chat):
    from accounts.services import reset_mfa

    alice = await database_sync_to_async(signed_in)(cast.alice)
    alice_ws = await open_socket(alice, "/ws/notifications/")
    phil_ws = await open_socket(
        await database_sync_to_async(signed_in)(cast.phil), "/ws/notifications/"
    )
    await database_sync_to_async(reset_mfa)(user=cast.alice)
    assert await next_close(alice_ws) == ENDED
    assert await phil_ws.receive_nothing(timeout=0.3)
    await phil_ws.disconnect()


@pytest.mark.parametrize("how", ["idle too long", "session deleted"])
async def test_the_chat_beat_ends_a_session_gone_on_the_server(cast, chat, monkeypatch, how):
    """Without any sign-out event (a suspended tab whose idle timer never fired, a session
    removed from the store), the page's next "still here" finds out and the socket ends."""
    import time
    from importlib import import_module

    from django.conf import settings

    from requests_chat import consumers

    # The configured session engine (cached_db when opted in): a session changed behind the
    # cache's back would not be the session the portal reads.
    SessionStore = import_module(settings.SESSION_ENGINE).SessionStore  # noqa: N806

    monkeypatch.setattr(consumers, "PRESENCE_MIN_INTERVAL", 0)
    client = await database_sync_to_async(signed_in)(cast.alice)
    chat_ws = await open_socket(client, f"/ws/requests/{chat.pk}/")
    await chat_ws.send_json_to({"type": "here"})  # a live session: nothing happens
    assert await chat_ws.receive_nothing(timeout=0.3)

    def end_it():
        store = SessionStore(session_key=client.cookies["sessionid"].value)
        if how == "session deleted":
            store.delete()
        else:
            store["last_activity"] = time.time() - (settings.SESSION_IDLE_MINUTES + 1) * 60
            store.save()

    await database_sync_to_async(end_it)()
    await chat_ws.send_json_to({"type": "here"})
    assert await next_close(chat_ws) == ENDED
