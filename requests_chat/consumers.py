"""The live chat of one request: server → browser pushes of rendered message rows.

Messages never travel up the socket (they are POSTed over HTTP, see services.py); what a
client sends is "catch me up" (with what it holds), "I am typing" and "I am still here" (with
what it holds, so that a page that missed a push catches up within one beat). Checks on
connect, frame validation and rate limits come from `portal.consumers.PortalConsumer`.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from django.db.models import QuerySet

from portal.consumers import (
    CLOSE_FORBIDDEN,
    CLOSE_SESSION_ENDED,
    MAX_ID,
    PortalConsumer,
    id_field,
    id_list_field,
)

from .live import close_db_connections, note_read, off_request_thread  # noqa: F401
from .models import Request
from .presence import count_socket, presence_key, refresh  # noqa: F401 (presence_key: tests)
from .render import render_presence, render_push, render_sync, render_typing
from .selectors import CATCH_UP_LIMIT, HAVE_LIMIT, messages_lacking

logger = logging.getLogger(__name__)

# A client says "typing" at most this often (seconds); more frequent ones are dropped unread.
TYPING_INTERVAL = 2.0
# "here" sooner than this after the last is dropped unread (the page beats every 25 s).
PRESENCE_MIN_INTERVAL = 10.0

EVENT_PRESENCE = "chat.presence"
EVENT_TYPING = "chat.typing"
EVENT_PROBE = "chat.probe"


class RequestConsumer(PortalConsumer):
    """ws/requests/<pk>/: joins the request's group if the user may see the request."""

    # type: (tokens per second, burst). A page sends "typing" every 2.5 s at most, "here"
    # every 25 s and "catch_up" on (re)connecting: these never bother a page, only a flood.
    frame_limits = {"typing": (1.0, 10.0), "here": (0.2, 5.0), "catch_up": (0.2, 3.0)}

    chat: Request | None = None
    layer_down = False

    # WebSocket events

    def may_open(self) -> bool:
        self.chat_pk = int(self.scope["url_route"]["kwargs"]["pk"])
        if self.chat_pk > MAX_ID:
            return False  # /ws/requests/99999999999999999999/: no such request, not a crash
        self.chat = self._visible_qs().first()
        return self.chat is not None

    def groups_to_join(self) -> list[str]:
        return [self.chat.group_name] if self.chat else []

    async def on_open(self) -> None:
        self.present_ids: list[int] = []
        self.people_shown: list[str] = []
        self.layer_down = False
        await self.update_presence(arriving=True)

    async def on_close(self) -> None:
        await self.update_presence(leaving=True)

    async def on_layer_change(self, up: bool) -> None:
        # Down: the page polls meanwhile. Up: the page catches up by what it holds, then
        # trusts the pushes again (static/js/chat.js).
        await self._report_layer(live=up)

    # Client frames (validated and rate-limited by PortalConsumer)

    async def frame_typing(self, content: dict[str, Any]) -> None:
        if not self._may("typing", TYPING_INTERVAL):
            return  # too soon after the last one: dropped before any work
        if not await self._still_visible():
            return
        audience = await off_request_thread(self._audience)()
        assert self.chat is not None  # set by may_open() before the socket opened
        try:
            await self.channel_layer.group_send(
                self.chat.group_name,
                {
                    "type": EVENT_TYPING,
                    "user_id": self.user.pk,
                    "name": str(self.user),
                    "role": self.user.role_label,
                    "audience": sorted(audience),
                },
            )
        except Exception:
            logger.exception("Could not announce typing")  # Redis down: the socket stays
            await self._report_layer(live=False)

    async def frame_here(self, content: dict[str, Any]) -> None:
        if not self._may("here", PRESENCE_MIN_INTERVAL):
            return
        holding = self._holding(content) if "after" in content else None
        if not await self._still_visible():
            return
        # The beat also checks the session on the server: deleted or idle too long, the
        # socket ends (4401) and the page goes to sign-in.
        if not await self.session_is_live():
            await self.close(code=CLOSE_SESSION_ENDED)
            return
        await self.update_presence()
        await self._probe_layer()
        if holding is not None:
            await self.sync(*holding, quiet=True)

    async def frame_catch_up(self, content: dict[str, Any]) -> None:
        after, have = self._holding(content)
        if not await self._still_visible():
            return
        await self.sync(after, have, quiet=False)

    # Channel-layer events: type "chat.message" -> chat_message()

    async def chat_message(self, event: dict[str, Any]) -> None:
        # The sender computed who may read the message (the reverse of visible_to, from the
        # database after its commit): no query here, however many sockets watch the request.
        if self.user.pk not in event["audience"]:
            # Not visible (any more): the user lost access, so the socket goes.
            await self.close(code=CLOSE_FORBIDDEN)
            return
        await self.send(text_data=event["html"])
        note_read(self.user.pk, self.chat_pk, event["message_id"])

    async def chat_typing(self, event: dict[str, Any]) -> None:
        """Someone else in the request is typing: show it (never to them, never to outsiders)."""
        if event["user_id"] == self.user.pk or self.user.pk not in event["audience"]:
            return
        await self.send(text_data=render_typing(event["name"], event["role"]))

    async def chat_presence(self, event: dict[str, Any]) -> None:
        """Who has the chat open changed: show the others (audience members only)."""
        if self.user.pk not in event["audience"]:
            return
        self.present_ids = [user_id for user_id, _ in event["present"]]
        people = [label for user_id, label in event["present"] if user_id != self.user.pk]
        if people != self.people_shown:  # the page starts with nobody shown
            self.people_shown = people
            await self.send(text_data=render_presence(people))

    async def chat_probe(self, event: dict[str, Any]) -> None:
        """The beat's probe came back through the channel layer: pushes work (again)."""
        await self._report_layer(live=True)

    # Catching up

    def _holding(self, content: dict[str, Any]) -> tuple[int, list[int]]:
        """(the id up to which the page holds every message, the ids it holds above it)."""
        return id_field(content, "after", default=0), id_list_field(
            content, "have", limit=HAVE_LIMIT
        )

    async def sync(self, after: int, have: list[int], *, quiet: bool) -> None:
        """Send the messages after `after` that the page lacks (not merely those above the
        highest id it shows: its own reply, from the POST answer, may be newer than a message
        it missed), the newest CATCH_UP_LIMIT at most, then "complete through" (if true)."""
        rows, complete_through = await self.missed(after, have)
        for html, message_id in rows:
            await self.send(text_data=html)
            note_read(self.user.pk, self.chat_pk, message_id)
        if quiet and not rows and (complete_through or 0) <= after:
            return  # a beat that found the page complete: nothing to say
        # With whether pushes work as far as this socket knows: the page says "Live" on it.
        await self.send(
            text_data=render_sync(complete_through=complete_through, live=not self.layer_down)
        )

    @off_request_thread
    def missed(self, after: int, have: list[int]) -> tuple[list[tuple[str, int]], int | None]:
        rows, complete_through = messages_lacking(
            self.chat_pk, after=after, have=have, limit=CATCH_UP_LIMIT
        )
        return [(render_push(m), m.pk) for m in rows], complete_through

    # Presence

    async def update_presence(self, *, arriving: bool = False, leaving: bool = False) -> None:
        """Mark this user present (or gone, with their last socket here) and tell the group
        if that changed who is present; an arriving socket is told at least."""
        count = count_socket(self.chat_pk, self.user.pk, (1 if arriving else 0) - leaving)
        gone = leaving and count <= 0
        if leaving and not gone:
            return  # the user still has this chat open in another tab
        try:
            audience = sorted(await off_request_thread(self._audience)())
            label = f"{self.user} ({self.user.role_label})"
            added, present = await off_request_thread(refresh)(
                self.chat_pk, self.user.pk, label, audience, gone=gone
            )
            event = {"type": EVENT_PRESENCE, "present": present, "audience": audience}
            assert self.chat is not None  # set by may_open() before the socket opened
            if added or gone:
                await self.channel_layer.group_send(self.chat.group_name, event)
            elif arriving:
                await self.chat_presence(event)  # only this socket has anything to learn
            elif [uid for uid, _ in present] != self.present_ids:
                # A beat found someone's key lapsed (or back): everyone is told.
                await self.channel_layer.group_send(self.chat.group_name, event)
        except Exception:
            # Presence is a courtesy: a cache or layer outage must not break the chat.
            logger.exception("Could not update presence")

    # Helpers

    def _may(self, what: str, interval: float) -> bool:
        """At most one `what` per `interval` seconds from this socket."""
        now = time.monotonic()
        last = getattr(self, f"_{what}_at", None)
        if last is not None and now - last < interval:
            return False
        setattr(self, f"_{what}_at", now)
        return True

    async def _probe_layer(self) -> None:
        """Send ourselves a probe through the channel layer: it comes back (chat_probe) while
        pushes work; if it cannot be sent the page is told to poll meanwhile."""
        try:
            await self.channel_layer.send(self.channel_name, {"type": EVENT_PROBE})
        except Exception:
            logger.warning("Channel layer unavailable: the chat page polls meanwhile")
            await self._report_layer(live=False)

    async def _report_layer(self, *, live: bool) -> None:
        if self.layer_down == (not live):
            return
        self.layer_down = not live
        await self.send(text_data=render_sync(live=live))

    async def _still_visible(self) -> bool:
        """Access is checked again on every client frame: a revoked delegate is cut off."""
        if await self.visible():
            return True
        await self.close(code=CLOSE_FORBIDDEN)
        return False

    def _audience(self) -> set[int]:
        chat = Request.objects.select_related("prescription").filter(pk=self.chat_pk).first()
        return chat.audience() if chat else set()

    @off_request_thread
    def visible(self) -> bool:
        return self._visible_qs().exists()

    def _visible_qs(self) -> QuerySet[Request]:
        return Request.objects.visible_to(self.user).filter(pk=self.chat_pk)
