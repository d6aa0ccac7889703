"""The task worker: django_tasks_db's, plus what it lacks to lose nothing and stall nothing.

django_tasks_db (0.13) claims a task by marking it RUNNING with the worker's id, and nothing ever
looks at it again: a worker killed mid-task leaves it RUNNING for good, a provider that never
answers holds the worker for good, and a failed task stays failed. `PortalWorker` adds:

- **Heartbeats.** A thread touches the worker's `WorkerHeartbeat` row every TASK_HEARTBEAT
  seconds and, on the same beat, queues again every RUNNING task whose worker has not beaten for
  TASK_WORKER_LOST seconds (`requeue_lost_tasks`; also a management command). Any live worker
  recovers a dead one's tasks within TASK_WORKER_LOST + TASK_HEARTBEAT seconds.
- **A time limit per attempt** (TASK_TIME_LIMIT): SIGALRM interrupts the task, which counts as
  a transient failure. If even that cannot interrupt it (stuck outside Python), the heartbeat
  thread stops the process, the supervisor restarts it and the task is recovered as above.
- **Retries.** A transient failure (`portal.tasks.is_transient`) puts the task back in the queue
  after a doubling backoff, up to TASK_MAX_ATTEMPTS attempts (claims, lost ones included);
  other errors fail it at once.

Tasks may therefore run more than once: every delivery checks its own "sent" marker, in the
transaction that sends, before sending.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import os
import signal
import socket
import threading
import time
from collections.abc import Iterator
from traceback import format_exception
from types import FrameType
from typing import Any

from django.conf import settings
from django.db import connection
from django.utils import timezone
from django_tasks_db.compat import TaskContext, TaskResultStatus, task_finished, task_started
from django_tasks_db.management.commands.db_worker import Worker
from django_tasks_db.models import DBTaskResult

from .models import WorkerHeartbeat
from .tasks import TaskTimeLimitExceeded, is_transient, retry_delay

logger = logging.getLogger("portal.worker")


def beat(worker_id: str, *, started_at: dt.datetime | None = None) -> None:
    """Record that this worker is alive now."""
    now = timezone.now()
    updated = WorkerHeartbeat.objects.filter(worker_id=worker_id).update(beat_at=now)
    if not updated:
        WorkerHeartbeat.objects.update_or_create(
            worker_id=worker_id,
            defaults={
                "beat_at": now,
                "started_at": started_at or now,
                "host": socket.gethostname()[:255],
                "pid": os.getpid(),
            },
        )


def requeue_lost_tasks(*, lost_after: float | None = None) -> int:
    """Queue again the RUNNING tasks whose worker stopped beating; returns how many.

    Safe to run in any number of processes at once: each task is moved by one conditional
    UPDATE that matches only while it is still RUNNING under the same claim (same started_at),
    so a task claimed afresh meanwhile is left alone. A task whose worker was lost as many
    times as it may be attempted is failed instead (a task that kills its worker every time).
    """
    lost_after = settings.TASK_WORKER_LOST if lost_after is None else lost_after
    now = timezone.now()
    cutoff = now - dt.timedelta(seconds=lost_after)
    running = list(DBTaskResult.objects.running().values_list("pk", "worker_ids", "started_at"))
    if not running:
        return 0
    alive = set(
        WorkerHeartbeat.objects.filter(beat_at__gte=cutoff).values_list("worker_id", flat=True)
    )
    known = set(
        WorkerHeartbeat.objects.filter(
            worker_id__in=[ids[-1] for _, ids, _ in running if ids]
        ).values_list("worker_id", flat=True)
    )
    requeued = 0
    for pk, worker_ids, started_at in running:
        worker_id = worker_ids[-1] if worker_ids else ""
        if worker_id in alive:
            continue
        # A worker without any heartbeat row (a plain django_tasks_db worker): judge by age.
        if worker_id not in known and started_at and started_at > cutoff:
            continue
        claim = DBTaskResult.objects.filter(
            pk=pk, status=TaskResultStatus.RUNNING, started_at=started_at
        )
        reason = f"Worker {worker_id or '?'} stopped beating; the task was queued again."
        if len(worker_ids) >= settings.TASK_MAX_ATTEMPTS:
            moved = claim.update(
                status=TaskResultStatus.FAILED,
                finished_at=now,
                exception_class_path="portal.worker.WorkerLost",
                traceback=f"Worker lost {len(worker_ids)} times; not tried again.",
            )
            if moved:
                logger.error("Task %s failed: its worker was lost on every attempt", pk)
            continue
        moved = claim.update(
            status=TaskResultStatus.READY,
            run_after=now,
            exception_class_path="portal.worker.WorkerLost",
            traceback=reason,
        )
        if moved:
            requeued += 1
            logger.warning("Task %s queued again: worker %s was lost", pk, worker_id)
    # Rows of workers gone for a day are of no more use.
    WorkerHeartbeat.objects.filter(beat_at__lt=now - dt.timedelta(days=1)).delete()
    return requeued


@contextlib.contextmanager
def time_limit(seconds: float) -> Iterator[None]:
    """Interrupt the block after `seconds` (main thread only: elsewhere, the heartbeat
    thread's stall check is the only backstop)."""
    if seconds <= 0 or threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(signum: int, frame: FrameType | None) -> None:
        raise TaskTimeLimitExceeded(f"Task attempt ran past {seconds:g} s")

    previous = signal.signal(signal.SIGALRM, interrupt)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


class PortalWorker(Worker):
    """django_tasks_db's worker with heartbeats, lost-task recovery, time limits and retries."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.started = timezone.now()
        self.task_started: float | None = None  # time.monotonic() of the current attempt
        self._stop = threading.Event()
        self._beater: threading.Thread | None = None

    # Heartbeats ------------------------------------------------------------------------------

    def _beat_loop(self) -> None:
        try:
            while not self._stop.wait(settings.TASK_HEARTBEAT):
                started = self.task_started
                stalled_after = settings.TASK_TIME_LIMIT + settings.TASK_WORKER_LOST
                if started is not None and time.monotonic() - started > stalled_after:
                    # The time limit did not interrupt the task: stop beating and end the
                    # process, so the supervisor starts a fresh one and the task is recovered.
                    logger.error(
                        "Worker %s stuck in a task for over %s s; exiting",
                        self.worker_id,
                        stalled_after,
                    )
                    os._exit(70)
                try:
                    beat(self.worker_id, started_at=self.started)
                    requeue_lost_tasks()
                except Exception:
                    logger.exception("Heartbeat of worker %s failed", self.worker_id)
                finally:
                    connection.close()  # this thread's own connection
        finally:
            connection.close()

    def run(self) -> None:
        beat(self.worker_id, started_at=self.started)
        requeue_lost_tasks()
        self._beater = threading.Thread(
            target=self._beat_loop, name=f"heartbeat-{self.worker_id}", daemon=True
        )
        self._beater.start()
        try:
            super().run()
        finally:
            self._stop.set()
            # A worker that stops cleanly has no task left running: its row can go now.
            with contextlib.suppress(Exception):
                WorkerHeartbeat.objects.filter(worker_id=self.worker_id).delete()

    # Running one task ------------------------------------------------------------------------

    def run_task(self, db_task_result: DBTaskResult) -> None:
        """Run one attempt: success, a retry after a backoff, or a final failure."""
        attempt = len(db_task_result.worker_ids)
        try:
            self.running_task = True
            self.task_started = time.monotonic()
            task = db_task_result.task
            task_result = db_task_result.task_result
            backend_type = task.get_backend()
            task_started.send(sender=backend_type, task_result=task_result)
            with time_limit(settings.TASK_TIME_LIMIT):
                if task.takes_context:
                    return_value = task.call(
                        TaskContext(task_result=task_result),
                        *task_result.args,
                        **task_result.kwargs,
                    )
                else:
                    return_value = task.call(*task_result.args, **task_result.kwargs)
            db_task_result.set_successful(return_value)
            task_finished.send(sender=backend_type, task_result=db_task_result.task_result)
        except (KeyboardInterrupt, SystemExit):
            # Forced to stop mid-task: the task did not fail, so it goes back as it was.
            self._requeue(db_task_result, delay=0, error=None)
            raise
        except BaseException as exc:
            if is_transient(exc) and attempt < settings.TASK_MAX_ATTEMPTS:
                delay = retry_delay(attempt)
                logger.warning(
                    "Task %s attempt %s failed (%s: %s); retrying in %s s",
                    db_task_result.pk,
                    attempt,
                    type(exc).__name__,
                    exc,
                    delay,
                )
                self._requeue(db_task_result, delay=delay, error=exc)
                return
            logger.error(
                "Task %s failed on attempt %s: %s", db_task_result.pk, attempt, type(exc).__name__
            )
            db_task_result.set_failed(exc)
            with contextlib.suppress(Exception):
                task_finished.send(
                    sender=type(db_task_result.task.get_backend()),
                    task_result=db_task_result.task_result,
                )
        finally:
            self.running_task = False
            self.task_started = None
            self._run_tasks += 1

    def _requeue(
        self, db_task_result: DBTaskResult, *, delay: float, error: BaseException | None
    ) -> None:
        fields: dict[str, Any] = {
            "status": TaskResultStatus.READY,
            "run_after": timezone.now() + dt.timedelta(seconds=delay),
        }
        if error is not None:
            fields["exception_class_path"] = f"{type(error).__module__}.{type(error).__qualname__}"
            fields["traceback"] = "".join(format_exception(error))
        DBTaskResult.objects.filter(
            pk=db_task_result.pk,
            status=TaskResultStatus.RUNNING,
            started_at=db_task_result.started_at,
        ).update(**fields)
