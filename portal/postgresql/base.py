"""Django's PostgreSQL backend, told apart: a busy pool from a database that is out.

With psycopg's pool a request that finds every connection of its process in use waits for one
(`DB_POOL_TIMEOUT_SECONDS`) and then fails; the failure is answered as the database-outage page
(a 503 with Retry-After, `portal.health`). For an outage that is right and should be quick. For
a burst of work it is not: the database answers, the connections are merely busy, and a page a
few seconds late is better than an error. So a request waits in slices of the pool's timeout:

- after a slice, if the pool's latest attempt to open a connection failed (and none has
  succeeded since), the database is out: the `PoolTimeout` goes up, the page is the 503, as
  quickly as before;
- otherwise the database answers and the pool is only busy: the request waits another slice,
  up to `DB_POOL_QUEUE_SECONDS` in all, and only then fails the same way (a bounded line, not a
  pile-up without end).

The pool tries to reconnect a lost server every `DB_POOL_RECONNECT_SECONDS`
(`portal.health.tune_pool_reconnect`), so during an outage every slice sees a fresh failure.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import psycopg
from django.conf import settings
from django.db.backends.postgresql import base

try:
    from psycopg_pool import PoolTimeout
except ImportError:  # pragma: no cover - installs without the pool

    class PoolTimeout(psycopg.OperationalError):  # type: ignore[no-redef]
        """Never raised: there is no pool."""


class Reachability:
    """The outcome of the process's latest attempts to open a database connection."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.last_failure = 0.0
        self.last_success = 0.0

    def failed(self) -> None:
        with self._lock:
            self.last_failure = time.monotonic()

    def succeeded(self) -> None:
        with self._lock:
            self.last_success = time.monotonic()

    def out(self) -> bool:
        """Did the latest attempt fail, with no success since?"""
        with self._lock:
            return self.last_failure > self.last_success


class TrackedConnection(psycopg.Connection[Any]):
    """psycopg's connection, reporting each attempt its pool makes to open one.

    Each database's pool gets a subclass of its own (`tracked_connection_class`), so each
    database has its own `reachability`."""

    reachability = Reachability()

    @classmethod
    def connect(cls, *args: Any, **kwargs: Any) -> Any:
        try:
            conn = super().connect(*args, **kwargs)
        except psycopg.Error:
            cls.reachability.failed()
            raise
        cls.reachability.succeeded()
        return conn


def tracked_connection_class() -> type[TrackedConnection]:
    return type("TrackedConnection", (TrackedConnection,), {"reachability": Reachability()})


class DatabaseWrapper(base.DatabaseWrapper):
    def __init__(self, settings_dict: dict[str, Any], *args: Any, **kwargs: Any) -> None:
        # Django makes a wrapper per thread and one pool per database (alias), from these
        # options: the first wrapper puts the connection class in, the others find it there.
        options = settings_dict.get("OPTIONS") or {}
        if options.get("pool") is True:
            options["pool"] = {}
        pool_options = options.get("pool")
        if isinstance(pool_options, dict) and "connection_class" not in pool_options:
            pool_options["connection_class"] = tracked_connection_class()
        super().__init__(settings_dict, *args, **kwargs)

    def get_new_connection(self, conn_params: dict[str, Any]) -> Any:
        pool = self.pool
        if pool is None:
            return super().get_new_connection(conn_params)
        reachability = getattr(pool.connection_class, "reachability", None)
        deadline = time.monotonic() + settings.DB_POOL_QUEUE_SECONDS
        while True:
            try:
                return super().get_new_connection(conn_params)
            except PoolTimeout:
                out = reachability is None or reachability.out()
                if out or time.monotonic() >= deadline:
                    raise
