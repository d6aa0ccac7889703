"""The per-user notification socket (in-memory layer, and Redis across processes)."""

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.db import connections
from django.test import Client

from notifications.models import Activity
from notifications.services import notify
from portal.asgi import application
from tests.conftest import sign_in

pytestmark = pytest.mark.django_db(transaction=True)

ORIGIN = (b"origin", b"http://localhost")


@pytest.fixture(autouse=True)
async def close_thread_connections():
    """The ORM ran in asgiref's worker thread: close its connection (PostgreSQL keeps it)."""
    yield
    await sync_to_async(connections.close_all)()


def session_cookie(user, *, verified=True) -> str:
    client = Client()
    if verified:
        sign_in(client, user)
    else:
        client.force_login(user)
    return client.cookies["sessionid"].value


async def connect(cookie: str | None):
    headers = [ORIGIN]
    if cookie:
        headers.append((b"cookie", f"sessionid={cookie}".encode()))
    communicator = WebsocketCommunicator(application, "/ws/notifications/", headers=headers)
    connected, code = await communicator.connect(timeout=5)
    return communicator, connected, code


async def test_it_pushes_a_new_notification_to_the_recipient(cast):
    alice_ws, ok, _ = await connect(await sync_to_async(session_cookie)(cast.alice))
    carol_ws, ok_carol, _ = await connect(await sync_to_async(session_cookie)(cast.carol))
    assert ok and ok_carol
    await sync_to_async(notify)(activity=Activity.NEW_MESSAGE, obj=cast.rx_alice, actor=cast.phil)
    html = await alice_ws.receive_from(timeout=5)
    assert 'id="notification-count"' in html and 'data-count="1"' in html
    assert "New message from Phil Pharm" in html
    assert 'hx-swap-oob="true"' in html
    assert await carol_ws.receive_nothing(timeout=0.2)
    await alice_ws.disconnect()
    await carol_ws.disconnect()


async def test_it_refuses_a_session_without_the_second_factor(cast):
    cookie = await sync_to_async(session_cookie)(cast.alice, verified=False)
    communicator, connected, code = await connect(cookie)
    assert not connected and code == 4403


async def test_it_refuses_anonymous_clients(cast):
    communicator, connected, code = await connect(None)
    assert not connected


async def test_it_ignores_what_clients_send(cast):
    communicator, connected, _ = await connect(await sync_to_async(session_cookie)(cast.alice))
    assert connected
    await communicator.send_to(text_data='{"mark_read": "all"}')
    assert await communicator.receive_nothing(timeout=0.2)
    await communicator.disconnect()
