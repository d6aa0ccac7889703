"""The live chat of one request: server → browser pushes of rendered message rows.

Clients never write through the socket (messages are POSTed over HTTP, see services.py); the
only thing a client sends is "catch me up after message id N".
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.template.loader import render_to_string

from .models import Message, Request
from .services import mark_read

logger = logging.getLogger(__name__)

CLOSE_FORBIDDEN = 4403
CATCH_UP_LIMIT = 200
# How long a read marker waits before it is written (one write per burst, not per message).
READ_MARK_DELAY = 1.0

# Rows do not depend on the viewer, so each process renders a message once for all its sockets.
_rendered: OrderedDict[int, str] = OrderedDict()
_RENDERED_MAX = 512


def render_push(message: Message) -> str:
    html = _rendered.get(message.pk)
    if html is None:
        html = render_to_string("requests_chat/detail.html#message-push", {"message": message})
        _rendered[message.pk] = html
        if len(_rendered) > _RENDERED_MAX:
            _rendered.popitem(last=False)
    return html


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


class RequestConsumer(AsyncJsonWebsocketConsumer):
    """ws/requests/<pk>/: joins the request's group if the user may see the request."""

    # WebSocket events

    async def connect(self):
        self.request_pk = int(self.scope["url_route"]["kwargs"]["pk"])
        self.user = self.scope.get("user")
        self.group_name = f"request-{self.request_pk}"
        self.pending_read: int = 0
        self.read_task: asyncio.Task | None = None
        if not await self.may_join():
            await self.close(code=CLOSE_FORBIDDEN)
            return
        await self.channel_layer.group_add(self.group_name, self.channel_name)
        await self.accept()

    async def disconnect(self, code):
        await self.channel_layer.group_discard(self.group_name, self.channel_name)
        if self.read_task and not self.read_task.done():
            self.read_task.cancel()
            await self.write_read_mark()

    async def receive_json(self, content, **kwargs):
        # Access is checked again on every message: a revoked delegate is cut off at once.
        if not await self.visible():
            await self.close(code=CLOSE_FORBIDDEN)
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
            self.note_read(message_id)

    # Channel-layer events: type "chat.message" -> chat_message()

    async def chat_message(self, event):
        found = await self.render_visible(event["message_id"])
        if found is None:
            # Not visible (any more): the user lost access, so the socket goes.
            await self.close(code=CLOSE_FORBIDDEN)
            return
        await self.send(text_data=found)
        self.note_read(event["message_id"])

    # Helpers

    async def may_join(self) -> bool:
        if self.user is None or not self.user.is_authenticated:
            return False
        return await self.check_access()

    @database_sync_to_async
    def check_access(self) -> bool:
        return otp_verified(self.scope) and self._visible_qs().exists()

    @database_sync_to_async
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

    @database_sync_to_async
    def render_visible(self, message_id: int) -> str | None:
        html = _rendered.get(message_id)
        if html is not None:
            # Cached rows still need the access check, one indexed query.
            return html if self._messages().filter(pk=message_id).exists() else None
        message = self._messages().filter(pk=message_id).first()
        return render_push(message) if message else None

    @database_sync_to_async
    def missed(self, after: int) -> list[tuple[str, int]]:
        rows = self._messages().filter(pk__gt=after).order_by("pk")[:CATCH_UP_LIMIT]
        return [(render_push(m), m.pk) for m in rows]

    def note_read(self, message_id: int) -> None:
        """The user has this message on screen: move their read marker, debounced."""
        self.pending_read = max(self.pending_read, message_id)
        if self.read_task is None or self.read_task.done():
            self.read_task = asyncio.ensure_future(self._delayed_read_mark())

    async def _delayed_read_mark(self):
        await asyncio.sleep(READ_MARK_DELAY)
        await self.write_read_mark()

    async def write_read_mark(self):
        if self.pending_read:
            message_id, self.pending_read = self.pending_read, 0
            try:
                await database_sync_to_async(self._mark_read)(message_id)
            except Exception:
                logger.exception("Could not store read state")

    def _mark_read(self, message_id: int) -> None:
        chat = Request.objects.visible_to(self.user).filter(pk=self.request_pk).first()
        if chat:
            mark_read(user=self.user, request=chat, message_id=message_id)
