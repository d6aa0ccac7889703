"""The HTML Messages pushes to pages: message rows (rendered once), inbox rows and badges
(rendered per reader: unread counts are theirs), the sync element chat.js reads."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.template.loader import render_to_string

if TYPE_CHECKING:
    from .models import Message, Thread


def render_push(message: Message, side: str) -> str:
    """The message row, as an out-of-band append to the open thread's list; rendered once per
    side ("patient", "clinic": their attachment links differ), not per reader."""
    return render_to_string(
        "messaging/_conversation.html#message-push", {"message": message, "side": side}
    )


def render_sync(*, complete_through: int | None = None, live: bool | None = None) -> str:
    """chat.js's bookkeeping element: "you now hold every message up to this id"."""
    return render_to_string(
        "messaging/_conversation.html#chat-sync",
        {"complete_through": complete_through, "live": live, "oob": True},
    )


def render_patient_row(thread: Thread) -> str:
    """A patient inbox row (annotated with this reader's state), pushed to the list's top."""
    return render_to_string("messaging/inbox.html#thread-push", {"thread": thread})


def render_patient_badge(unread: int) -> str:
    """The Messages nav badge (sidebar and phone tab bar) and the Home card's count."""
    return "".join(
        render_to_string(
            "patient_portal/_nav_badge.html", {"count": unread, "badge_id": badge_id, "oob": True}
        )
        for badge_id in ("messages-badge", "messages-badge-tab")
    )


def render_clinic_row(thread: Thread) -> str:
    return render_to_string("clinic_messaging/inbox.html#thread-push", {"thread": thread})


def render_clinic_badge(unread: int) -> str:
    return render_to_string(
        "patient_portal/_nav_badge.html",
        {"count": unread, "cap": 99, "badge_id": "clinic-inbox-badge", "oob": True},
    )
