"""The per-user notification socket: pushes bell updates (count and new feed items)."""

from __future__ import annotations

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.template.loader import render_to_string
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.models import Device

from portal.consumers import DirectDispatchMixin, SessionBoundMixin

from .services import group_name
from .views import bell_context


@database_sync_to_async
def otp_verified(scope) -> bool:
    """What django-otp's middleware checks, which does not run for websockets."""
    user = scope.get("user")
    session = scope.get("session")
    if user is None or not user.is_authenticated or not user.is_active or session is None:
        return False
    persistent_id = session.get(DEVICE_ID_SESSION_KEY)
    if not persistent_id:
        return False
    device = Device.from_persistent_id(persistent_id)
    return device is not None and device.user_id == user.pk and device.confirmed


@database_sync_to_async
def render_unread(user, request_id: int) -> str:
    """The user's unread badge for one request (the Requests list), counted through visible_to."""
    from requests_chat.selectors import unread_by_request  # noqa: PLC0415 (it imports this app)

    unread = unread_by_request(user, [request_id]).get(request_id, 0)
    return render_to_string(
        "requests_chat/list.html#unread-count",
        {"chat": {"pk": request_id, "unread": unread}, "oob": True},
    )


@database_sync_to_async
def render_update(user, ids: list[int]) -> str:
    return render_to_string(
        "notifications/_bell.html#ws-update", {"bell": bell_context(user, new_ids=ids)}
    )


class NotificationConsumer(SessionBoundMixin, DirectDispatchMixin, AsyncWebsocketConsumer):
    """One socket per open page of a signed-in, MFA-verified user; joined to `user-<pk>`.

    Clients never write through it; the server sends htmx out-of-band swaps.
    """

    group: str | None = None

    # WebSocket events
    async def connect(self):
        if not await otp_verified(self.scope):
            await self.close(code=4403)
            return
        self.group = group_name(self.scope["user"].pk)
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.join_session_group()
        await self.accept()

    async def disconnect(self, code):
        if self.group:
            await self.channel_layer.group_discard(self.group, self.channel_name)
            await self.leave_session_group()

    async def receive(self, text_data=None, bytes_data=None):
        pass  # nothing is accepted from clients

    # Channel-layer events: type "notifications.update" -> notifications_update()
    async def notifications_update(self, event):
        html = await render_update(self.scope["user"], event.get("ids") or [])
        await self.send(text_data=html)

    # Type "chat.unread" -> chat_unread(): a request's unread count changed for this user.
    async def chat_unread(self, event):
        await self.send(text_data=await render_unread(self.scope["user"], event["request_id"]))
