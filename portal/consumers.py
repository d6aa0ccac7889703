"""What the portal's websocket consumers share."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable

from asgiref.sync import async_to_sync
from channels.consumer import get_handler_name
from channels.db import DatabaseSyncToAsync

from portal.security import hash_token

logger = logging.getLogger(__name__)


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


# Sockets end with the session they were opened in -------------------------------------------

CLOSE_SESSION_ENDED = 4401
EVENT_SESSION_ENDED = "session.ended"


def session_group(session_key: str) -> str:
    """The channel-layer group of the sockets opened with one session (the key itself is a
    credential, so only a digest of it goes to Redis)."""
    return "session-" + hash_token(session_key)[:40]


def end_session_sockets(session_keys: Iterable[str]) -> None:
    """Close every socket opened with these sessions (signed out, or ended by a password
    change): an open page must not go on receiving patient data after its session is gone."""
    from channels.layers import get_channel_layer

    layer = get_channel_layer()
    if layer is None:
        return
    for key in session_keys:
        if not key:
            continue
        try:
            async_to_sync(layer.group_send)(session_group(key), {"type": EVENT_SESSION_ENDED})
        except Exception:
            # The sockets then end at their next access check; signing out must not fail.
            logger.exception("Could not close the sockets of an ended session")


class SessionBoundMixin:
    """Joins the socket to its session's group; `session.ended` closes it with 4401."""

    session_group_name: str | None = None

    async def join_session_group(self) -> None:
        session = self.scope.get("session")
        key = getattr(session, "session_key", None)
        if key:
            self.session_group_name = session_group(key)
            await self.channel_layer.group_add(self.session_group_name, self.channel_name)

    async def leave_session_group(self) -> None:
        if self.session_group_name:
            await self.channel_layer.group_discard(self.session_group_name, self.channel_name)

    async def session_ended(self, event) -> None:
        await self.close(code=CLOSE_SESSION_ENDED)

    async def session_is_live(self) -> bool:
        """Is the socket's session still there, still this user's, and not idle past the limit?

        Read fresh from the session store (the scope holds the copy of the handshake), so that
        a session deleted or idle on the server ends its sockets even if the page's own idle
        timer never fired (a suspended tab, a closed laptop lid).
        """
        return await DatabaseSyncToAsync(self._session_is_live, thread_sensitive=False)()

    def _session_is_live(self) -> bool:
        from importlib import import_module

        from django.conf import settings

        from accounts.middleware import IdleTimeoutMiddleware

        key = getattr(self.scope.get("session"), "session_key", None)
        user = self.scope.get("user")
        if not key or user is None:
            return False
        data = import_module(settings.SESSION_ENGINE).SessionStore(session_key=key).load()
        if str(data.get("_auth_user_id")) != str(user.pk):
            return False
        last = data.get(IdleTimeoutMiddleware.SESSION_KEY)
        return last is None or time.time() - last <= settings.SESSION_IDLE_MINUTES * 60
