"""Read markers of rows pushed to open threads, written in batches (per process).

A message pushed to 20 open pages would otherwise be 20 writes at once; as in the requests
chat (`requests_chat/live.py`, whose socket threads this reuses), markers wait a moment and go
in one batch.
"""

from __future__ import annotations

import asyncio
import logging

from requests_chat.live import off_request_thread

from .models import Thread
from .services import mark_read

logger = logging.getLogger(__name__)

READ_MARK_DELAY = 2.0

# {(user id, thread id): message id} waiting to be written.
_pending: dict[tuple[int, int], int] = {}
_flush_task: asyncio.Task | None = None


def note_read(user_id: int, thread_id: int, message_id: int) -> None:
    """A message is on this user's screen: move their marker (batched)."""
    global _flush_task
    key = (user_id, thread_id)
    _pending[key] = max(_pending.get(key, 0), message_id)
    if _flush_task is None or _flush_task.done():
        _flush_task = asyncio.ensure_future(_flush_later())


async def _flush_later() -> None:
    await asyncio.sleep(READ_MARK_DELAY)
    await flush_reads()


async def flush_reads() -> None:
    batch = dict(_pending)
    _pending.clear()
    if batch:
        try:
            await off_request_thread(write_markers)(batch)
        except Exception:
            logger.exception("Could not store read markers")


def write_markers(batch: dict[tuple[int, int], int]) -> None:
    from accounts.models import User

    users = {u.pk: u for u in User.objects.filter(pk__in={u for u, _ in batch})}
    threads = {t.pk: t for t in Thread.objects.filter(pk__in={t for _, t in batch})}
    for (user_id, thread_id), message_id in batch.items():
        if user_id in users and thread_id in threads:
            mark_read(user=users[user_id], thread=threads[thread_id], message_id=message_id)
