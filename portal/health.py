"""Health and readiness for the proxy and an orchestrator, and the page of a database outage.

- `/healthz`: the process is alive and answers; no dependency is asked.
- `/readyz`: the database, the channel layer (Redis) and the document storage each answer
  within READINESS_TIMEOUT_SECONDS; JSON with "ok"/"fail" per check, 503 when any fails.

Both are answered by `HealthCheckMiddleware`, first in MIDDLEWARE: before the HTTPS redirect,
the host check, sessions, authentication, MFA and the idle timeout, so a probe needs no cookie,
is not audited and is not rate-limited, and reading no session it keeps answering while the
database is out. They say nothing but the names of the checks: no versions, hosts or errors.

`server_error` (handler500) turns a database that cannot be reached (OperationalError,
InterfaceError, the pool's timeout) into a short 503 page with Retry-After instead of a raw 500.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, wait

from django.conf import settings
from django.db import InterfaceError, OperationalError, connections
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template.loader import get_template
from django.utils.cache import add_never_cache_headers
from django.views import defaults

logger = logging.getLogger(__name__)

HEALTH_PATH = "/healthz"
READY_PATH = "/readyz"
# What a client should wait before retrying while the database is out (seconds).
RETRY_AFTER_SECONDS = 5

# Checks run side by side on a few long-lived threads (each keeps its own S3 client and
# database connection between probes); a check still running at the deadline is a "fail".
_executor = ThreadPoolExecutor(max_workers=3, thread_name_prefix="readyz")


# Checks ---------------------------------------------------------------------------------------


def check_database() -> None:
    """One trivial query on the default database (through the pool when there is one)."""
    connection = connections["default"]
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    finally:
        # Back to the pool (or closed): a probe must not hold a connection between calls.
        connection.close()


def check_channel_layer() -> None:
    """Redis answers a PING (the channel layer and the cache share it); in-memory: nothing."""
    if not settings.REDIS_URL:
        return
    import redis

    timeout = settings.READINESS_TIMEOUT_SECONDS
    client = redis.Redis.from_url(
        settings.REDIS_URL, socket_connect_timeout=timeout, socket_timeout=timeout
    )
    try:
        client.ping()
    finally:
        client.close()


def check_storage() -> None:
    """The document store is reachable: S3 answers for the bucket, or the folder is writable."""
    from django.core.files.storage import default_storage

    bucket = getattr(default_storage, "bucket_name", None)
    if bucket:
        default_storage.connection.meta.client.head_bucket(Bucket=bucket)  # type: ignore[attr-defined]  # S3Storage (bucket_name is set)
        return
    location = getattr(default_storage, "location", "")
    os.makedirs(location, exist_ok=True)  # as the first save would
    if not os.access(location, os.W_OK):
        raise OSError("document folder missing or not writable")


CHECKS: dict[str, Callable[[], None]] = {
    "database": check_database,
    "channel_layer": check_channel_layer,
    "storage": check_storage,
}


def readiness() -> dict[str, str]:
    """ "ok" or "fail" for each check, all run at once within READINESS_TIMEOUT_SECONDS."""
    futures = {name: _executor.submit(check) for name, check in CHECKS.items()}
    wait(futures.values(), timeout=settings.READINESS_TIMEOUT_SECONDS)
    results = {}
    for name, future in futures.items():
        if not future.done():
            results[name] = "fail"
            logger.warning("Readiness: %s did not answer in time", name)
        elif error := future.exception():
            results[name] = "fail"
            # The exception's class only: messages may carry hosts or connection strings.
            logger.warning("Readiness: %s failed (%s)", name, type(error).__name__)
        else:
            results[name] = "ok"
    return results


# Answers --------------------------------------------------------------------------------------


def healthz(request: HttpRequest) -> HttpResponse:
    return JsonResponse({"status": "ok"})


def readyz(request: HttpRequest) -> HttpResponse:
    checks = readiness()
    ready = all(value == "ok" for value in checks.values())
    response = JsonResponse(
        {"status": "ok" if ready else "fail", "checks": checks}, status=200 if ready else 503
    )
    if not ready:
        response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


class HealthCheckMiddleware:
    """Answer the probes before any other middleware runs (see the module docstring)."""

    VIEWS: dict[str, Callable[[HttpRequest], HttpResponse]] = {
        HEALTH_PATH: healthz,
        READY_PATH: readyz,
    }

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        view = self.VIEWS.get(request.path_info.rstrip("/") or "/")
        if view is None:
            return self.get_response(request)
        if request.method not in {"GET", "HEAD"}:
            return HttpResponse(status=405, headers={"Allow": "GET, HEAD"})
        response = view(request)
        add_never_cache_headers(response)
        # The headers every answer carries (the middlewares that add them do not run here).
        response["X-Content-Type-Options"] = "nosniff"
        response["Referrer-Policy"] = "same-origin"
        response["X-Frame-Options"] = "DENY"
        response["Content-Security-Policy"] = "default-src 'self'; frame-ancestors 'none'"
        return response


# The database is out --------------------------------------------------------------------------

UNAVAILABLE_TEXT = (
    "The portal is briefly unavailable. Nothing you sent was lost; try again in a few seconds."
)


def is_database_outage(error: BaseException | None) -> bool:
    """Is this the database not answering (down, restarting, pool exhausted by an outage)?"""
    if isinstance(error, OperationalError | InterfaceError):
        return True
    # psycopg's own errors, when raised outside Django's wrapper (the pool's PoolTimeout).
    try:
        import psycopg
    except ImportError:  # pragma: no cover - SQLite-only installs
        return False
    return isinstance(error, psycopg.OperationalError | psycopg.InterfaceError)


def service_unavailable(request: HttpRequest) -> HttpResponse:
    """A 503 with Retry-After; the page is rendered without the request's context (its context
    processors would read the session and the user from the database that is out)."""
    if request.headers.get("HX-Request"):
        response = HttpResponse(UNAVAILABLE_TEXT, content_type="text/plain; charset=utf-8")
    else:
        html = get_template("503.html").render(
            {"PRODUCT_NAME": settings.PRODUCT_NAME, "message": UNAVAILABLE_TEXT}
        )
        response = HttpResponse(html)
    response.status_code = 503
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    add_never_cache_headers(response)
    return response


def server_error(request: HttpRequest, template_name: str = "500.html") -> HttpResponse:
    """handler500: a 503 page while the database is out, Django's 500 page otherwise."""
    if is_database_outage(sys.exc_info()[1]):
        return service_unavailable(request)
    return defaults.server_error(request, template_name)


def tune_pool_reconnect() -> None:
    """Retry a lost database every DB_POOL_RECONNECT_SECONDS, without psycopg_pool's back-off.

    The pool retries a failed connection after 1 s, then 2, 4, 8 … (process-wide class
    attributes; the pool offers no option): after a 30 s outage pages went on failing for up to
    16 s more. A fixed short delay costs a refused connect a few times a second while the
    server is out, and gives the connections back within a second of its return.
    """
    try:
        from psycopg_pool.base import AttemptWithBackoff
    except ImportError:  # pragma: no cover - SQLite-only installs
        return
    AttemptWithBackoff.INITIAL_DELAY = settings.DB_POOL_RECONNECT_SECONDS
    AttemptWithBackoff.DELAY_BACKOFF = 1.0
