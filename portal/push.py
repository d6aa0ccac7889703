"""Many channel-layer pushes from synchronous code (a task, a view's on-commit), in one go.

Each `async_to_sync(layer.group_send)(...)` from a thread without an event loop starts a new
loop in a helper thread, and channels_redis keeps its Redis connections per loop: every call
opened a connection, sent one event and closed it again. A fan-out to 200 users did that 200
times. `group_send_many` makes ONE `async_to_sync` call for the whole fan-out, so one loop and
its connections serve every event; the sends run concurrently, at most `CONCURRENCY` at a time
(the core layer takes a pooled connection per send in flight; the pub/sub layer publishes one at
a time on its single connection anyway). channels_redis has no batch API of its own
(`group_send` is one group; `send_many`-like helpers do not exist in 4.3).

Best effort, as every push in the portal: a failure is returned (for the caller to log), never
raised, and the other events still go out (pages catch up on their next load or beat).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

# Sends in flight at once: enough to hide the round trips, few enough not to open a connection
# per recipient on the core layer's pool.
CONCURRENCY = 16


def group_send_many(sends: Sequence[tuple[str, dict[str, Any]]]) -> list[BaseException]:
    """Send each (group, event) pair through the default channel layer, all in one
    `async_to_sync` call. Never raises: returns the failures (empty when all went out), for the
    caller to log in its own words."""
    if not sends:
        return []
    layer = get_channel_layer()
    if layer is None:
        return []  # no layer configured: nobody could be listening

    async def send_all() -> list[BaseException | None]:
        gate = asyncio.Semaphore(CONCURRENCY)

        async def send(group: str, event: dict[str, Any]) -> None:
            async with gate:
                await layer.group_send(group, event)

        return await asyncio.gather(
            *(send(group, event) for group, event in sends), return_exceptions=True
        )

    try:
        results = async_to_sync(send_all)()
    except Exception as error:  # the loop itself failed: count every event as lost
        return [error] * len(sends)
    return [r for r in results if isinstance(r, BaseException)]
