"""A chat message to many readers is one email each, sent over ONE connection to the mail
server; a connection that fails is dropped, the others still get theirs, and the failed one is
retried and sent once."""

from __future__ import annotations

import time

import pytest
from django.utils import timezone

from accounts.models import User
from notifications.models import Activity, Notification
from notifications.tasks import send_notification_emails
from tests.conftest import make_user

from .conftest import work
from .fakes import smtp_server

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def smtp(queue):
    queue.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    queue.EMAIL_HOST = "127.0.0.1"
    queue.EMAIL_USE_TLS = False
    queue.EMAIL_HOST_USER = ""
    queue.EMAIL_HOST_PASSWORD = ""
    queue.EMAIL_TIMEOUT = 1
    queue.TASK_RETRY_BACKOFF = 1
    return queue


def pending_for(n: int) -> list[int]:
    rows = []
    for i in range(n):
        user = make_user(f"reader.{i}@example.com", User.Role.PHARMACIST)
        rows.append(
            Notification.objects.create(
                recipient=user, activity=Activity.NEW_MESSAGE, email_pending=True
            ).pk
        )
    return rows


def test_every_reader_gets_one_email_over_one_connection(smtp):
    ids = pending_for(5)
    with smtp_server() as server:
        smtp.EMAIL_PORT = server.port
        send_notification_emails.enqueue(ids)
        work()
        assert sorted(server.recipients()) == [f"reader.{i}@example.com" for i in range(5)]
        assert server.connections == 1
    assert not Notification.objects.filter(email_pending=True).exists()


def test_a_connection_that_hangs_is_dropped_and_the_rest_still_go_out(smtp):
    ids = pending_for(3)
    with smtp_server(hang_next=1) as server:
        smtp.EMAIL_PORT = server.port
        send_notification_emails.enqueue(ids)
        work()
        # The first send timed out on the hung connection; a new one served the other two.
        assert len(server.recipients()) == 2
        assert server.connections == 2
        # The claim of the one that failed was rolled back: retried, not lost.
        (waiting,) = Notification.objects.filter(email_pending=True)
        assert waiting.recipient.email not in server.recipients()
        # The retry (after its back-off) sends only what is still pending, once.
        time.sleep(1.5)
        work()
        assert sorted(server.recipients()) == [f"reader.{i}@example.com" for i in range(3)]
    assert not Notification.objects.filter(email_pending=True).exists()
    assert Notification.objects.filter(emailed_at__lte=timezone.now()).count() == 3
