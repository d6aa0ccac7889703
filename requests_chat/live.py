"""Process-wide machinery of the chat sockets: their database threads and batched read markers."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, wait
from typing import Any

from channels.db import DatabaseSyncToAsync
from django.db import connections

from .services import mark_read_many

logger = logging.getLogger(__name__)

# The sockets' own database threads (a few connections per process, reused).
DB_THREADS = 4
_db_executor = ThreadPoolExecutor(max_workers=DB_THREADS, thread_name_prefix="chat-db")


def off_request_thread(func: Callable[..., Any]) -> DatabaseSyncToAsync:
    """Like database_sync_to_async, but on the sockets' own threads, not the one "sync thread".

    ASGI servers run every synchronous view of the process on that single thread, so a socket's
    access check would otherwise wait behind whatever request is being served (say, the POST
    that sent the message, still writing its audit and notifications).
    """
    return DatabaseSyncToAsync(func, thread_sensitive=False, executor=_db_executor)


def close_db_connections() -> None:
    """Close the connections the socket threads hold (at shutdown, and after tests)."""
    barrier = threading.Barrier(DB_THREADS)

    def close() -> None:
        connections.close_all()
        # Hold this thread until every thread has a close task of its own.
        with contextlib.suppress(threading.BrokenBarrierError):
            barrier.wait(timeout=2)

    wait([_db_executor.submit(close) for _ in range(DB_THREADS)])


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
