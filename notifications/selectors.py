"""Reads of notifications that several interfaces share (the bell's view, tag and socket)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.db.models import Count, Q, Window

from .models import Notification

if TYPE_CHECKING:
    from accounts.models import User

FEED_SIZE = 8


def bell_context(user: User, *, new_ids: list[int] | None = None) -> dict[str, Any]:
    """What the bell shows: the unread count and the latest items (no patient data)."""
    # One query, on every page: the unread count rides along with the latest items as a window
    # over all the user's visible notifications (computed before the LIMIT).
    items = list(
        Notification.objects.visible_to(user)
        .select_related("actor")
        .annotate(unread_total=Window(Count("pk", filter=Q(read_at__isnull=True))))[:FEED_SIZE]
    )
    new_items = []
    if new_ids:
        wanted = set(new_ids)
        new_items = [n for n in items if n.pk in wanted]
    return {
        "unread_count": items[0].unread_total if items else 0,
        "feed_items": items,
        "new_items": new_items,
    }
