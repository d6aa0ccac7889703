"""No message lost (the topology issue): catch-up by what the page lacks, a beat that reports
what the page missed, and a channel-layer outage that closes cleanly and is said so."""

import re

import pytest
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from django.test import Client
from django.urls import reverse

from portal import consumers as portal_consumers
from portal.consumers import CLOSE_FORBIDDEN, CLOSE_UNAVAILABLE
from requests_chat import consumers
from requests_chat.services import create_request
from tests.conftest import sign_in

from .layers import FlakyLayer
from .test_request_consumer import cookie_for, is_presence, join, post

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def chat(cast):
    chat, _ = create_request(prescription=cast.rx_alice, author=cast.alice, body="Any update?")
    return chat


@pytest.fixture
def flaky(settings):
    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "tests.requests_chat.layers.FlakyLayer"}}
    FlakyLayer.down = FlakyLayer.groups_down = False
    yield FlakyLayer
    FlakyLayer.down = FlakyLayer.groups_down = False


def sync_of(html: str) -> dict[str, str]:
    assert 'id="chat-sync"' in html, html
    return dict(re.findall(r'data-(complete-through|live)="(\d+)"', html))


async def frames(communicator, timeout: float = 0.5) -> list[str]:
    """Everything sent until quiet, presence updates left out."""
    texts = []
    while not await communicator.receive_nothing(timeout=timeout):
        output = await communicator.receive_output()
        assert output["type"] == "websocket.send", output
        if not is_presence(output) or 'id="chat-sync"' in output["text"]:
            texts.append(output["text"])
    return texts


async def test_a_page_that_sent_its_own_reply_after_missing_one_gets_the_missed_one(
    cast, chat, flaky, monkeypatch
):
    """The page's highest id is its own reply, newer than the message it missed (a broadcast
    lost to a Redis blip): "after the highest id" would never fetch it; the beat does."""
    monkeypatch.setattr(consumers, "PRESENCE_MIN_INTERVAL", 0)
    first = await database_sync_to_async(lambda: chat.messages.get())()
    alice, connected, _ = await join(await database_sync_to_async(cookie_for)(cast.alice), chat.pk)
    assert connected
    await frames(alice)
    flaky.down = True
    missed, _ = await post(chat, cast.phil, "Missed while Redis blinked", "missed")
    flaky.down = False
    own, _ = await post(chat, cast.alice, "My own reply", "own")
    await frames(alice)  # the push of her own reply
    # The beat says what the page holds: everything up to the first message, and her reply.
    await alice.send_json_to({"type": "here", "after": first.pk, "have": [own.pk]})
    received = await frames(alice)
    assert f'id="message-{missed.pk}"' in received[0]
    assert sync_of(received[-1])["complete-through"] == str(own.pk)
    assert not any(f'id="message-{own.pk}"' in text for text in received)
    # Now complete: the next beat has nothing to say.
    await alice.send_json_to({"type": "here", "after": own.pk, "have": []})
    assert await frames(alice) == []
    await alice.disconnect()


async def test_catch_up_goes_by_what_the_page_lacks(cast, chat):
    first = await database_sync_to_async(lambda: chat.messages.get())()
    missed, _ = await post(chat, cast.phil, "Missed", "m")
    own, _ = await post(chat, cast.alice, "Mine", "o")
    alice, connected, _ = await join(await database_sync_to_async(cookie_for)(cast.alice), chat.pk)
    await alice.send_json_to({"type": "catch_up", "after": first.pk, "have": [own.pk]})
    received = await frames(alice)
    assert len(received) == 2
    assert f'id="message-{missed.pk}"' in received[0]
    assert sync_of(received[1])["complete-through"] == str(own.pk)
    await alice.disconnect()


def test_polling_goes_by_what_the_page_lacks_too(cast, chat):
    first = chat.messages.get()
    from requests_chat.services import send_message

    missed, _ = send_message(chat=chat, author=cast.phil, body="Missed", client_id="m")
    own, _ = send_message(chat=chat, author=cast.alice, body="Mine", client_id="o")
    response = sign_in(Client(), cast.alice).get(
        reverse("requests_chat:messages_since", args=[chat.pk]),
        {"after": first.pk, "have": f"{own.pk}"},
    )
    content = response.content.decode()
    assert f'id="message-{missed.pk}"' in content and f'id="message-{own.pk}"' not in content
    assert sync_of(content)["complete-through"] == str(own.pk)


@pytest.mark.parametrize("what", ["layer", "groups"])
@pytest.mark.parametrize("path", ["/ws/requests/{pk}/", "/ws/notifications/"])
async def test_a_socket_opened_while_the_layer_is_down_is_closed_cleanly(
    cast, chat, flaky, path, what
):
    """Not a handshake error (HTTP 500), and not a refusal either (the browser would see 1006
    with no reason): accepted, then closed with 4503 at once, which the page can read."""
    if what == "layer":
        flaky.down = True  # the socket's own channel cannot be made
    else:
        flaky.groups_down = True  # its channel can, its groups cannot
    cookie = await database_sync_to_async(cookie_for)(cast.alice)
    from channels.testing import WebsocketCommunicator

    from portal.asgi import application

    communicator = WebsocketCommunicator(
        application,
        path.format(pk=chat.pk),
        headers=[(b"origin", b"http://localhost"), (b"cookie", cookie)],
    )
    connected, _ = await communicator.connect(timeout=3)
    assert connected
    assert await communicator.receive_output(timeout=3) == {
        "type": "websocket.close",
        "code": CLOSE_UNAVAILABLE,
    }


async def test_a_stranger_is_refused_before_the_layer_matters(chat, flaky):
    """The 4503 socket is accepted only for a user who passed every check."""
    flaky.down = True
    from channels.testing import WebsocketCommunicator

    from portal.asgi import application

    communicator = WebsocketCommunicator(
        application, f"/ws/requests/{chat.pk}/", headers=[(b"origin", b"http://localhost")]
    )
    connected, code = await communicator.connect(timeout=3)
    assert (connected, code) == (False, CLOSE_FORBIDDEN)


async def test_open_pages_hear_at_once_that_pushes_stopped_and_resumed(
    cast, chat, flaky, monkeypatch
):
    """The process's LayerWatch tells a quiet page (one that sends nothing) within a second
    that pushes stopped, and that they resumed; the page's catch-up then says "live"."""
    monkeypatch.setattr(portal_consumers, "LAYER_CHECK_SECONDS", 0.05)
    first = await database_sync_to_async(lambda: chat.messages.get())()
    alice, connected, _ = await join(await database_sync_to_async(cookie_for)(cast.alice), chat.pk)
    assert connected
    await alice.send_json_to({"type": "catch_up", "after": first.pk, "have": []})
    said = await frames(alice)
    assert sync_of(said[-1]).get("live") == "1"  # the catch-up's answer speaks for the layer
    flaky.down = True
    (said,) = await frames(alice, timeout=1)
    assert sync_of(said)["live"] == "0"
    missed, _ = await post(chat, cast.phil, "Sent while Redis is down", "down")
    flaky.down = False
    (said,) = await frames(alice, timeout=1)
    assert sync_of(said)["live"] == "1"
    # The page then catches up (chat.js does on this change) and gets what it missed.
    await alice.send_json_to({"type": "catch_up", "after": first.pk, "have": []})
    received = await frames(alice)
    assert f'id="message-{missed.pk}"' in received[0]
    assert sync_of(received[-1])["live"] == "1"
    await alice.disconnect()


async def test_the_bell_is_sent_again_when_the_layer_returns(cast, flaky, monkeypatch):
    monkeypatch.setattr(portal_consumers, "LAYER_CHECK_SECONDS", 0.05)
    monkeypatch.setattr(portal_consumers, "LAYER_RECOVERY_SPREAD", 0)
    from channels.testing import WebsocketCommunicator

    from portal.asgi import application

    cookie = await database_sync_to_async(cookie_for)(cast.alice)
    bell = WebsocketCommunicator(
        application,
        "/ws/notifications/",
        headers=[(b"origin", b"http://localhost"), (b"cookie", cookie)],
    )
    assert (await bell.connect(timeout=3))[0]
    flaky.down = True
    assert await bell.receive_nothing(timeout=0.5)  # nothing to say while it is down
    flaky.down = False
    update = await bell.receive_output(timeout=2)
    assert (
        'id="notification-count"' in update["text"] and 'id="notification-feed"' in update["text"]
    )
    await bell.disconnect()


async def test_typing_and_beats_during_an_outage_keep_the_socket_and_say_so(
    cast, chat, flaky, monkeypatch
):
    monkeypatch.setattr(consumers, "PRESENCE_MIN_INTERVAL", 0)
    alice, connected, _ = await join(await database_sync_to_async(cookie_for)(cast.alice), chat.pk)
    assert connected
    await frames(alice)
    flaky.down = True
    await alice.send_json_to({"type": "typing"})
    (said,) = await frames(alice)
    assert sync_of(said)["live"] == "0"  # the page polls meanwhile
    await alice.send_json_to({"type": "here"})
    assert await frames(alice) == []  # still open (already told)
    flaky.down = False
    await alice.send_json_to({"type": "here"})
    (said,) = await frames(alice)
    assert sync_of(said)["live"] == "1"  # pushes work again
    # And the socket still delivers.
    await post(chat, cast.phil, "Back", "back")
    assert any("Back" in text for text in await frames(alice))
    assert isinstance(get_channel_layer(), FlakyLayer)
    await alice.disconnect()
