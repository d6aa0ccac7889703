"""The checks every socket inherits from portal.consumers.PortalConsumer, on the chat socket:
an inactive user, a session without the second factor and a foreign origin are all refused."""

import pytest
from channels.auth import AuthMiddlewareStack
from channels.db import database_sync_to_async
from channels.routing import URLRouter
from channels.testing import WebsocketCommunicator
from django.urls import path

from portal.consumers import CLOSE_FORBIDDEN, PortalConsumer
from requests_chat.consumers import RequestConsumer
from requests_chat.services import create_request

from .test_request_consumer import cookie_for, join

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def chat(cast):
    chat, _ = create_request(prescription=cast.rx_alice, author=cast.alice, body="Any update?")
    return chat


def test_it_gets_its_checks_by_inheriting_them():
    assert issubclass(RequestConsumer, PortalConsumer)
    assert not {"connect", "receive", "websocket_connect"} & set(vars(RequestConsumer))


async def test_it_refuses_an_inactive_user(cast, chat):
    cookie = await database_sync_to_async(cookie_for)(cast.alice)
    await database_sync_to_async(
        lambda: type(cast.alice).objects.filter(pk=cast.alice.pk).update(is_active=False)
    )()
    communicator, connected, code = await join(cookie, chat.pk)
    assert (connected, code) == (False, CLOSE_FORBIDDEN)


async def test_it_refuses_a_session_without_the_second_factor(cast, chat):
    cookie = await database_sync_to_async(cookie_for)(cast.alice, otp=False)
    communicator, connected, code = await join(cookie, chat.pk)
    assert (connected, code) == (False, CLOSE_FORBIDDEN)


@pytest.mark.parametrize("origin", [b"http://evil.example", b"null", b""])
async def test_it_refuses_a_foreign_origin_even_when_mounted_without_the_validator(
    cast, chat, origin
):
    """The consumer checks the origin itself, not only asgi.py's AllowedHostsOriginValidator."""
    app = AuthMiddlewareStack(URLRouter([path("ws/requests/<int:pk>/", RequestConsumer.as_asgi())]))
    cookie = await database_sync_to_async(cookie_for)(cast.alice)
    headers = [(b"cookie", cookie)] + ([(b"origin", origin)] if origin else [])
    communicator = WebsocketCommunicator(app, f"/ws/requests/{chat.pk}/", headers=headers)
    connected, code = await communicator.connect(timeout=3)
    assert (connected, code) == (False, CLOSE_FORBIDDEN)


async def test_it_refuses_a_foreign_origin_through_the_application(cast, chat):
    cookie = await database_sync_to_async(cookie_for)(cast.alice)
    communicator, connected, _ = await join(cookie, chat.pk, origin=b"http://evil.example")
    assert not connected


async def test_a_request_id_too_large_for_the_database_is_refused_not_a_crash(cast, chat):
    cookie = await database_sync_to_async(cookie_for)(cast.alice)
    communicator, connected, code = await join(cookie, 10**30)
    assert (connected, code) == (False, CLOSE_FORBIDDEN)
