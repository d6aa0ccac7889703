"""Presence ("Here now: …") on the chat socket: who has the chat open, for the audience only."""

import pytest
from channels.db import database_sync_to_async
from django.core.cache import cache

from requests_chat import consumers
from requests_chat import presence as presence_module
from requests_chat.consumers import presence_key
from requests_chat.services import create_request

from .test_request_consumer import cookie_for, join

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def chat(cast):
    chat, _ = create_request(prescription=cast.rx_alice, author=cast.alice, body="Any update?")
    # Keys of an earlier test's request with the same id would otherwise count as present.
    cache.delete_many(
        [presence_key(chat.pk, u.pk) for u in (cast.alice, cast.bob, cast.phil, cast.carol)]
    )
    presence_module._local_sockets.clear()
    return chat


async def opened(user, chat):
    communicator, connected, _ = await join(await database_sync_to_async(cookie_for)(user), chat.pk)
    assert connected
    return communicator


async def presence(communicator) -> str:
    html = await communicator.receive_from(timeout=3)
    assert 'id="chat-presence"' in html and 'hx-swap-oob="true"' in html
    return html


async def test_each_sees_who_else_has_the_chat_open(cast, chat):
    alice = await opened(cast.alice, chat)
    assert await alice.receive_nothing(timeout=0.3)  # alone: nothing to show, nothing sent
    phil = await opened(cast.phil, chat)
    assert "Here now: Phil Pharm (Pharmacist)" in await presence(alice)
    shown = await presence(phil)
    assert "Here now: Alice Adams (Prescriber)" in shown and "Phil Pharm" not in shown
    bob = await opened(cast.bob, chat)
    assert "Here now: Bob Baker (Prescriber delegate), Phil Pharm (Pharmacist)" in await presence(
        alice
    )
    await presence(phil)
    assert "Alice Adams (Prescriber), Phil Pharm (Pharmacist)" in await presence(bob)
    # Phil leaves: the others are told; Bob leaves: Alice is alone again (an empty line).
    await phil.disconnect()
    assert "Here now: Bob Baker (Prescriber delegate)" in await presence(alice)
    assert "Here now: Alice Adams (Prescriber)" in await presence(bob)
    await bob.disconnect()
    alone = await presence(alice)
    assert "Here now" not in alone
    await alice.disconnect()
    assert (
        await database_sync_to_async(cache.get_many)(
            [presence_key(chat.pk, u.pk) for u in (cast.alice, cast.bob, cast.phil)]
        )
        == {}
    )


async def test_a_second_tab_of_the_same_user_changes_nothing(cast, chat):
    alice = await opened(cast.alice, chat)
    phil = await opened(cast.phil, chat)
    await presence(alice)
    await presence(phil)
    phil_again = await opened(cast.phil, chat)
    assert "Here now: Alice Adams (Prescriber)" in await presence(phil_again)  # told on arrival
    assert await alice.receive_nothing(timeout=0.3)  # still just Phil: no announcement
    await phil_again.disconnect()
    assert await alice.receive_nothing(timeout=0.3)  # Phil still has the other tab open
    await phil.disconnect()
    assert "Here now" not in await presence(alice)
    await alice.disconnect()


async def test_presence_lapses_without_a_beat(cast, chat, monkeypatch):
    """A page that stops saying "here" (a dead server process, a sleeping laptop) drops out when
    its key lapses; the next beat of anyone present tells the others."""
    monkeypatch.setattr(consumers, "PRESENCE_MIN_INTERVAL", 0)
    alice = await opened(cast.alice, chat)
    phil = await opened(cast.phil, chat)
    await presence(alice)
    await presence(phil)
    await database_sync_to_async(cache.delete)(presence_key(chat.pk, cast.phil.pk))  # lapsed
    await alice.send_json_to({"type": "here"})
    assert "Here now" not in await presence(alice)
    # Phil's own next beat brings him back, for everyone.
    await phil.send_json_to({"type": "here"})
    assert "Here now: Phil Pharm (Pharmacist)" in await presence(alice)
    await alice.disconnect()
    await phil.disconnect()


async def test_beats_are_throttled(cast, chat, monkeypatch):
    alice = await opened(cast.alice, chat)
    phil = await opened(cast.phil, chat)
    await presence(alice)
    await presence(phil)
    await alice.send_json_to({"type": "here"})  # handled: nothing changed, nothing sent
    assert await alice.receive_nothing(timeout=0.3)
    await database_sync_to_async(cache.delete)(presence_key(chat.pk, cast.phil.pk))
    await alice.send_json_to({"type": "here"})  # at once: dropped unread, the lapse unseen
    assert await alice.receive_nothing(timeout=0.3)
    monkeypatch.setattr(consumers, "PRESENCE_MIN_INTERVAL", 0)
    await alice.send_json_to({"type": "here"})
    assert "Here now" not in await presence(alice)
    await alice.disconnect()
    await phil.disconnect()


async def test_nobody_outside_the_audience_is_shown_or_told(cast, chat):
    bob = await opened(cast.bob, chat)
    alice = await opened(cast.alice, chat)
    await presence(bob)
    await presence(alice)
    await database_sync_to_async(lambda: cast.bob.delegations.get().revoke())()
    phil = await opened(cast.phil, chat)
    # Bob, still connected but no longer in the audience, is neither told nor shown.
    assert await bob.receive_nothing(timeout=0.3)
    shown = await presence(phil)
    assert "Alice Adams (Prescriber)" in shown and "Bob" not in shown
    assert "Bob" not in await presence(alice)
    # His beat is refused (the access check runs on every client message).
    await bob.send_json_to({"type": "here"})
    assert await bob.receive_output(timeout=3) == {"type": "websocket.close", "code": 4403}
    for communicator in (alice, phil):
        await communicator.disconnect()
