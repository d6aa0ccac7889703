"""Hostile client frames on the chat socket: floods are cut off, malformed frames are dropped,
and no frame, however bad, crashes the consumer or drops a well-behaved socket."""

import json
import logging

import pytest
from channels.db import database_sync_to_async

from portal.consumers import CLOSE_RATE_LIMITED
from requests_chat import consumers
from requests_chat.models import Message
from requests_chat.selectors import CATCH_UP_LIMIT
from requests_chat.services import create_request

from .test_request_consumer import cookie_for, is_presence, join, post, receive_from

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def chat(cast):
    chat, _ = create_request(prescription=cast.rx_alice, author=cast.alice, body="Any update?")
    return chat


async def opened(user, chat):
    communicator, connected, _ = await join(await database_sync_to_async(cookie_for)(user), chat.pk)
    assert connected
    return communicator


async def drain(communicator, timeout: float = 0.5) -> tuple[int, dict | None]:
    """(message rows received, the close frame if the socket was closed)."""
    rows = 0
    while not await communicator.receive_nothing(timeout=timeout):
        output = await communicator.receive_output()
        if output["type"] == "websocket.close":
            return rows, output
        if 'id="message-list"' in output.get("text", ""):
            rows += 1
    return rows, None


async def test_a_catch_up_flood_is_capped_and_closed(cast, chat):
    """1,000 catch-ups on a request of 200 messages sent 200,000 frames; now a few pages at most,
    and the socket is closed as abusive."""
    await database_sync_to_async(Message.objects.bulk_create)(
        [
            Message(request=chat, author=cast.phil, body=f"m{n}", client_id=f"bulk-{n}")
            for n in range(200)
        ]
    )
    alice = await opened(cast.alice, chat)
    for _ in range(1000):
        await alice.send_to(text_data='{"type": "catch_up", "after": 0}')
    # A generous quiet period: on a loaded machine the close may come more than 0.5 s later.
    rows, closed = await drain(alice, timeout=3)
    assert closed == {"type": "websocket.close", "code": CLOSE_RATE_LIMITED}
    assert rows <= 3 * CATCH_UP_LIMIT


async def test_one_catch_up_sends_the_newest_page_and_then_the_rest(cast, chat):
    await database_sync_to_async(Message.objects.bulk_create)(
        [
            Message(request=chat, author=cast.phil, body=f"m{n}", client_id=f"bulk-{n}")
            for n in range(CATCH_UP_LIMIT + 20)
        ]
    )
    ids = await database_sync_to_async(
        lambda: list(Message.objects.filter(request=chat).values_list("pk", flat=True))
    )()
    alice = await opened(cast.alice, chat)
    await alice.send_json_to({"type": "catch_up", "after": 0})
    first = [await receive_from(alice) for _ in range(CATCH_UP_LIMIT)]
    assert f'id="message-{ids[-1]}"' in first[-1]  # the newest page
    assert f'id="message-{ids[-CATCH_UP_LIMIT]}"' in first[0]
    # The page names what it now holds: it gets the older ones it still lacks.
    await alice.send_json_to({"type": "catch_up", "after": 0, "have": ids[-CATCH_UP_LIMIT:]})
    rest = [await receive_from(alice) for _ in ids[:-CATCH_UP_LIMIT]]
    assert f'id="message-{ids[0]}"' in rest[0]
    await alice.disconnect()


@pytest.mark.parametrize(
    "frame",
    [
        "not json",
        '{"type": "catch_up", "after": 1e400}',
        '{"type": "catch_up", "after": ' + "9" * 5000 + "}",
        '{"type": "catch_up", "after": 99999999999999999999999}',
        '{"type": "catch_up", "after": NaN}',
        '{"type": "catch_up", "after": "abc"}',
        '{"type": "catch_up", "after": -1}',
        '{"type": "catch_up", "after": true}',
        '{"type": "catch_up", "after": [1]}',
        '{"type": "catch_up", "after": 0, "have": "1,2"}',
        '{"type": "catch_up", "after": 0, "have": [1.5]}',
        '{"type": "catch_up", "after": 0, "have": ' + json.dumps(list(range(2000))) + "}",
        '{"type": "here", "after": {}}',
        '{"type": ["typing"]}',
        '{"type": "delete_everything"}',
        '{"catch_up": 0}',
        "[1, 2, 3]",
        '"typing"',
        "[" * 8000 + "]" * 8000,
        "x" * 100_000,
    ],
)
async def test_a_malformed_frame_is_dropped_and_the_socket_lives_on(cast, chat, frame):
    alice = await opened(cast.alice, chat)
    await alice.send_to(text_data=frame)
    await alice.send_to(bytes_data=b"\x00\xff")
    # Still open and working: a message is pushed, a proper catch-up is answered.
    message, _ = await post(chat, cast.phil, "Still live", "live-1")
    assert "Still live" in await receive_from(alice)
    await alice.send_json_to({"type": "catch_up", "after": 0, "have": [message.pk]})
    assert "Any update?" in await receive_from(alice)
    await alice.disconnect()


async def test_an_error_in_a_frame_handler_is_logged_and_never_drops_the_socket(
    cast, chat, monkeypatch, caplog
):
    async def broken(self, after, have):
        raise RuntimeError("database hiccup")

    monkeypatch.setattr(consumers.RequestConsumer, "missed", broken)
    alice = await opened(cast.alice, chat)
    with caplog.at_level(logging.ERROR, logger="portal.consumers"):
        await alice.send_json_to({"type": "catch_up", "after": 0})
        assert await alice.receive_nothing(timeout=0.3)
    assert "Error handling a 'catch_up' frame" in caplog.text
    await post(chat, cast.phil, "After the hiccup", "h-1")
    assert "After the hiccup" in await receive_from(alice)
    await alice.disconnect()


async def test_a_flood_of_any_frame_type_is_closed(cast, chat):
    for frame in ('{"type": "typing"}', '{"type": "here"}', "garbage"):
        alice = await opened(cast.alice, chat)
        for _ in range(200):
            await alice.send_to(text_data=frame)
        while True:
            output = await alice.receive_output(timeout=3)
            if not is_presence(output) and "is typing" not in output.get("text", ""):
                break
        assert output == {"type": "websocket.close", "code": CLOSE_RATE_LIMITED}, frame
