"""The per-user notification socket: pushes bell updates (count and new feed items)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from channels.db import database_sync_to_async
from django.template.loader import render_to_string

from portal.consumers import PortalConsumer, user_group

from .selectors import bell_context

if TYPE_CHECKING:
    from accounts.models import User


@database_sync_to_async
def render_update(user: User, ids: list[int]) -> str:
    return render_to_string(
        "notifications/_bell.html#ws-update", {"bell": bell_context(user, new_ids=ids)}
    )


class NotificationConsumer(PortalConsumer):
    """One socket per open page of a signed-in, MFA-verified user; joined to `user-<pk>`.

    Clients never write through it (every frame is dropped, and a flood closes the socket);
    the server sends htmx out-of-band swaps.
    """

    def groups_to_join(self) -> list[str]:
        return [user_group(self.user.pk)]

    async def on_layer_change(self, up: bool) -> None:
        # Pushes may have been lost while the layer was down: once it is back, send the bell
        # as it stands (count and feed), at a random moment so that pages do not all query
        # at once.
        if up:
            await self.spread()
            await self.send(text_data=await render_update(self.user, []))

    # Channel-layer events: type "notifications.update" -> notifications_update()
    async def notifications_update(self, event: dict[str, Any]) -> None:
        html = await render_update(self.user, event.get("ids") or [])
        await self.send(text_data=html)

    # Type "user.html" -> user_html(): another app rendered something for this user's pages.
    async def user_html(self, event: dict[str, Any]) -> None:
        await self.send(text_data=event["html"])
