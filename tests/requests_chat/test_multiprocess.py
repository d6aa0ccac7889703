"""Two ASGI server processes sharing Redis: a message posted to one reaches a socket on the other."""

import re
import urllib.request
import uuid

import pytest
from django.test import Client
from websockets.sync.client import connect

from requests_chat.models import Message
from requests_chat.services import create_request
from tests.conftest import verify_otp
from tests.servers import database_url_for_tests, free_port, start_asgi, stop

pytestmark = pytest.mark.django_db(transaction=True)


def session_cookie(user) -> str:
    client = Client()
    client.force_login(user)
    verify_otp(client, user)
    return client.cookies["sessionid"].value


@pytest.fixture(params=["pubsub", "core"])
def two_servers(request, redis_url, settings):
    """A daphne and a uvicorn process on one channel layer: pub/sub (the default) or core."""
    env = {
        "CHANNEL_LAYER": request.param,
        "DATABASE_URL": database_url_for_tests(),
        "MEDIA_ROOT": str(settings.MEDIA_ROOT),
        "REDIS_URL": redis_url,
        # A prefix of our own, so that parallel test runs on the same Redis do not cross-talk.
        "CHANNEL_PREFIX": f"test-{uuid.uuid4().hex[:8]}",
        "CACHE_PREFIX": f"test-{uuid.uuid4().hex[:8]}",
    }
    ports = free_port(), free_port()
    procs = [start_asgi("daphne", ports[0], env), start_asgi("uvicorn", ports[1], env)]
    yield ports
    for proc in procs:
        stop(proc)


def test_it_delivers_across_server_processes(cast, two_servers):
    daphne_port, uvicorn_port = two_servers
    chat, _ = create_request(prescription=cast.rx_alice, author=cast.alice, body="Any update?")
    alice, phil = session_cookie(cast.alice), session_cookie(cast.phil)

    # Alice listens on the uvicorn process...
    origin = f"http://127.0.0.1:{uvicorn_port}"
    with connect(
        f"ws://127.0.0.1:{uvicorn_port}/ws/requests/{chat.pk}/",
        additional_headers={"Origin": origin, "Cookie": f"sessionid={alice}"},
        open_timeout=30,
    ) as socket:
        # ...while Phil posts through the daphne process (HTMX POST, CSRF and all).
        base = f"http://127.0.0.1:{daphne_port}"
        page = urllib.request.urlopen(
            urllib.request.Request(
                f"{base}/requests/{chat.pk}/", headers={"Cookie": f"sessionid={phil}"}
            ),
            timeout=30,
        )
        csrf = re.search(r"csrftoken=([^;]+)", page.headers["Set-Cookie"]).group(1)
        body = f"body=Approved+today&client_id={uuid.uuid4().hex}".encode()
        response = urllib.request.urlopen(
            urllib.request.Request(
                f"{base}/requests/{chat.pk}/messages/",
                data=body,
                method="POST",
                headers={
                    "Cookie": f"sessionid={phil}; csrftoken={csrf}",
                    "X-CSRFToken": csrf,
                    "HX-Request": "true",
                    "Content-Type": "application/x-www-form-urlencoded",
                    "Origin": base,
                },
            ),
            timeout=30,
        )
        assert response.status == 200
        message = Message.objects.get(body="Approved today")
        html = socket.recv(timeout=30)
        assert f'id="message-{message.pk}"' in html
        assert "Approved today" in html and "Phil Pharm" in html

        # Presence crosses processes too (the cache is Redis): Phil opens the chat on daphne,
        # Alice's page on uvicorn shows him; he leaves, and it no longer does.
        with connect(
            f"ws://127.0.0.1:{daphne_port}/ws/requests/{chat.pk}/",
            additional_headers={"Origin": base, "Cookie": f"sessionid={phil}"},
            open_timeout=30,
        ) as phil_socket:
            presence = socket.recv(timeout=30)
            assert 'id="chat-presence"' in presence
            assert "Here now: Phil Pharm (Pharmacist)" in presence
            assert "Alice Adams (Prescriber)" in phil_socket.recv(timeout=30)
        presence = socket.recv(timeout=30)
        assert 'id="chat-presence"' in presence and "Phil" not in presence
