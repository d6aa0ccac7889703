"""The per-user notification socket: pushes bell updates (count and new feed items)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import TYPE_CHECKING, Any

from channels.db import database_sync_to_async
from django.template.loader import render_to_string

from portal.consumers import PortalConsumer, user_group

from .selectors import bell_context
from .services import EVENT_IDS_MAX

if TYPE_CHECKING:
    from accounts.models import User

logger = logging.getLogger(__name__)

# Pushes to one socket arriving within this many seconds of its last bell render share the next.
BELL_COALESCE = 0.2


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

    # The bell's pending push (see notifications_update).
    _bell_task: asyncio.Task[None] | None = None
    _bell_due = False
    _bell_ids: tuple[int, ...] = ()

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
        """Render the bell (the user's own count and feed, through `visible_to`) at most once
        per BELL_COALESCE seconds: the first push at once, the ones arriving meanwhile merged
        into one render at the end of that window (a worker catching up sends bursts, and each
        render is a few queries per open page). The last render always follows the last push,
        so the bell ends as it stands."""
        self._bell_ids = (*self._bell_ids, *(event.get("ids") or []))
        self._bell_due = True
        if self._bell_task is None or self._bell_task.done():
            self._bell_task = asyncio.create_task(self._push_bell())

    async def _push_bell(self) -> None:
        try:
            while self._bell_due and self.opened:
                self._bell_due = False
                ids, self._bell_ids = list(self._bell_ids[-EVENT_IDS_MAX:]), ()
                await self.send(text_data=await render_update(self.user, ids))
                await asyncio.sleep(BELL_COALESCE)
        except OSError as error:
            # The page went away before its disconnect reached the consumer (uvicorn's
            # ClientDisconnected): nothing to push to, nothing wrong.
            logger.info("The bell's page went away before its push: %s", error)
        except Exception:
            # As an error in a handler: logged, and the socket stays open (the next push or
            # page load shows the bell as it stands).
            logger.exception("Could not push the bell")

    async def on_close(self) -> None:
        if self._bell_task is not None and not self._bell_task.done():
            self._bell_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._bell_task

    # Type "user.html" -> user_html(): another app rendered something for this user's pages.
    async def user_html(self, event: dict[str, Any]) -> None:
        await self.send(text_data=event["html"])
