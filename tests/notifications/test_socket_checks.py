"""The checks every socket inherits from portal.consumers.PortalConsumer, on the notifications
socket: an inactive user, a session without the second factor and a foreign origin are refused."""

import pytest
from asgiref.sync import sync_to_async
from channels.auth import AuthMiddlewareStack
from channels.testing import WebsocketCommunicator

from notifications.consumers import NotificationConsumer
from portal.asgi import application
from portal.consumers import CLOSE_FORBIDDEN, PortalConsumer

from .test_consumer import close_thread_connections, connect, session_cookie  # noqa: F401

pytestmark = pytest.mark.django_db(transaction=True)


def test_it_gets_its_checks_by_inheriting_them():
    assert issubclass(NotificationConsumer, PortalConsumer)
    assert not {"connect", "receive", "websocket_connect"} & set(vars(NotificationConsumer))


async def test_it_refuses_an_inactive_user(cast):
    cookie = await sync_to_async(session_cookie)(cast.alice)
    await sync_to_async(
        lambda: type(cast.alice).objects.filter(pk=cast.alice.pk).update(is_active=False)
    )()
    communicator, connected, code = await connect(cookie)
    assert (connected, code) == (False, CLOSE_FORBIDDEN)


async def test_it_refuses_a_session_without_the_second_factor(cast):
    cookie = await sync_to_async(session_cookie)(cast.alice, verified=False)
    communicator, connected, code = await connect(cookie)
    assert (connected, code) == (False, CLOSE_FORBIDDEN)


async def test_it_refuses_a_foreign_origin(cast):
    cookie = await sync_to_async(session_cookie)(cast.alice)
    headers = [(b"origin", b"http://evil.example"), (b"cookie", f"sessionid={cookie}".encode())]
    communicator = WebsocketCommunicator(application, "/ws/notifications/", headers=headers)
    connected, _ = await communicator.connect(timeout=5)
    assert not connected
    # And the consumer itself refuses it, however it is mounted.
    bare = AuthMiddlewareStack(NotificationConsumer.as_asgi())
    communicator = WebsocketCommunicator(bare, "/ws/notifications/", headers=headers)
    connected, code = await communicator.connect(timeout=5)
    assert (connected, code) == (False, CLOSE_FORBIDDEN)


async def test_a_flood_of_frames_is_closed_and_a_bad_frame_is_not(cast):
    """Clients send nothing on this socket: a stray frame is dropped, a flood is closed."""
    from portal.consumers import CLOSE_RATE_LIMITED

    communicator, connected, _ = await connect(await sync_to_async(session_cookie)(cast.alice))
    assert connected
    await communicator.send_to(text_data='{"after": 1e400}')
    await communicator.send_to(bytes_data=b"\x00")
    assert await communicator.receive_nothing(timeout=0.2)
    for _ in range(100):
        await communicator.send_to(text_data="{}")
    assert await communicator.receive_output(timeout=3) == {
        "type": "websocket.close",
        "code": CLOSE_RATE_LIMITED,
    }
