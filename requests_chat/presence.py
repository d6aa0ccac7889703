"""Presence ("Here now: …" on a request's chat): who has the chat open, in the shared cache.

A key per (request, user) in the shared cache (Redis in production, so every server process sees
it), added when a socket opens, kept alive by the page's "here" every 25 seconds (chat.js) and
deleted when the user's last socket in this process closes; without a beat it lapses after
PRESENCE_TTL (a sleeping laptop, a server process that died). The consumer announces a change
to the request's group only when the set of people present changes, so many sockets of one user
cost one announcement.
"""

from __future__ import annotations

import functools

from django.core.cache import caches
from django.core.cache.backends.base import BaseCache

PRESENCE_TTL = 75

# Open sockets per (request id, user id) in this process.
_local_sockets: dict[tuple[int, int], int] = {}


@functools.cache
def presence_cache() -> BaseCache:
    """One cache client for all the sockets of this process. (`django.core.cache.cache` is
    kept per asyncio context: each socket would hold a client, and on Redis a connection pool,
    of its own: 50 kB per socket in bench/ws_memory.py.)"""
    return caches.create_connection("default")


def presence_key(chat_id: int, user_id: int) -> str:
    return f"chat-presence:{chat_id}:{user_id}"


def count_socket(chat_id: int, user_id: int, change: int) -> int:
    """Add `change` (+1 opened, -1 closed, 0 a beat) to this user's open sockets on the chat in
    this process; return how many remain."""
    key = (chat_id, user_id)
    count = _local_sockets.get(key, 0) + change
    if count > 0:
        _local_sockets[key] = count
    else:
        _local_sockets.pop(key, None)
    return count


def refresh(
    chat_id: int, user_id: int, label: str, audience: list[int], *, gone: bool
) -> tuple[bool, list[tuple[int, str]]]:
    """Mark the user present (or gone); return (whether their key was added, the people present
    among `audience` as [(user id, label)], by label). Synchronous: the cache may be Redis."""
    cache = presence_cache()
    key = presence_key(chat_id, user_id)
    added = False
    if gone:
        cache.delete(key)
    else:
        added = cache.add(key, label, PRESENCE_TTL)
        if not added:
            cache.touch(key, PRESENCE_TTL)
    keys = {presence_key(chat_id, uid): uid for uid in audience}
    labels = cache.get_many(list(keys))
    present = sorted(((keys[k], v) for k, v in labels.items()), key=lambda item: item[1])
    return added, present
