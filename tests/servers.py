"""Real ASGI server processes (daphne, uvicorn) on the test database, for multi-process tests."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

from django.conf import settings
from django.db import connection

BASE_DIR = Path(settings.BASE_DIR)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def database_url_for_tests() -> str:
    db = connection.settings_dict
    if db["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{db['NAME']}"
    user = db.get("USER") or ""
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    auth = f"{user}{password}@" if user else ""
    return f"postgres://{auth}{db.get('HOST') or '127.0.0.1'}:{db.get('PORT') or 5432}/{db['NAME']}"


def start_asgi(
    kind: str, port: int, env: dict[str, str], *, access_log: bool = False
) -> subprocess.Popen:
    """Start `daphne` or `uvicorn` serving portal.asgi on 127.0.0.1:port; wait until it listens.

    uvicorn gets the same websocket frame cap as in docker-compose.yml; `access_log` keeps its
    request lines (at INFO) in the server's log file.
    """
    command = {
        "daphne": [
            "-m",
            "daphne",
            "-b",
            "127.0.0.1",
            "-p",
            str(port),
            "--websocket-max-message-size",
            "65536",
            "portal.asgi:application",
        ],
        "uvicorn": [
            "-m",
            "uvicorn",
            "portal.asgi:application",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--ws-max-size",
            "65536",
            *(
                ["--log-level", "info"]
                if access_log
                else ["--no-access-log", "--log-level", "warning"]
            ),
        ],
    }[kind]
    (BASE_DIR / "artifacts").mkdir(exist_ok=True)
    log = open(BASE_DIR / "artifacts" / f"server-{kind}-{port}.log", "w")  # noqa: SIM115
    full_env = {
        **os.environ,
        "DEBUG": "true",
        "DJANGO_SETTINGS_MODULE": "portal.settings",
        "AXES_FAILURE_LIMIT": "1000",
        **env,
    }
    proc = subprocess.Popen(
        [sys.executable, *command], cwd=BASE_DIR, env=full_env, stdout=log, stderr=subprocess.STDOUT
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{kind} exited early; see artifacts/server-{kind}-{port}.log")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return proc
        except OSError:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError(f"{kind} did not start within 30 s")


def stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
