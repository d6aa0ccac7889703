"""What the portal's websocket consumers share."""

from __future__ import annotations

from channels.consumer import get_handler_name


class DirectDispatchMixin:
    """Run a consumer's handlers without channels' hop to the process's one sync thread.

    `AsyncConsumer.dispatch` awaits `close_old_connections()` through `sync_to_async` before
    every handler: one trip to the thread that also runs every synchronous view of the process,
    for every message of every socket. A chat message pushed to 50 sockets of a process made 50
    such trips, queued behind whatever view was running, which was most of the fan-out time.

    The consumers using this mixin do all their database work through `database_sync_to_async`
    (or a `DatabaseSyncToAsync` on their own executor), which closes stale connections itself,
    on the thread that uses them, before and after each call; their pushes touch no database.
    """

    async def dispatch(self, message):
        handler = getattr(self, get_handler_name(message), None)
        if handler is None:
            raise ValueError(f"No handler for message type {message['type']}")
        await handler(message)
