"""A websocket handshake that meets a database outage (down, restarting, or the pool's wait for a
connection timed out under load) is closed with 4503, which the page reads (it polls, then
reconnects), never answered with HTTP 500; other errors are not hidden."""

from __future__ import annotations

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.db import OperationalError

from portal import consumers as portal_consumers
from portal.asgi import application
from portal.consumers import CLOSE_UNAVAILABLE, DatabaseOutageGuard
from requests_chat.services import create_request
from tests.requests_chat.test_request_consumer import cookie_for

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def chat(cast):
    chat, _ = create_request(prescription=cast.rx_alice, author=cast.alice, body="Any update?")
    return chat


async def handshake(cookie: bytes, path: str) -> tuple[WebsocketCommunicator, bool]:
    communicator = WebsocketCommunicator(
        application, path, headers=[(b"origin", b"http://localhost"), (b"cookie", cookie)]
    )
    connected, _ = await communicator.connect(timeout=3)
    return communicator, connected


def pool_timeout(*args, **kwargs):
    # What Django raises when psycopg's pool gives up waiting for a connection.
    raise OperationalError("couldn't get a connection after 2.00 sec")


@pytest.mark.parametrize("path", ["/ws/requests/{pk}/", "/ws/notifications/"])
async def test_the_session_lookup_failing_closes_with_4503(cast, chat, monkeypatch, path):
    cookie = await database_sync_to_async(cookie_for)(cast.alice)
    # channels' AuthMiddleware reads the user of the session before any consumer runs.
    monkeypatch.setattr("channels.auth.get_user", database_sync_to_async(pool_timeout))
    communicator, connected = await handshake(cookie, path.format(pk=chat.pk))
    assert connected  # accepted so that the page can read the code…
    assert await communicator.receive_output(timeout=3) == {
        "type": "websocket.close",
        "code": CLOSE_UNAVAILABLE,
    }  # …and nothing else is sent on it
    assert await communicator.receive_nothing(timeout=0.2)


@pytest.mark.parametrize("path", ["/ws/requests/{pk}/", "/ws/notifications/"])
async def test_the_access_check_failing_closes_with_4503(cast, chat, monkeypatch, path):
    cookie = await database_sync_to_async(cookie_for)(cast.alice)
    monkeypatch.setattr(portal_consumers.PortalConsumer, "_check_open", pool_timeout)
    communicator, connected = await handshake(cookie, path.format(pk=chat.pk))
    assert connected
    assert await communicator.receive_output(timeout=3) == {
        "type": "websocket.close",
        "code": CLOSE_UNAVAILABLE,
    }


async def test_an_open_socket_meeting_an_outage_is_closed_with_4503():
    async def app(scope, receive, send):
        await receive()
        await send({"type": "websocket.accept"})
        raise OperationalError("the server closed the connection unexpectedly")

    communicator = WebsocketCommunicator(DatabaseOutageGuard(app), "/ws/x/")
    connected, _ = await communicator.connect(timeout=3)
    assert connected
    assert await communicator.receive_output(timeout=3) == {
        "type": "websocket.close",
        "code": CLOSE_UNAVAILABLE,
    }


async def test_other_errors_are_not_hidden():
    async def app(scope, receive, send):
        await receive()
        raise ValueError("a bug")

    communicator = WebsocketCommunicator(DatabaseOutageGuard(app), "/ws/x/")
    with pytest.raises(ValueError, match="a bug"):
        await communicator.connect(timeout=3)


async def test_a_closed_socket_is_not_closed_twice():
    async def app(scope, receive, send):
        await receive()
        await send({"type": "websocket.accept"})
        await send({"type": "websocket.close", "code": 1000})
        raise OperationalError("lost")

    communicator = WebsocketCommunicator(DatabaseOutageGuard(app), "/ws/x/")
    connected, _ = await communicator.connect(timeout=3)
    assert connected
    assert await communicator.receive_output(timeout=3) == {"type": "websocket.close", "code": 1000}
    assert await communicator.receive_nothing(timeout=0.2)
