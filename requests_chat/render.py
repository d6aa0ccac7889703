"""The HTML the chat pushes to pages: message rows, typing, presence, unread badges, sync.

Rendered once per event wherever possible (a pushed row does not depend on who watches it).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.template.loader import render_to_string

if TYPE_CHECKING:
    from .models import Message


def render_push(message: Message) -> str:
    """The message row as pushed to sockets (it does not depend on who is watching)."""
    return render_to_string("requests_chat/detail.html#message-push", {"message": message})


def render_typing(name: str, role: str) -> str:
    """'<name> (<role>) is typing…', as an out-of-band swap of the chat's typing line."""
    return render_to_string("requests_chat/detail.html#typing", {"name": name, "role": role})


def render_presence(people_here: list[str]) -> str:
    """Who else has this chat open now ("name (role)" each), as an out-of-band swap."""
    return render_to_string(
        "requests_chat/detail.html#presence", {"people_here": people_here, "oob": True}
    )


def render_sync(*, complete_through: int | None = None, live: bool | None = None) -> str:
    """The page's bookkeeping element: "you now hold every message up to this id" and whether
    live pushes work (False: the channel layer is down, the page polls meanwhile)."""
    return render_to_string(
        "requests_chat/detail.html#chat-sync",
        {"complete_through": complete_through, "live": live, "oob": True},
    )


def render_unread_badge(chat_id: int, unread: int) -> str:
    """A user's unread badge for one request (the Requests list), as an out-of-band swap: it
    depends only on the request and the count, so a fan-out renders each distinct count once.
    The count is the caller's, counted for that user (`selectors.unread_in_request_for`)."""
    return render_to_string(
        "requests_chat/list.html#unread-count",
        {"chat": {"pk": chat_id, "unread": unread}, "oob": True},
    )
