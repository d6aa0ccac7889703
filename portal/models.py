"""Plumbing tables: worker heartbeats (lost tasks are queued again) and idempotency keys."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class WorkerHeartbeat(models.Model):
    """One row per live task worker, touched every settings.TASK_HEARTBEAT seconds.

    A RUNNING task whose worker's row is older than settings.TASK_WORKER_LOST seconds (killed,
    out of memory, host gone) is queued again by any other worker (`portal.worker`).
    """

    worker_id = models.CharField(max_length=64, primary_key=True)
    beat_at = models.DateTimeField()
    started_at = models.DateTimeField()
    host = models.CharField(max_length=255, blank=True)
    pid = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.worker_id} on {self.host}:{self.pid}"


class IdempotencyKey(models.Model):
    """The first answer to a create POST, so that the same POST sent again (a double click, a
    retry after a failover) creates nothing more and gets the same answer (`portal.idempotency`).
    Written in the same transaction as what the POST created."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=150)  # "<view name>:<key from the form>"
    # What the first POST answered: a redirect target, or a rendered page.
    status = models.PositiveSmallIntegerField()
    location = models.CharField(max_length=2000, blank=True)
    body = models.TextField(blank=True)
    content_type = models.CharField(max_length=100, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "key"], name="portal_idempotency_user_key")
        ]
        indexes = [models.Index(fields=["created_at"])]

    def __str__(self) -> str:
        return f"{self.user_id}:{self.key}"


class DeliveryMarker(models.Model):
    """A delivery that went out (an email of a task attempt, a notification fan-out): written
    in the transaction that sends, so a task run again after a lost worker or a retry finds it
    and sends nothing twice (`portal.tasks.once`)."""

    key = models.CharField(max_length=200, unique=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    def __str__(self) -> str:
        return self.key
