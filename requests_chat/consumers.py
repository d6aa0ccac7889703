"""The live chat of one request: server → browser pushes of rendered message rows.

Messages never travel up the socket (they are POSTed over HTTP, see services.py); what a
client sends is "catch me up after message id N", "I am typing" and "I am still here".
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor, wait

from channels.db import DatabaseSyncToAsync
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from channels.layers import get_channel_layer
from django.core.cache import caches
from django.db import IntegrityError, connections, transaction
from django.utils import timezone

from notifications.services import group_name
from portal.consumers import CLOSE_SESSION_ENDED, DirectDispatchMixin, SessionBoundMixin

from .models import Message, ReadState, Request
from .services import EVENT_UNREAD, render_presence, render_push, render_typing

logger = logging.getLogger(__name__)


# The sockets' own database threads (a few connections per process, reused).
DB_THREADS = 4
_db_executor = ThreadPoolExecutor(max_workers=DB_THREADS, thread_name_prefix="chat-db")


def off_request_thread(func):
    """Like database_sync_to_async, but on the sockets' own threads, not the one "sync thread".

    ASGI servers run every synchronous view of the process on that single thread, so a socket's
    access check would otherwise wait behind whatever request is being served (say, the POST
    that sent the message, still writing its audit and notifications).
    """
    return DatabaseSyncToAsync(func, thread_sensitive=False, executor=_db_executor)


def close_db_connections() -> None:
    """Close the connections the socket threads hold (at shutdown, and after tests)."""
    barrier = threading.Barrier(DB_THREADS)

    def close() -> None:
        connections.close_all()
        # Hold this thread until every thread has a close task of its own.
        with contextlib.suppress(threading.BrokenBarrierError):
            barrier.wait(timeout=2)

    wait([_db_executor.submit(close) for _ in range(DB_THREADS)])


CLOSE_FORBIDDEN = 4403
# A client says "typing" at most this often (seconds); more frequent ones are dropped unread.
TYPING_INTERVAL = 2.0
CATCH_UP_LIMIT = 200
# How long a read marker waits before it is written (one write per burst, not per message).
READ_MARK_DELAY = 3.0

# Read markers waiting to be written, {(user id, request id): message id}, flushed in one batch.
_pending_reads: dict[tuple[int, int], int] = {}
_flush_task: asyncio.Task | None = None


def note_read(user_id: int, request_id: int, message_id: int) -> None:
    """A message is on this user's screen: move their read marker (batched, per process)."""
    global _flush_task
    key = (user_id, request_id)
    _pending_reads[key] = max(_pending_reads.get(key, 0), message_id)
    if _flush_task is None or _flush_task.done():
        _flush_task = asyncio.ensure_future(_flush_reads_later())


async def _flush_reads_later() -> None:
    await asyncio.sleep(READ_MARK_DELAY)
    await flush_reads()


async def flush_reads() -> None:
    batch = dict(_pending_reads)
    _pending_reads.clear()
    if batch:
        try:
            changed = await off_request_thread(_write_reads)(batch)
        except Exception:
            logger.exception("Could not store read state")
            return
        # The user's other pages (the Requests list) update their unread badges.
        for user_id, request_id in changed:
            try:
                await get_channel_layer().group_send(
                    group_name(user_id), {"type": EVENT_UNREAD, "request_id": request_id}
                )
            except Exception:
                logger.exception("Could not announce read state")
                return


def _write_reads(batch: dict[tuple[int, int], int]) -> list[tuple[int, int]]:
    """Store the read markers; return the (user id, request id) pairs that moved."""
    now = timezone.now()
    changed = []
    for (user_id, request_id), message_id in batch.items():
        updated = ReadState.objects.filter(
            user_id=user_id, request_id=request_id, last_read_message_id__lt=message_id
        ).update(last_read_message_id=message_id, updated_at=now)
        if (
            not updated
            and not ReadState.objects.filter(user_id=user_id, request_id=request_id).exists()
        ):
            # Written meanwhile by another process? Then it catches up next time.
            with contextlib.suppress(IntegrityError), transaction.atomic():
                ReadState.objects.create(
                    user_id=user_id, request_id=request_id, last_read_message_id=message_id
                )
                updated = 1
        if updated:
            changed.append((user_id, request_id))
    return changed


# Presence ("Here now: …"): a key per (request, user) in the shared cache (Redis in
# production, so every server process sees it), added when a socket opens, kept alive by the
# page's "here" every 25 seconds (chat.js) and deleted when the user's last socket in this
# process closes; without a beat it lapses after PRESENCE_TTL (a sleeping laptop, a server
# process that died). A change is announced to the request's group only when the set of
# people present changes, so many sockets of one user cost one announcement.
PRESENCE_TTL = 75
PRESENCE_MIN_INTERVAL = 10.0  # "here" sooner than this after the last is dropped unread
# Open sockets per (request id, user id) in this process.
_local_sockets: dict[tuple[int, int], int] = {}


@functools.cache
def presence_cache():
    """One cache client for all the sockets of this process. (`django.core.cache.cache` is
    kept per asyncio context: each socket would hold a client, and on Redis a connection pool,
    of its own: 50 kB per socket in bench/ws_memory.py.)"""
    return caches.create_connection("default")


def presence_key(request_id: int, user_id: int) -> str:
    return f"chat-presence:{request_id}:{user_id}"


def otp_verified(scope) -> bool:
    """Did this session pass the second factor? (django-otp's middleware is HTTP-only.)"""
    from django_otp.models import Device

    user = scope.get("user")
    session = scope.get("session")
    if user is None or not user.is_authenticated or session is None:
        return False
    persistent_id = session.get("otp_device_id")
    if not persistent_id:
        return False
    device = Device.from_persistent_id(persistent_id, for_verify=False)
    return device is not None and device.user_id == user.pk and getattr(device, "confirmed", True)


class RequestConsumer(SessionBoundMixin, DirectDispatchMixin, AsyncJsonWebsocketConsumer):
    """ws/requests/<pk>/: joins the request's group if the user may see the request."""

    # WebSocket events

    async def connect(self):
        self.request_pk = int(self.scope["url_route"]["kwargs"]["pk"])
        self.user = self.scope.get("user")
        self.group_name = f"request-{self.request_pk}"
        self.joined = False
        if not await self.may_join():
            await self.close(code=CLOSE_FORBIDDEN)
            return
        await self.channel_layer.group_add(self.group_name, self.channel_name)
        await self.join_session_group()
        self.joined = True
        self.present_ids: list[int] = []
        self.others_shown: list[str] = []
        await self.accept()
        await self.update_presence(arriving=True)

    async def disconnect(self, code):
        if self.joined:
            await self.channel_layer.group_discard(self.group_name, self.channel_name)
            await self.leave_session_group()
            await self.update_presence(leaving=True)

    async def receive_json(self, content, **kwargs):
        kind = content.get("type") if isinstance(content, dict) else None
        if kind == "typing" and not self._may("typing", TYPING_INTERVAL):
            return  # too soon after the last one: dropped before any work
        if kind == "here" and not self._may("here", PRESENCE_MIN_INTERVAL):
            return
        # Access is checked again on every message: a revoked delegate is cut off at once.
        if not await self.visible():
            await self.close(code=CLOSE_FORBIDDEN)
            return
        if kind == "typing":
            await self.announce_typing()
            return
        if kind == "here":
            # The beat also checks the session on the server: deleted or idle too long, the
            # socket ends (4401) and the page goes to sign-in.
            if not await self.session_is_live():
                await self.close(code=CLOSE_SESSION_ENDED)
                return
            await self.update_presence()
            return
        after = content.get("catch_up") if isinstance(content, dict) else None
        if after is None and isinstance(content, dict) and content.get("type") == "catch_up":
            after = content.get("after")
        try:
            after = max(int(after), 0)
        except (TypeError, ValueError):
            return
        for html, message_id in await self.missed(after):
            await self.send(text_data=html)
            note_read(self.user.pk, self.request_pk, message_id)

    # Channel-layer events: type "chat.message" -> chat_message()

    async def chat_message(self, event):
        # The sender computed who may read the message (the reverse of visible_to, from the
        # database after its commit): no query here, however many sockets watch the request.
        if self.user.pk not in event["audience"]:
            # Not visible (any more): the user lost access, so the socket goes.
            await self.close(code=CLOSE_FORBIDDEN)
            return
        await self.send(text_data=event["html"])
        note_read(self.user.pk, self.request_pk, event["message_id"])

    async def chat_typing(self, event):
        """Someone else in the request is typing: show it (never to them, never to outsiders)."""
        if event["user_id"] == self.user.pk or self.user.pk not in event["audience"]:
            return
        await self.send(text_data=render_typing(event["name"], event["role"]))

    async def chat_presence(self, event):
        """Who has the chat open changed: show the others (audience members only)."""
        if self.user.pk not in event["audience"]:
            return
        self.present_ids = [user_id for user_id, _ in event["present"]]
        others = [label for user_id, label in event["present"] if user_id != self.user.pk]
        if others != self.others_shown:  # the page starts with nobody shown
            self.others_shown = others
            await self.send(text_data=render_presence(others))

    # Helpers

    def _may(self, what: str, interval: float) -> bool:
        """At most one `what` per `interval` seconds from this socket."""
        now = time.monotonic()
        last = getattr(self, f"_{what}_at", None)
        if last is not None and now - last < interval:
            return False
        setattr(self, f"_{what}_at", now)
        return True

    async def update_presence(self, *, arriving: bool = False, leaving: bool = False) -> None:
        """Mark this user present (or gone, with their last socket here) and tell the group
        if that changed who is present; an arriving socket is told at least."""
        local = (self.request_pk, self.user.pk)
        count = _local_sockets.get(local, 0) + (1 if arriving else 0) - (1 if leaving else 0)
        if count > 0:
            _local_sockets[local] = count
        else:
            _local_sockets.pop(local, None)
        gone = leaving and count <= 0
        if leaving and not gone:
            return  # the user still has this chat open in another tab
        try:
            added, present, audience = await off_request_thread(self._presence)(gone)
            event = {"type": "chat.presence", "present": present, "audience": audience}
            if added or gone:
                await self.channel_layer.group_send(self.group_name, event)
            elif arriving:
                await self.chat_presence(event)  # only this socket has anything to learn
            elif [uid for uid, _ in present] != self.present_ids:
                # A beat found someone's key lapsed (or back): everyone is told.
                await self.channel_layer.group_send(self.group_name, event)
        except Exception:
            # Presence is a courtesy: a cache or layer outage must not break the chat.
            logger.exception("Could not update presence")

    def _presence(self, gone: bool) -> tuple[bool, list[tuple[int, str]], list[int]]:
        """(whether this user's key was added, [(user id, label)] present, the audience)."""
        cache = presence_cache()
        key = presence_key(self.request_pk, self.user.pk)
        added = False
        if gone:
            cache.delete(key)
        else:
            added = cache.add(key, f"{self.user} ({self.user.role_label})", PRESENCE_TTL)
            if not added:
                cache.touch(key, PRESENCE_TTL)
        audience = sorted(self._audience())
        labels = cache.get_many([presence_key(self.request_pk, uid) for uid in audience])
        present = sorted(
            (
                (uid, labels[presence_key(self.request_pk, uid)])
                for uid in audience
                if presence_key(self.request_pk, uid) in labels
            ),
            key=lambda item: item[1],
        )
        return added, present, audience

    async def announce_typing(self) -> None:
        audience = await off_request_thread(self._audience)()
        await self.channel_layer.group_send(
            self.group_name,
            {
                "type": "chat.typing",
                "user_id": self.user.pk,
                "name": str(self.user),
                "role": self.user.role_label,
                "audience": sorted(audience),
            },
        )

    def _audience(self) -> set[int]:
        chat = Request.objects.select_related("prescription").filter(pk=self.request_pk).first()
        return chat.audience() if chat else set()

    async def may_join(self) -> bool:
        if self.user is None or not self.user.is_authenticated:
            return False
        return await self.check_access()

    @off_request_thread
    def check_access(self) -> bool:
        return otp_verified(self.scope) and self._visible_qs().exists()

    @off_request_thread
    def visible(self) -> bool:
        return self._visible_qs().exists()

    def _visible_qs(self):
        return Request.objects.visible_to(self.user).filter(pk=self.request_pk)

    def _messages(self):
        return (
            Message.objects.visible_to(self.user)
            .filter(request_id=self.request_pk)
            .prefetch_related("documents")
        )

    @off_request_thread
    def missed(self, after: int) -> list[tuple[str, int]]:
        rows = self._messages().filter(pk__gt=after).order_by("pk")[:CATCH_UP_LIMIT]
        return [(render_push(m), m.pk) for m in rows]
