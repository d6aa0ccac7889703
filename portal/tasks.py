"""Shared plumbing of the background tasks: which failures are worth another attempt.

Tasks run through Django's tasks API: inline in development and tests, a database queue worked
by `manage.py db_worker` (portal's worker, `portal/worker.py`) in production. A task that raises
a *transient* error (a provider timed out, refused the connection, or answered "try later") is
run again after a backoff, up to settings.TASK_MAX_ATTEMPTS attempts; any other error fails the
task at once (a bug does not get better by repeating it). Deliveries are idempotent (each checks
its own "sent" marker in the transaction that sends), so a retry never sends twice what went out.
"""

from __future__ import annotations

import contextlib
import smtplib
import socket
import urllib.error
from collections.abc import Iterator

from django.conf import settings
from django.db import IntegrityError, transaction


class RetryLater(Exception):
    """Part of a task failed for a passing reason; the worker runs the task again later.

    Raised by a task after it has done all it could (the other recipients of a batch were
    served), so one unreachable address never holds up the rest.
    """


class TaskTimeLimitExceeded(Exception):
    """The worker interrupted a task attempt that ran past settings.TASK_TIME_LIMIT."""


def is_transient(exc: BaseException) -> bool:
    """True when trying the same work again later may succeed."""
    if isinstance(exc, RetryLater | TaskTimeLimitExceeded):
        return True
    if getattr(exc, "transient", False):  # invites.sms.SMSError(transient=True)
        return True
    # SMTP answers: 4xx means "try again later", 5xx is final (a refused recipient, say).
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return all(400 <= code < 500 for code, _ in exc.recipients.values())
    if isinstance(exc, smtplib.SMTPResponseException):
        return 400 <= exc.smtp_code < 500
    if isinstance(exc, smtplib.SMTPServerDisconnected | smtplib.SMTPConnectError):
        return True
    if isinstance(exc, smtplib.SMTPException):
        return False
    if isinstance(exc, urllib.error.HTTPError):
        return exc.code == 429 or exc.code >= 500
    # Timeouts, refused or reset connections, name resolution: all OSErrors.
    return isinstance(exc, TimeoutError | socket.timeout | ConnectionError | OSError)


def retry_delay(attempt: int) -> float:
    """Seconds to wait after failed attempt number `attempt` (1-based): doubling, capped at
    ten minutes, so a provider that is down for a while is not hammered."""
    return float(min(settings.TASK_RETRY_BACKOFF * 2 ** max(attempt - 1, 0), 600))


@contextlib.contextmanager
def once(key: str) -> Iterator[bool]:
    """Yield True if the delivery named `key` has not happened yet, inside a transaction that
    records it; the record commits only if the block finishes without an error.

    So a task run again (a retry, or recovered from a lost worker) skips what went out, and an
    attempt that failed or died mid-way leaves no record and is done again. Two workers at the
    same key: on PostgreSQL the second waits on the unique index until the first commits (then
    skips) or rolls back (then sends).
    """
    from .models import DeliveryMarker  # noqa: PLC0415 (apps load this module early)

    with transaction.atomic():
        try:
            with transaction.atomic():
                DeliveryMarker.objects.create(key=key[:200])
        except IntegrityError:
            yield False
            return
        yield True
