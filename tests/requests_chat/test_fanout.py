"""The fan-out of one chat message to everyone who may read its request (the task worker's
`notify_chat_event`: bell notifications and unread badges): a number of queries that does not
grow with the audience, every push reaching its user's group, and each badge the user's own."""

from __future__ import annotations

import asyncio
import re
import uuid
from types import SimpleNamespace

import pytest
from asgiref.sync import async_to_sync
from channels.layers import channel_layers, get_channel_layer
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.models import Delegation, User
from notifications import tasks as notification_tasks
from notifications.models import Notification
from portal.consumers import user_group
from requests_chat.models import Message
from requests_chat.selectors import unread_by_request, unread_in_request_for
from requests_chat.services import (
    announce_unread,
    create_request,
    mark_read,
    message_committed,
    send_message,
)
from tests.conftest import make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def memory_layer(settings):
    """The in-memory channel layer, whatever REDIS_URL says, so that a test can read what was
    pushed to each user's group."""
    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    channel_layers.backends = {}
    yield get_channel_layer()
    channel_layers.backends = {}


def add_pharmacists(cast, count: int) -> list[User]:
    """`count` more pharmacists in the care group covering alice: the audience grows."""
    start = User.objects.filter(email__startswith="pharm").count()
    users = [
        make_user(f"pharm{start + n}.extra@example.com", User.Role.PHARMACIST) for n in range(count)
    ]
    cast.care_group.pharmacists.add(*users)
    return users


def listen(layer, user_ids) -> dict[int, str]:
    """A channel in each user's group, as their open bell socket would have."""

    async def join() -> dict[int, str]:
        channels = {}
        for user_id in user_ids:
            channels[user_id] = await layer.new_channel()
            await layer.group_add(user_group(user_id), channels[user_id])
        return channels

    return async_to_sync(join)()


def received(layer, channel: str) -> list[dict]:
    async def drain() -> list[dict]:
        events = []
        while layer.channels.get(channel):  # the in-memory layer's queue of this channel
            events.append(await layer.receive(channel))
        return events

    return async_to_sync(drain)()


def badge_count(events: list[dict], chat_id: int) -> list[int]:
    return [
        int(match.group(1))
        for event in events
        if event["type"] == "user.html"
        for match in [
            re.search(rf'id="unread-request-{chat_id}"[^>]*data-unread="(\d+)"', event["html"])
        ]
        if match
    ]


def fan_out_queries(message: Message, callbacks) -> int:
    """Statements of everything after the commit of `message`: the audience, the live push and
    the notification task (inline in tests) with its unread announcement."""
    with CaptureQueriesContext(connection) as queries, callbacks(execute=True):
        message_committed(message, activity="new_message")
    return len(queries.captured_queries)


def test_the_fan_out_runs_the_same_queries_for_3_readers_and_for_30(
    cast, memory_layer, django_capture_on_commit_callbacks, monkeypatch
):
    # The emails are a task of their own (one email, so one claim, per recipient: not counted
    # here); what is counted is that the fan-out queues them, once, for every reader.
    emailed: list[int] = []
    monkeypatch.setattr(
        notification_tasks,
        "send_notification_emails",
        SimpleNamespace(enqueue=lambda ids: emailed.extend(ids)),
    )
    chat, _ = create_request(prescription=cast.rx_alice, author=cast.alice, body="Any update?")
    add_pharmacists(cast, 3)
    first, _ = send_message(chat=chat, author=cast.phil, body="Looking", client_id="m1")
    few = fan_out_queries(first, django_capture_on_commit_callbacks)

    add_pharmacists(cast, 27)
    second, _ = send_message(chat=chat, author=cast.phil, body="Approved", client_id="m2")
    many = fan_out_queries(second, django_capture_on_commit_callbacks)

    assert many == few, (few, many)
    # On PostgreSQL 16 (SQLite's savepoints differ): the audience, once; the task's message,
    # actor and once-marker; preferences, settings and the rows in one INSERT; every reader's
    # unread count in one query; and the savepoints around them.
    assert few <= 16 or connection.vendor != "postgresql", few
    # Everyone but the author was told, each once per message.
    readers = len(chat.audience()) - 1
    assert readers == 2 + 30  # alice, bob and the pharmacists (phil wrote it)
    assert Notification.objects.filter(actor=cast.phil).count() == (2 + 3) + readers
    assert sorted(emailed) == sorted(
        Notification.objects.filter(actor=cast.phil).values_list("pk", flat=True)
    )


def test_every_reader_gets_a_bell_push_and_their_own_badge(
    cast, memory_layer, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        chat, first = create_request(
            prescription=cast.rx_alice, author=cast.alice, body="Any update?"
        )
    (pete,) = add_pharmacists(cast, 1)
    mark_read(user=cast.bob, chat=chat, message_id=first.pk, announce=False)  # bob read it
    channels = listen(memory_layer, [cast.alice.pk, cast.bob.pk, cast.phil.pk, pete.pk])
    outsider = listen(memory_layer, [cast.mallory.pk, cast.carol.pk])

    with django_capture_on_commit_callbacks(execute=True):
        second, _ = send_message(chat=chat, author=cast.phil, body="Approved", client_id="m2")

    events = {user_id: received(memory_layer, channel) for user_id, channel in channels.items()}
    bells = {
        user_id: [e["ids"] for e in got if e["type"] == "notifications.update"]
        for user_id, got in events.items()
    }
    for user in (cast.alice, cast.bob, pete):
        (ids,) = bells[user.pk]
        assert ids == list(
            Notification.objects.filter(recipient=user, actor=cast.phil).values_list(
                "pk", flat=True
            )
        )
    assert bells[cast.phil.pk] == []  # the author is not notified of their own message

    assert badge_count(events[cast.alice.pk], chat.pk) == [1]  # her own first one is not unread
    assert badge_count(events[cast.bob.pk], chat.pk) == [1]  # read the first, not the second
    assert badge_count(events[pete.pk], chat.pk) == [2]  # read nothing
    assert badge_count(events[cast.phil.pk], chat.pk) == []  # the author gets no badge
    for channel in outsider.values():
        assert received(memory_layer, channel) == []  # nothing for who may not read it


def test_the_counts_agree_with_the_per_user_rule(cast):
    chat, first = create_request(prescription=cast.rx_alice, author=cast.alice, body="One")
    (pete, quinn) = add_pharmacists(cast, 2)
    second, _ = send_message(chat=chat, author=cast.phil, body="Two", client_id="m2")
    third, _ = send_message(chat=chat, author=pete, body="Three", client_id="m3")
    mark_read(user=cast.bob, chat=chat, message_id=second.pk, announce=False)
    mark_read(user=quinn, chat=chat, message_id=third.pk, announce=False)

    users = [cast.alice, cast.bob, cast.phil, pete, quinn]
    counts = unread_in_request_for([u.pk for u in users], chat.pk)
    assert counts == {u.pk: unread_by_request(u, [chat.pk]).get(chat.pk, 0) for u in users}
    # Writing a message moves its author's own marker: phil has read up to his, pete all.
    assert counts == {cast.alice.pk: 2, cast.bob.pk: 1, cast.phil.pk: 1, pete.pk: 0, quinn.pk: 0}


def test_a_user_who_lost_access_gets_a_badge_of_0_and_an_inactive_one_nothing(cast, memory_layer):
    chat, _ = create_request(prescription=cast.rx_alice, author=cast.alice, body="One")
    send_message(chat=chat, author=cast.phil, body="Two", client_id="m2")
    channels = listen(memory_layer, [cast.bob.pk, cast.alice.pk])
    Delegation.objects.get(delegate=cast.bob).revoke()
    User.objects.filter(pk=cast.alice.pk).update(is_active=False)

    announce_unread(chat.pk, [cast.bob.pk, cast.alice.pk])

    assert badge_count(received(memory_layer, channels[cast.bob.pk]), chat.pk) == [0]
    assert received(memory_layer, channels[cast.alice.pk]) == []


def test_a_failing_push_is_logged_and_the_others_still_go_out(
    cast, memory_layer, monkeypatch, caplog
):
    chat, _ = create_request(prescription=cast.rx_alice, author=cast.alice, body="One")
    send_message(chat=chat, author=cast.phil, body="Two", client_id="m2")
    channels = listen(memory_layer, [cast.bob.pk, cast.alice.pk])
    send = type(memory_layer).group_send

    async def flaky(self, group, message):
        if group == user_group(cast.bob.pk):
            raise ConnectionError("Redis is down")
        await send(self, group, message)

    monkeypatch.setattr(type(memory_layer), "group_send", flaky)
    announce_unread(chat.pk, [cast.bob.pk, cast.alice.pk])  # does not raise

    assert badge_count(received(memory_layer, channels[cast.alice.pk]), chat.pk) == [1]
    assert received(memory_layer, channels[cast.bob.pk]) == []
    assert "Could not announce unread counts" in caplog.text


@pytest.mark.services
async def test_on_the_redis_pub_sub_layer_every_event_goes_in_one_pipeline(
    redis_url, settings, monkeypatch
):
    """The portal's own layer: group_send_many publishes through a pipeline (no group_send per
    event) and every group's subscriber gets its own event."""
    from asgiref.sync import sync_to_async
    from channels_redis.pubsub import RedisPubSubLoopLayer

    from portal.push import group_send_many

    settings.CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
            "CONFIG": {"hosts": [redis_url], "prefix": f"fanout-test-{uuid.uuid4().hex[:8]}"},
        }
    }
    channel_layers.backends = {}
    try:
        layer = get_channel_layer()
        channels = {}
        for n in range(5):
            channels[n] = await layer.new_channel()
            await layer.group_add(f"user-{n}", channels[n])

        async def one_by_one(self, group, message):
            raise AssertionError("a group_send per event")

        monkeypatch.setattr(RedisPubSubLoopLayer, "group_send", one_by_one)
        failures = await sync_to_async(group_send_many)(
            [(f"user-{n}", {"type": "user.html", "html": f"<p>{n}</p>"}) for n in range(5)]
        )
        assert failures == []
        for n, channel in channels.items():
            event = await asyncio.wait_for(layer.receive(channel), timeout=5)
            assert event == {"type": "user.html", "html": f"<p>{n}</p>"}
        await layer.flush()
    finally:
        channel_layers.backends = {}
