"""The bell socket renders a burst of pushes once: the first at once, the rest of the burst in
one render at the end of a short window, with the user's count as it then stands."""

import re

import pytest
from asgiref.sync import sync_to_async
from django.db import connections

from notifications import consumers
from notifications.models import Activity
from notifications.services import notify
from tests.notifications.test_consumer import connect, session_cookie

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
async def close_thread_connections():
    yield
    await sync_to_async(connections.close_all)()


async def frames(communicator, *, quiet=0.6) -> list[str]:
    got = []
    while not await communicator.receive_nothing(timeout=quiet):
        got.append(await communicator.receive_from())
    return got


def count(html: str) -> int:
    return int(re.search(r'id="notification-count"[^>]*data-count="(\d+)"', html).group(1))


async def test_a_burst_of_pushes_is_rendered_twice_at_most_and_ends_right(cast, monkeypatch):
    monkeypatch.setattr(consumers, "BELL_COALESCE", 0.3)
    alice, ok, _ = await connect(await sync_to_async(session_cookie)(cast.alice))
    assert ok
    for _ in range(4):
        await sync_to_async(notify)(
            activity=Activity.NEW_MESSAGE, obj=cast.rx_alice, actor=cast.phil
        )
    got = await frames(alice)
    assert 1 <= len(got) <= 2
    assert count(got[-1]) == 4  # the last render follows the last push

    # After the window, the next push is rendered at once again.
    await sync_to_async(notify)(activity=Activity.NEW_MESSAGE, obj=cast.rx_alice, actor=cast.phil)
    html = await alice.receive_from(timeout=0.2)
    assert count(html) == 5
    await alice.disconnect()


async def test_closing_with_a_render_pending_is_quiet(cast, monkeypatch, caplog):
    monkeypatch.setattr(consumers, "BELL_COALESCE", 5)
    alice, ok, _ = await connect(await sync_to_async(session_cookie)(cast.alice))
    assert ok
    for _ in range(2):
        await sync_to_async(notify)(
            activity=Activity.NEW_MESSAGE, obj=cast.rx_alice, actor=cast.phil
        )
    assert count(await alice.receive_from(timeout=2)) >= 1
    await alice.disconnect()  # the second render is still waiting: cancelled, no error
    assert "Could not push the bell" not in caplog.text


async def test_a_page_gone_before_its_push_is_not_an_error(cast, monkeypatch, caplog):
    # uvicorn raises ClientDisconnected (an OSError) for a send to a page that has gone, when
    # its disconnect has not reached the consumer yet: seen once at the end of the load test.
    monkeypatch.setattr(consumers, "BELL_COALESCE", 0.1)
    alice, ok, _ = await connect(await sync_to_async(session_cookie)(cast.alice))
    assert ok

    async def gone(self, *args, **kwargs):
        raise OSError("the client went away")

    monkeypatch.setattr(consumers.NotificationConsumer, "send", gone)
    with caplog.at_level("INFO", logger=consumers.logger.name):
        await sync_to_async(notify)(
            activity=Activity.NEW_MESSAGE, obj=cast.rx_alice, actor=cast.phil
        )
        assert await alice.receive_nothing(timeout=0.5)
    assert "went away before its push" in caplog.text
    assert not [r for r in caplog.records if r.levelname in {"ERROR", "CRITICAL"}]
    await alice.disconnect()
