"""Benchmark: memory of one web process holding N idle websocket clients (default 1,000).

Method. A fresh database (a temporary SQLite file, or --database-url postgres://…) is migrated
and given the cast of bench/chat.py: a prescriber, a pharmacist in a care group, one
prescription and one request, and N distinct signed-in, OTP-verified sessions (alternately the
two users). ONE uvicorn process serves portal.asgi as in production (uvloop, httptools, no
per-message deflate, DEBUG=false, the Redis pub/sub channel layer under a prefix of its own).
It is warmed up (a few GETs of the request page, ten websockets opened and closed); after 2 s its
idle RSS is the median of a few VmRSS samples from /proc/<pid>/status. Then N clients open the
chat socket of the request (ws/requests/<pk>/: each is authenticated, access-checked and joins
the request's channel-layer group), 50 at a time; they stay idle for a few seconds and RSS is
sampled again (median of samples a second apart). kB per connection =
(RSS with the sockets − idle RSS) / sockets open. Every socket is then pinged to check it is
still open; refused and dropped sockets are counted. --socket notifications measures the
per-user notification socket instead (a portal page holds both).

    .venv/bin/python bench/ws_memory.py [--clients 1000] [--socket chat] [--write]

--write appends the result row to the "Memory per idle websocket" section of
docs/PERFORMANCE.md (created at the end of the file if it does not exist yet).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
DOC = BASE_DIR / "docs" / "PERFORMANCE.md"
sys.path.insert(0, str(BASE_DIR))

TARGET_KB = 150
START, END = "<!-- ws-memory:start -->", "<!-- ws-memory:end -->"


def read_status(pid: int) -> dict[str, int]:
    """The memory lines of /proc/<pid>/status, in kB (VmRSS, RssAnon, RssFile, VmHWM…)."""
    values = {}
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            key, _, value = line.partition(":")
            if value.strip().endswith("kB"):
                values[key] = int(value.split()[0])
    return values


def sample_rss(pid: int, samples: int = 5, interval: float = 1.0) -> dict[str, float]:
    """Median of a few samples, `interval` seconds apart: VmRSS and its anonymous part, in kB."""
    rss, anon = [], []
    for n in range(samples):
        if n:
            time.sleep(interval)
        status = read_status(pid)
        rss.append(status["VmRSS"])
        anon.append(status["RssAnon"])
    return {"rss": statistics.median(rss), "anon": statistics.median(anon), "samples": rss}


def raise_open_files(needed: int) -> int:
    """Raise this process's soft open-file limit towards `needed` (up to the hard limit)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < needed:
        soft = needed if hard == resource.RLIM_INFINITY else min(needed, hard)
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
    return soft


def socket_path(kind: str, request_pk: int) -> str:
    return f"/ws/requests/{request_pk}/" if kind == "chat" else "/ws/notifications/"


async def open_socket(port: int, path: str, session: str):
    import websockets

    return await websockets.connect(
        f"ws://127.0.0.1:{port}{path}",
        additional_headers={
            "Origin": f"http://127.0.0.1:{port}",
            "Cookie": f"sessionid={session}",
        },
        open_timeout=30,
        proxy=None,
        # Idle means idle: no keepalive pings from this side while measuring (the server's own
        # 20 s pings do not fire within the run either).
        ping_interval=None,
    )


async def open_batched(port: int, path: str, sessions: list[str], batch: int):
    """Open one socket per session, `batch` at a time; return (open sockets, failures)."""
    sockets, failures = [], []
    for start in range(0, len(sessions), batch):
        results = await asyncio.gather(
            *(open_socket(port, path, s) for s in sessions[start : start + batch]),
            return_exceptions=True,
        )
        for result in results:
            if isinstance(result, BaseException):
                failures.append(result)
            else:
                sockets.append(result)
    return sockets, failures


async def still_open(sockets, timeout: float = 10) -> int:
    """How many sockets answer a ping (the server's websocket protocol answers it)."""
    from websockets.protocol import State

    async def ping(ws) -> bool:
        if ws.state is not State.OPEN:
            return False
        try:
            waiter = await ws.ping()
            await asyncio.wait_for(waiter, timeout)
        except Exception:
            return False
        return True

    return sum(await asyncio.gather(*(ping(ws) for ws in sockets)))


async def close_all(sockets, batch: int = 100) -> None:
    for start in range(0, len(sockets), batch):
        await asyncio.gather(
            *(ws.close() for ws in sockets[start : start + batch]), return_exceptions=True
        )


def warm_up_http(port: int, request_pk: int, session: str, times: int = 5) -> list[int]:
    """GET the request page with a signed-in session; return the status codes."""
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    statuses = []
    for _ in range(times):
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/requests/{request_pk}/",
            headers={"Cookie": f"sessionid={session}"},
        )
        with opener.open(request, timeout=30) as response:
            response.read()
            statuses.append(response.status)
    return statuses


async def measure(args, port: int, pid: int, request_pk: int, sessions: list[str]) -> dict:
    path = socket_path(args.socket, request_pk)
    loop = asyncio.get_running_loop()

    # Warm-up: the page (views, templates, the database pool) and a few sockets opened and
    # closed (consumer classes, the channel layer's Redis connection and subscription task).
    statuses = await loop.run_in_executor(None, warm_up_http, port, request_pk, sessions[0])
    if any(status != 200 for status in statuses):
        raise SystemExit(f"warm-up GETs answered {statuses}")
    warm, warm_failures = await open_batched(port, path, sessions[:10], batch=10)
    if warm_failures:
        raise SystemExit(f"warm-up sockets failed: {warm_failures[0]!r}")
    await asyncio.sleep(0.5)
    await close_all(warm)
    await asyncio.sleep(2)
    idle = await loop.run_in_executor(None, sample_rss, pid, 5, 0.5)

    started = time.perf_counter()
    sockets, failures = await open_batched(port, path, sessions, args.batch)
    open_seconds = time.perf_counter() - started
    await asyncio.sleep(args.idle)
    loaded = await loop.run_in_executor(None, sample_rss, pid, 5, 1.0)
    alive = await still_open(sockets)

    await close_all(sockets)
    await asyncio.sleep(2)
    after = await loop.run_in_executor(None, sample_rss, pid, 3, 0.5)
    peak = read_status(pid)["VmHWM"]

    opened = len(sockets)
    per_kb = (loaded["rss"] - idle["rss"]) / opened if opened else float("nan")
    return {
        "socket": args.socket,
        "path": path,
        "clients": len(sessions),
        "opened": opened,
        "refused": len(failures),
        "first_failure": repr(failures[0])[:300] if failures else None,
        "alive_after_idle": alive,
        "dropped": opened - alive,
        "open_seconds": round(open_seconds, 2),
        "idle_rss_kb": idle["rss"],
        "idle_samples_kb": idle["samples"],
        "loaded_rss_kb": loaded["rss"],
        "loaded_samples_kb": loaded["samples"],
        "per_connection_kb": per_kb,
        "per_connection_anon_kb": (loaded["anon"] - idle["anon"]) / opened if opened else None,
        "rss_after_close_kb": after["rss"],
        "peak_rss_kb": peak,
    }


def main() -> None:
    from bench.chat import (
        free_port,
        recreate_postgres,
        server_env,
        setup_database,
        uvicorn_command,
        wait_listening,
    )

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=1000)
    parser.add_argument("--batch", type=int, default=50, help="sockets opened concurrently")
    parser.add_argument("--idle", type=float, default=5, help="seconds idle before sampling")
    parser.add_argument(
        "--socket",
        choices=["chat", "notifications"],
        default="chat",
        help="the request's chat socket, or the per-user notification socket",
    )
    parser.add_argument("--database-url", default=os.getenv("BENCH_DATABASE_URL", ""))
    parser.add_argument("--redis-url", default=os.getenv("REDIS_URL") or "redis://127.0.0.1:6379/0")
    parser.add_argument(
        "--layer",
        choices=["core", "pubsub"],
        default="pubsub",
        help="channels_redis pub/sub layer (the portal's default) or its core layer",
    )
    parser.add_argument(
        "--write", action="store_true", help="append the row to docs/PERFORMANCE.md"
    )
    args = parser.parse_args()

    # Each socket is a file descriptor here and in the server (which inherits the limit).
    nofile = raise_open_files(args.clients * 2 + 512)
    if nofile < args.clients + 256:
        raise SystemExit(f"open-file limit {nofile} is too low for {args.clients} sockets")

    tmp = tempfile.TemporaryDirectory(prefix="ws-memory-bench-")
    if args.database_url.startswith("postgres"):
        recreate_postgres(args.database_url)
    database_url = args.database_url or f"sqlite:///{tmp.name}/bench.sqlite3"
    env = server_env(
        database_url, args.redis_url, args.layer, media_root=f"{tmp.name}/media", prefix="bench-mem"
    )
    os.environ.update(env)
    setup_started = time.perf_counter()
    request_pk, sessions, _sender = setup_database(args.clients)
    print(
        f"database ready in {time.perf_counter() - setup_started:.1f} s: request {request_pk}, "
        f"{len(sessions)} sessions"
    )
    # This process's Django is done with the database: drop its connection before measuring.
    from django.db import connections

    connections.close_all()

    # Production settings without a collectstatic run (as bench/dashboard.py does): plain static
    # URLs instead of the manifest, which the request page needs to render with DEBUG off.
    Path(tmp.name, "ws_memory_settings.py").write_text(
        "from portal.settings import *  # noqa: F403\n"
        'STORAGES = {**STORAGES, "staticfiles": {  # noqa: F405\n'
        '    "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}\n'
    )
    process_env = {
        **os.environ,
        **env,
        "DJANGO_SETTINGS_MODULE": "ws_memory_settings",
        "PYTHONPATH": os.pathsep.join([tmp.name, str(BASE_DIR)]),
    }

    port = free_port()
    log_path = Path(tmp.name) / "server.log"
    log = open(log_path, "w")  # noqa: SIM115 (closed in the finally block)
    proc = subprocess.Popen(
        [sys.executable, *uvicorn_command(port)],
        cwd=BASE_DIR,
        env=process_env,
        stdout=subprocess.DEVNULL,
        stderr=log,
    )
    try:
        wait_listening(port, proc)
        result = asyncio.run(measure(args, port, proc.pid, request_pk, sessions))
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()
        server_log = log_path.read_text().strip()
        if server_log:
            print("server stderr (last lines):\n" + "\n".join(server_log.splitlines()[-20:]))
        tmp.cleanup()

    engine = "PostgreSQL" if database_url.startswith("postgres") else "SQLite"
    layer_name = "pub/sub layer" if args.layer == "pubsub" else "core layer"
    met = (
        result["opened"] == result["clients"]
        and result["dropped"] == 0
        and (result["per_connection_kb"] <= TARGET_KB)
    )
    row = (
        f"| {engine}, 1 × uvicorn, Redis ({layer_name}), {args.socket} socket "
        f"| {result['opened']:,} / {result['refused']} "
        f"| {result['idle_rss_kb'] / 1024:.1f} "
        f"| {result['loaded_rss_kb'] / 1024:.1f} "
        f"| {result['per_connection_kb']:.0f} "
        f"| {'yes' if met else 'no'} |"
    )
    print(result)
    print(row)
    if result["refused"] or result["dropped"]:
        print(
            f"WARNING: {result['refused']} refused, {result['dropped']} dropped; "
            f"first failure: {result['first_failure']}"
        )
    if args.write:
        write_row(row)


HEADER = (
    "| setup | sockets open / refused | idle RSS MB | RSS with the sockets MB "
    "| kB per connection | target met |\n"
    "|---|---|---|---|---|---|"
)

SECTION = f"""
## Memory per idle websocket

Method: `bench/ws_memory.py` (run `.venv/bin/python bench/ws_memory.py --write`;
`--database-url postgres://…` for PostgreSQL, `--socket notifications`, `--clients`). A fresh
database with the cast of the chat benchmark (a prescriber, a pharmacist in a care group, one
prescription, one request) and 1,000 signed-in, OTP-verified sessions, alternately the two users.
ONE web process, run as in production: uvicorn with uvloop and httptools, no per-message
deflate, `DEBUG=false`, the Redis pub/sub channel layer (a prefix of the run's own); only the
static files storage is the plain one, as no `collectstatic` has run (as in `bench/dashboard.py`). It is warmed
up (five GETs of the request page, ten websockets opened and closed), left alone for 2 s, and its
idle RSS is the median of five `VmRSS` samples from `/proc/<pid>/status`. Then 1,000 clients, each
its own session, open the request's chat socket (`/ws/requests/<pk>/`: session and user lookup,
second-factor and access check, a channel-layer channel and the join of the request's group), 50
at a time, from a separate client process; after 5 s idle, RSS is sampled again (median of five, a
second apart). kB per connection = (RSS with the sockets − idle RSS) / sockets open. Each socket is
then pinged: refused and dropped sockets are counted. A portal page holds two sockets (the chat
socket of a request page and the per-user notification socket of every page): `--socket
notifications` measures the second. Machine: 2 cores, shared by the server, the clients, Redis and
PostgreSQL. RSS is as `/proc` reports it (kB = 1,024 bytes; MB = 1,024 kB). Target: ≤
{TARGET_KB} kB per connection above the idle RSS.

{START}
{HEADER}
{END}
"""


def write_row(row: str) -> None:
    from bench.chat import append_table_row

    append_table_row(row, start=START, end=END, header=HEADER, section=SECTION)


if __name__ == "__main__":
    main()
