"""A provider that never answers: the attempt times out, is retried with backoff (a bounded
number of times), and the tasks queued behind it go out meanwhile."""

from __future__ import annotations

import time

import pytest
from django.utils import timezone
from django_tasks import task
from django_tasks_db.models import DBTaskResult

from accounts.services import queue_portal_email
from portal.tasks import RetryLater, is_transient, retry_delay

from .conftest import work
from .fakes import smtp_server

pytestmark = pytest.mark.django_db(transaction=True)


@task()
def broken_task() -> None:
    raise ValueError("a bug, not a passing failure")


@task()
def slow_task(seconds: float) -> None:
    time.sleep(seconds)


@pytest.fixture
def smtp(queue):
    queue.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    queue.EMAIL_HOST = "127.0.0.1"
    queue.EMAIL_USE_TLS = False
    queue.EMAIL_HOST_USER = ""
    queue.EMAIL_HOST_PASSWORD = ""
    queue.EMAIL_TIMEOUT = 1
    return queue


def email(to: str) -> None:
    queue_portal_email(
        to=to,
        subject="Welcome",
        template="accounts/email/registered.txt",
        context={"name": "Someone"},
    )


def test_a_hung_smtp_server_times_out_is_retried_and_the_queue_moves(smtp):
    smtp.TASK_RETRY_BACKOFF = 1
    with smtp_server(hang_next=1) as server:
        smtp.EMAIL_PORT = server.port
        email("first@example.com")
        email("second@example.com")
        first, second = DBTaskResult.objects.order_by("enqueued_at")
        start = time.monotonic()
        work()
        assert time.monotonic() - start < 10
        # The first attempt timed out; the task behind it was sent meanwhile.
        assert server.recipients() == ["second@example.com"]
        first.refresh_from_db()
        assert first.status == "READY" and len(first.worker_ids) == 1
        assert first.run_after > timezone.now()  # backoff
        assert "timed out" in first.traceback
        # After the backoff, the retry sends it, once.
        time.sleep(max((first.run_after - timezone.now()).total_seconds(), 0) + 0.1)
        work()
        assert server.recipients() == ["second@example.com", "first@example.com"]
        first.refresh_from_db()
        assert first.status == "SUCCESSFUL" and len(first.worker_ids) == 2


def test_it_gives_up_after_the_last_attempt(smtp):
    smtp.TASK_MAX_ATTEMPTS = 3
    with smtp_server(hang_next=10) as server:
        smtp.EMAIL_PORT = server.port
        email("never@example.com")
        work()
        [result] = DBTaskResult.objects.all()
        assert result.status == "FAILED"
        assert len(result.worker_ids) == 3
        assert server.connections == 3


def test_a_bug_fails_at_once(queue):
    broken_task.enqueue()
    work()
    [result] = DBTaskResult.objects.all()
    assert result.status == "FAILED" and len(result.worker_ids) == 1
    assert "ValueError" in result.exception_class_path


def test_an_attempt_past_the_time_limit_is_interrupted_and_retried(queue):
    queue.TASK_TIME_LIMIT = 1
    queue.TASK_MAX_ATTEMPTS = 2
    slow_task.enqueue(30)
    start = time.monotonic()
    work()
    assert time.monotonic() - start < 10
    [result] = DBTaskResult.objects.all()
    assert result.status == "FAILED" and len(result.worker_ids) == 2
    assert "TaskTimeLimitExceeded" in result.exception_class_path


def test_backoff_doubles_and_is_capped(settings):
    settings.TASK_RETRY_BACKOFF = 15
    assert [retry_delay(n) for n in (1, 2, 3, 4)] == [15, 30, 60, 120]
    assert retry_delay(20) == 600


def test_what_counts_as_transient():
    import smtplib
    import urllib.error

    assert is_transient(TimeoutError("timed out"))
    assert is_transient(ConnectionRefusedError())
    assert is_transient(RetryLater())
    assert is_transient(smtplib.SMTPServerDisconnected())
    assert is_transient(smtplib.SMTPResponseException(421, b"busy"))
    assert not is_transient(smtplib.SMTPResponseException(550, b"no such user"))
    assert not is_transient(smtplib.SMTPRecipientsRefused({"a@example.com": (550, b"no")}))
    assert is_transient(urllib.error.HTTPError("u", 503, "down", {}, None))
    assert not is_transient(urllib.error.HTTPError("u", 400, "bad", {}, None))
    assert not is_transient(ValueError())
