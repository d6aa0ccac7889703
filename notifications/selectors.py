"""Reads of notifications that several interfaces share (the bell's view, tag and socket)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .models import Notification

if TYPE_CHECKING:
    from accounts.models import User

FEED_SIZE = 8


def bell_context(user: User, *, new_ids: list[int] | None = None) -> dict[str, Any]:
    """What the bell shows: the unread count and the latest items (no patient data)."""
    visible = Notification.objects.visible_to(user)
    items = list(visible.select_related("actor")[:FEED_SIZE])
    new_items = []
    if new_ids:
        wanted = set(new_ids)
        new_items = [n for n in items if n.pk in wanted]
    return {
        "unread_count": visible.unread().count(),
        "feed_items": items,
        "new_items": new_items,
    }
