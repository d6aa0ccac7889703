"""A busy connection pool is a line; a database that is out is a quick 503 (portal.postgresql).

Each test builds pools of one connection on the test database (as Django does: one wrapper per
thread, one pool per database alias, the same settings dictionary), so that "every connection
in use" is one held connection.
"""

from __future__ import annotations

import copy
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from django.db import OperationalError, connection

from portal.postgresql.base import DatabaseWrapper
from tests.conftest import require

SLICE = 0.3  # the pool's own timeout (DB_POOL_TIMEOUT_SECONDS in production)


class Pool:
    """Wrappers sharing one settings dictionary and so one pool, as Django's threads do."""

    def __init__(self) -> None:
        self.settings_dict: dict[str, Any] = copy.deepcopy(connection.settings_dict)
        self.settings_dict["OPTIONS"]["pool"] = {"min_size": 1, "max_size": 1, "timeout": SLICE}
        self.alias = f"poolq-{uuid.uuid4().hex[:8]}"
        self.made: list[DatabaseWrapper] = []
        self.threads: list[threading.Thread] = []

    def wrapper(self) -> DatabaseWrapper:
        self.made.append(DatabaseWrapper(self.settings_dict, self.alias))
        return self.made[-1]


@pytest.fixture
def pool() -> Iterator[Pool]:
    require(connection.vendor == "postgresql", "PostgreSQL (DATABASE_URL)")
    made = Pool()
    yield made
    for thread in made.threads:
        thread.join(10)
    if made.made:
        made.made[0].close_pool()


def hold_the_only_connection(pool: Pool, seconds: float) -> None:
    """Another thread (another request) takes the pool's one connection for `seconds`."""
    taken = threading.Event()

    def run() -> None:
        holder = pool.wrapper()
        holder.ensure_connection()
        taken.set()
        time.sleep(seconds)
        holder.close()  # back to the pool

    thread = threading.Thread(target=run, daemon=True)
    pool.threads.append(thread)
    thread.start()
    assert taken.wait(10)


@pytest.mark.django_db
def test_a_busy_pool_is_a_line_not_an_error(pool, settings):
    settings.DB_POOL_QUEUE_SECONDS = 5
    hold_the_only_connection(pool, 1.2)
    waiter = pool.wrapper()
    started = time.monotonic()
    waiter.ensure_connection()  # before: PoolTimeout after SLICE, answered as the 503 page
    waited = time.monotonic() - started
    with waiter.cursor() as cursor:
        cursor.execute("SELECT 1")
        assert cursor.fetchone() == (1,)
    waiter.close()
    assert 0.8 < waited < 5, waited  # several slices, then its turn


@pytest.mark.django_db
def test_the_line_is_bounded(pool, settings):
    settings.DB_POOL_QUEUE_SECONDS = 1
    hold_the_only_connection(pool, 2.5)
    waiter = pool.wrapper()
    started = time.monotonic()
    with pytest.raises(OperationalError):
        waiter.ensure_connection()
    waited = time.monotonic() - started
    assert 1 <= waited < 1 + 2 * SLICE + 0.5, waited


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.django_db
def test_a_database_that_is_out_fails_at_the_first_slice(pool, settings):
    settings.DB_POOL_QUEUE_SECONDS = 10
    pool.settings_dict["HOST"], pool.settings_dict["PORT"] = "127.0.0.1", closed_port()
    waiter = pool.wrapper()
    started = time.monotonic()
    with pytest.raises(OperationalError):
        waiter.ensure_connection()
    waited = time.monotonic() - started
    assert waited < 2, waited  # not the 10 s line: the pool's attempts to connect failed


@pytest.mark.django_db
def test_each_database_has_its_own_record_of_attempts(pool):
    wrapper = pool.wrapper()
    wrapper.ensure_connection()
    wrapper.close()
    ours = wrapper.pool.connection_class
    assert not ours.reachability.out()
    assert ours is not connection.pool.connection_class
