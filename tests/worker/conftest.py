"""The database task queue, worked in this process by portal's worker (or by subprocesses)."""

from __future__ import annotations

import uuid

import pytest
from django.core import mail

from invites import sms
from portal.worker import PortalWorker
from tests.invites.conftest import clinics  # noqa: F401 (a fixture)

DATABASE_QUEUE = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}


@pytest.fixture
def queue(settings):
    """Tasks go to the database queue instead of running inline; mail and SMS in memory."""
    settings.TASKS = DATABASE_QUEUE
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.SMS_BACKEND = "invites.sms.LocmemSMSBackend"
    settings.SITE_URL = "https://portal.example.test"
    settings.TASK_HEARTBEAT = 3600  # no heartbeat thread activity inside a test
    settings.TASK_RETRY_BACKOFF = 0
    mail.outbox = []
    sms.outbox.clear()
    yield settings
    sms.outbox.clear()


def work(worker_id: str | None = None) -> PortalWorker:
    """Run every task that is due, then return (a worker in batch mode)."""
    worker = PortalWorker(
        queue_names=["default"],
        interval=0,
        batch=True,
        backend_name="default",
        startup_delay=False,
        max_tasks=None,
        worker_id=worker_id or uuid.uuid4().hex,
        excluded_queue_names=[],
    )
    worker.run()
    return worker
