"""Process-wide machinery of the chat sockets: their database threads and batched read markers."""

from __future__ import annotations

import asyncio
import logging

from portal.consumers import close_db_connections, on_socket_db_thread

from .services import mark_read_many

logger = logging.getLogger(__name__)

# The sockets' database threads live in portal.consumers (every consumer shares them).
off_request_thread = on_socket_db_thread
__all__ = ["close_db_connections", "off_request_thread"]


# How long a read marker waits before it is written (one write per burst, not per message).
READ_MARK_DELAY = 3.0

# Read markers waiting to be written, {(user id, request id): message id}, flushed in one batch.
_pending_reads: dict[tuple[int, int], int] = {}
_flush_task: asyncio.Task | None = None


def note_read(user_id: int, chat_id: int, message_id: int) -> None:
    """A message is on this user's screen: move their read marker (batched, per process)."""
    global _flush_task
    key = (user_id, chat_id)
    _pending_reads[key] = max(_pending_reads.get(key, 0), message_id)
    if _flush_task is None or _flush_task.done():
        _flush_task = asyncio.ensure_future(_flush_reads_later())


async def _flush_reads_later() -> None:
    await asyncio.sleep(READ_MARK_DELAY)
    await flush_reads()


async def flush_reads() -> None:
    """Write the pending markers in one batch; the users' other pages (the Requests list)
    update their unread badges."""
    batch = dict(_pending_reads)
    _pending_reads.clear()
    if batch:
        try:
            await off_request_thread(mark_read_many)(batch)
        except Exception:
            logger.exception("Could not store read state")
