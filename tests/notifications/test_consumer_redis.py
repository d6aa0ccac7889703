"""Across processes: a notification made here reaches a socket held by a daphne subprocess."""

import pytest
from django.test import Client
from websockets.sync.client import connect

from notifications.models import Activity
from notifications.services import notify
from tests.browser.conftest import free_port, start_server, stop_server
from tests.conftest import sign_in

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def redis_layer(redis_url, settings):
    """This process and the server share one Redis channel layer (with a private prefix)."""
    prefix = "notif-test"
    settings.CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
            "CONFIG": {"hosts": [redis_url], "prefix": prefix},
        }
    }
    return {"REDIS_URL": redis_url, "CHANNEL_PREFIX": prefix, "CHANNEL_LAYER": "pubsub"}


def test_it_reaches_a_socket_held_by_another_process(cast, redis_layer):
    port = free_port()
    server = start_server(port, redis_layer)
    try:
        client = sign_in(Client(), cast.alice)
        cookie = client.cookies["sessionid"].value
        with connect(
            f"ws://127.0.0.1:{port}/ws/notifications/",
            additional_headers={
                "Origin": f"http://127.0.0.1:{port}",
                "Cookie": f"sessionid={cookie}",
            },
            open_timeout=10,
        ) as ws:
            notify(activity=Activity.NEW_MESSAGE, obj=cast.rx_alice, actor=cast.phil)
            html = ws.recv(timeout=10)
            assert 'data-count="1"' in html
            assert "New message from Phil Pharm" in html
    finally:
        stop_server(server)
