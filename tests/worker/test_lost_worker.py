"""A worker killed (-9) mid-task: another worker picks the task up within a minute and the
email goes out once. Real `manage.py db_worker` processes on a file SQLite database."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings

from .fakes import smtp_server

BASE_DIR = Path(settings.BASE_DIR)


def manage(*args: str, env: dict[str, str], **kwargs) -> subprocess.Popen:
    base = {k: v for k, v in os.environ.items() if k != "DJANGO_ALLOW_ASYNC_UNSAFE"}
    return subprocess.Popen(
        [sys.executable, "manage.py", *args],
        cwd=BASE_DIR,
        env={**base, **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        **kwargs,
    )


def run(*args: str, env: dict[str, str]) -> str:
    proc = manage(*args, env=env)
    out, _ = proc.communicate(timeout=180)
    assert proc.returncode == 0, out
    return out


def tasks(db: Path) -> list[tuple[str, list[str]]]:
    with sqlite3.connect(db, timeout=30) as conn:
        rows = conn.execute("SELECT status, worker_ids FROM django_tasks_database_dbtaskresult")
        return [(status, json.loads(ids)) for status, ids in rows]


def wait_for(condition, timeout: float, what: str) -> float:
    start = time.monotonic()
    while not condition():
        if time.monotonic() - start > timeout:
            pytest.fail(f"Timed out after {timeout} s waiting for {what}")
        time.sleep(0.2)
    return time.monotonic() - start


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def test_a_task_of_a_killed_worker_is_sent_once_by_another_within_a_minute(tmp_path):
    db = tmp_path / "queue.sqlite3"
    with smtp_server(hang_next=1) as server:
        env = {
            "DATABASE_URL": f"sqlite:///{db}",
            "TASKS_BACKEND": "django_tasks_db.DatabaseBackend",
            "EMAIL_HOST": "127.0.0.1",
            "EMAIL_PORT": str(server.port),
            "EMAIL_USE_TLS": "false",
            "EMAIL_TIMEOUT_SECONDS": "60",  # the first worker stays stuck until killed
            "TASK_HEARTBEAT_SECONDS": "1",
            "TASK_WORKER_LOST_SECONDS": "3",
        }
        run("migrate", "--no-input", env=env)
        run(
            "shell",
            "-c",
            "from accounts.services import queue_portal_email as q; "
            "q(to='pat@example.com', subject='Hi', template='accounts/email/registered.txt', "
            "context={'name': 'Pat'})",
            env=env,
        )
        assert tasks(db) == [("READY", [])]
        worker_args = ("db_worker", "--no-reload", "--no-startup-delay", "--interval", "0.2")
        first = manage(*worker_args, "--worker-id", "first", env=env)
        second = None
        try:
            wait_for(lambda: server.connections >= 1, 60, "the first worker to connect")
            assert tasks(db) == [("RUNNING", ["first"])]
            first.send_signal(signal.SIGKILL)
            first.wait(timeout=10)
            assert server.recipients() == []
            killed_at = time.monotonic()
            second = manage(*worker_args, "--worker-id", "second", env=env)
            wait_for(lambda: server.recipients(), 60, "the second worker to send the email")
            assert time.monotonic() - killed_at < 60
            wait_for(lambda: tasks(db)[0][0] == "SUCCESSFUL", 30, "the task to succeed")
            time.sleep(2)  # nothing else goes out
            assert server.recipients() == ["pat@example.com"]
            assert tasks(db) == [("SUCCESSFUL", ["first", "second"])]
        finally:
            first.kill()
            if second is not None:
                stop(second)
