"""Benchmark: chat delivery over 2 ASGI server processes sharing Redis, 100 websocket clients.

Method. A fresh database (a temporary SQLite file, or --database-url postgres://…) is migrated
and given one request. Two uvicorn processes serve portal.asgi on two ports with the Redis
channel layer (REDIS_URL, default redis://127.0.0.1:6379/0, under a prefix of its own). N
websocket clients (default 100, each its own signed-in, OTP-verified session) join the request,
half on each process. Messages are then POSTed over HTTP (the HTMX form post, CSRF and all) at a
steady rate, alternating between the two processes. Each client records when every message
arrives. Latency = arrival on the socket − the moment before the POST was sent, so it includes
the HTTP request, the database write, the Redis hop, the consumer's access check and rendering.
Messages lost (never arrived at a client) and duplicated (arrived twice) are counted.

    .venv/bin/python bench/chat.py [--clients 100] [--rate 20] [--seconds 10] [--write]

--write puts the result table into the "Chat delivery" section of docs/PERFORMANCE.md.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import re
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
DOC = BASE_DIR / "docs" / "PERFORMANCE.md"
sys.path.insert(0, str(BASE_DIR))


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_listening(port: int, proc: subprocess.Popen) -> None:
    import socket

    deadline = time.monotonic() + 120  # a busy shared machine starts them slowly
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"server on {port} exited early")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.1)
    raise SystemExit(f"server on {port} did not start")


def setup_database(clients: int):
    """Migrate, create the cast and one request; return (request pk, listener sessions, sender session)."""
    import django

    django.setup()
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.db import SessionStore
    from django.core.management import call_command
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from accounts.models import User
    from prescriptions.models import CareGroup, Patient, Pharmacy, Prescriber, Prescription, Status
    from prescriptions.npi import make_npi
    from requests_chat.services import create_request

    call_command("migrate", verbosity=0)
    from django.db import connection

    if connection.vendor == "sqlite":
        # Many readers (every socket's access check) beside a writer: WAL lets them not block.
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA journal_mode=WAL")
    pharmacy = Pharmacy.objects.create(code="bench", name="Bench Pharmacy")
    prescriber = Prescriber.objects.create(
        npi=make_npi("190000001"), first_name="Ada", last_name="Bench"
    )
    alice = User.objects.create_user(
        "alice@bench.test",
        None,
        first_name="Alice",
        last_name="Bench",
        role=User.Role.PRESCRIBER,
        prescriber=prescriber,
    )
    phil = User.objects.create_user(
        "phil@bench.test", None, first_name="Phil", last_name="Bench", role=User.Role.PHARMACIST
    )
    group = CareGroup.objects.create(name="Bench team", pharmacy=pharmacy)
    group.prescribers.add(prescriber)
    group.pharmacists.add(phil)
    patient = Patient.objects.create(
        pharmacy=pharmacy,
        pharmacy_patient_id="B-1",
        first_name="Pat",
        last_name="Bench",
        date_of_birth="1980-01-01",
    )
    rx = Prescription.objects.create(
        pharmacy_rx_id="BRX1",
        rx_number="1",
        patient=patient,
        prescriber=prescriber,
        pharmacy=pharmacy,
        medication_name="Humira",
        status=Status.ORDER_SCHEDULED,
    )
    chat, _ = create_request(prescription=rx, author=alice, body="Benchmark start")

    def session_for(user) -> str:
        device, _ = TOTPDevice.objects.get_or_create(
            user=user, name="bench", defaults={"confirmed": True}
        )
        session = SessionStore()
        session[SESSION_KEY] = str(user.pk)
        session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
        session[HASH_SESSION_KEY] = user.get_session_auth_hash()
        session["otp_device_id"] = device.persistent_id
        session.create()
        return session.session_key

    listeners = [session_for(alice if n % 2 == 0 else phil) for n in range(clients)]
    return chat.pk, listeners, session_for(phil)


async def run(args, ports, request_pk, listeners, sender_session):
    import websockets

    sent_at: dict[int, float] = {}
    post_ms: list[float] = []
    arrivals: list[dict[int, list[float]]] = [{} for _ in listeners]
    pattern = re.compile(r"bench-(\d+)-")
    warm_pattern = re.compile(r"warmup-(\d+)-")
    warm_sent_at: dict[int, float] = {}
    warm_arrivals: list[dict[int, float]] = [{} for _ in listeners]
    saved_pattern = re.compile(r'<time class="message__time" datetime="([^"]+)"')
    from_save: list[float] = []
    ready = 0

    async def listen(index: int, session: str):
        nonlocal ready
        port = ports[index % 2]
        async with websockets.connect(
            f"ws://127.0.0.1:{port}/ws/requests/{request_pk}/",
            additional_headers={
                "Origin": f"http://127.0.0.1:{port}",
                "Cookie": f"sessionid={session}",
            },
            open_timeout=30,
            max_queue=None,
        ) as socket:
            ready += 1
            try:
                async for frame in socket:
                    now, wall = time.perf_counter(), time.time()
                    measured = pattern.findall(frame)
                    for seq in measured:
                        arrivals[index].setdefault(int(seq), []).append(now)
                    for seq in warm_pattern.findall(frame):
                        warm_arrivals[index].setdefault(int(seq), now)
                    # From the message's save (its created_at) to arrival: the broadcast alone.
                    if measured and index % 10 == 0:
                        for stamp in saved_pattern.findall(frame):
                            from_save.append(
                                (wall - datetime.fromisoformat(stamp).timestamp()) * 1000
                            )
            except websockets.ConnectionClosed:
                pass

    tasks = [asyncio.create_task(listen(i, s)) for i, s in enumerate(listeners)]
    while ready < len(listeners):
        await asyncio.sleep(0.05)
        for task in tasks:
            if task.done() and task.exception():
                raise task.exception()
    await asyncio.sleep(0.5)

    csrf = secrets.token_hex(16)  # an unmasked 32-character secret, cookie and header alike

    def post(seq: int, label: str = "bench") -> int:
        port = ports[seq % 2]
        base = f"http://127.0.0.1:{port}"
        body = urllib.parse.urlencode(
            {"body": f"{label}-{seq}- steady message", "client_id": uuid.uuid4().hex}
        ).encode()
        request = urllib.request.Request(
            f"{base}/requests/{request_pk}/messages/",
            data=body,
            method="POST",
            headers={
                "Cookie": f"sessionid={sender_session}; csrftoken={csrf}",
                "X-CSRFToken": csrf,
                "HX-Request": "true",
                "Origin": base,
                "Content-Type": "application/x-www-form-urlencoded",
            },
        )
        started_at = time.perf_counter()
        if label == "bench":
            sent_at[seq] = started_at
        else:
            warm_sent_at[seq] = started_at
        # The bench's own loopback URL (http://127.0.0.1:<port>), never user input.
        with urllib.request.urlopen(request, timeout=30) as response:  # nosec B310
            response.read()
            if label == "bench":
                post_ms.append((time.perf_counter() - started_at) * 1000)
            return response.status

    loop = asyncio.get_running_loop()
    # Warm-up: the first messages after the servers start pay for loading templates, opening
    # pooled connections and subscribing; they are sent and timed first, and reported apart.
    warm_latencies: list[float] = []
    with ThreadPoolExecutor(max_workers=4) as pool:
        for seq in range(args.warmup):
            await loop.run_in_executor(pool, post, seq, "warmup")
            deadline = time.perf_counter() + 10
            while time.perf_counter() < deadline and any(seq not in w for w in warm_arrivals):
                await asyncio.sleep(0.01)
            warm_latencies.append(
                (max(w[seq] for w in warm_arrivals if seq in w) - warm_sent_at[seq]) * 1000
            )
            await asyncio.sleep(1 / args.rate)

    total = int(args.rate * args.seconds)
    # This process holds every client: a garbage collection here would delay the arrivals it
    # records (100+ ms seen) and be counted against the servers. Collect after the run instead.
    gc.freeze()
    gc.disable()
    posts = []
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=16) as pool:
        for seq in range(total):
            # A steady rate: each message at its own slot, not as fast as possible.
            delay = started + seq / args.rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            posts.append(loop.run_in_executor(pool, post, seq))
        statuses = await asyncio.gather(*posts, return_exceptions=True)
    send_window = time.perf_counter() - started
    # Stragglers: wait until every client has everything, or 10 s.
    deadline = time.perf_counter() + 10
    while time.perf_counter() < deadline and any(len(a) < total for a in arrivals):
        await asyncio.sleep(0.1)
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    gc.enable()

    failed_posts = sum(1 for s in statuses if s != 200)
    for status in statuses:
        if status != 200:
            print("first failed POST:", repr(status)[:300])
            break
    latencies, lost, duplicated = [], 0, 0
    last_arrival = started
    for per_client in arrivals:
        for seq in range(total):
            times = per_client.get(seq, [])
            if not times:
                lost += 1
                continue
            duplicated += len(times) - 1
            latencies.append((times[0] - sent_at[seq]) * 1000)
            last_arrival = max(last_arrival, times[0])
    latencies.sort()

    def pct(p: float) -> float:
        return latencies[min(len(latencies) - 1, int(round(p / 100 * (len(latencies) - 1))))]

    return {
        "clients": len(listeners),
        "messages": total,
        "rate": args.rate,
        "failed_posts": failed_posts,
        "deliveries": len(latencies),
        "expected": total * len(listeners),
        "lost": lost,
        "duplicated": duplicated,
        "p50": pct(50),
        "p90": pct(90),
        "p99": pct(99),
        "max": latencies[-1],
        "mean": statistics.fmean(latencies),
        "post_p50": statistics.median(post_ms),
        "save_p50": statistics.median(from_save) if from_save else 0.0,
        "save_p99": sorted(from_save)[int(0.99 * (len(from_save) - 1))] if from_save else 0.0,
        "latencies": latencies,
        "posted_per_s": total / send_window,
        "delivered_per_s": len(latencies) / (last_arrival - started),
        # Per warm-up message: until its row was on every socket.
        "warmup_ms": [round(ms) for ms in warm_latencies],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=100)
    parser.add_argument("--rate", type=float, default=20, help="messages per second")
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument(
        "--warmup",
        type=int,
        default=10,
        help="messages sent (one at a time) and timed apart before the measured ones",
    )
    parser.add_argument("--database-url", default=os.getenv("BENCH_DATABASE_URL", ""))
    parser.add_argument("--redis-url", default=os.getenv("REDIS_URL") or "redis://127.0.0.1:6379/0")
    parser.add_argument("--server", choices=["uvicorn", "daphne"], default="uvicorn")
    parser.add_argument(
        "--layer",
        choices=["core", "pubsub"],
        default="pubsub",
        help="channels_redis pub/sub layer (the portal's default) or its core layer",
    )
    parser.add_argument(
        "--write", action="store_true", help="write the table into docs/PERFORMANCE.md"
    )
    parser.add_argument(
        "--blocks",
        type=int,
        default=2,
        help="measured blocks per system: portal, floor, portal, floor, … (--seconds each)",
    )
    parser.add_argument("--no-floor", action="store_true", help="the portal alone")
    args = parser.parse_args()

    tmp = tempfile.TemporaryDirectory(prefix="chat-bench-")
    if args.database_url.startswith("postgres"):
        recreate_postgres(args.database_url)
    database_url = args.database_url or f"sqlite:///{tmp.name}/bench.sqlite3"
    env = server_env(
        database_url, args.redis_url, args.layer, media_root=f"{tmp.name}/media", prefix="bench"
    )
    os.environ.update(env)
    request_pk, listeners, sender = setup_database(args.clients)

    ports = free_port(), free_port()
    floor_ports = free_port(), free_port()
    procs = []
    servers = [(port, "portal.asgi:application") for port in ports]
    if not args.no_floor:
        servers += [(port, "bench.chat_floor:application") for port in floor_ports]
    for port, app in servers:
        command = {
            "uvicorn": uvicorn_command(port, "--ws-max-queue", "1024", app=app),
            "daphne": [
                "-m",
                "daphne",
                "-b",
                "127.0.0.1",
                "-p",
                str(port),
                "--websocket-max-message-size",
                "65536",
                app,
            ],
        }[args.server]
        proc = subprocess.Popen(
            [sys.executable, *command],
            cwd=BASE_DIR,
            env={**os.environ, **env},
            stdout=subprocess.DEVNULL,
            stderr=open(BASE_DIR / "artifacts" / f"bench-chat-{port}.log", "w"),  # noqa: SIM115
        )
        procs.append(proc)
    try:
        for (port, _app), proc in zip(servers, procs, strict=True):
            wait_listening(port, proc)
        # Interleaved in blocks, portal then floor, in the same run: the same clients, rate and
        # layer, the machine in the same state.
        blocks: dict[str, list[dict]] = {"portal": [], "floor": []}
        for _block in range(args.blocks):
            blocks["portal"].append(asyncio.run(run(args, ports, request_pk, listeners, sender)))
            if not args.no_floor:
                blocks["floor"].append(
                    asyncio.run(run(args, floor_ports, request_pk, listeners, sender))
                )
        result = merge(blocks["portal"])
        floor = merge(blocks["floor"]) if blocks["floor"] else None
    finally:
        for proc in procs:
            proc.terminate()
            proc.wait(timeout=10)
    load = f"{os.getloadavg()[0]:.1f}"
    layer_name = "pub/sub layer" if args.layer == "pubsub" else "core layer"
    engine = "PostgreSQL" if database_url.startswith("postgres") else "SQLite"
    row = (
        f"| {engine}, 2 × {args.server}, Redis ({layer_name}) | {result['clients']} | "
        f"{result['messages']} at {result['rate']:g}/s | {result['p50']:.0f} / {result['p90']:.0f} / "
        f"{result['p99']:.0f} / {result['max']:.0f} ms | {result['save_p50']:.0f} / "
        f"{result['save_p99']:.0f} ms | {result['post_p50']:.0f} ms | "
        f"{result['delivered_per_s']:.0f} | {result['lost']} | {result['duplicated']} | "
        f"{', '.join(str(ms) for ms in result['warmup_ms'][:3]) or '—'} ms | {load} |"
    )
    print({k: v for k, v in result.items() if k != "latencies"})
    print(row)
    if result["failed_posts"]:
        print(f"WARNING: {result['failed_posts']} POSTs failed")
    if args.write:
        write_row(row)
    if floor is not None:
        floor_row = (
            f"| {engine}, 2 × {args.server}, Redis ({layer_name}) | {result['clients']} | "
            f"{result['messages']} at {result['rate']:g}/s ({args.blocks} blocks each) | "
            f"{result['p50']:.1f} / {result['p99']:.1f} ms | {floor['p50']:.1f} / "
            f"{floor['p99']:.1f} ms | {result['p50'] / floor['p50']:.2f}× / "
            f"{result['p99'] / floor['p99']:.2f}× | {result['lost']} / {result['duplicated']} | "
            f"{floor['lost']} / {floor['duplicated']} | {load} |"
        )
        print(FLOOR_HEADER)
        print(floor_row)
        if args.write:
            append_table_row(
                floor_row,
                start="<!-- chat-floor:start -->",
                end="<!-- chat-floor:end -->",
                header=FLOOR_HEADER,
            )


def merge(results: list[dict]) -> dict:
    """Several blocks' results as one: percentiles over all deliveries, counts summed."""
    latencies = sorted(ms for r in results for ms in r["latencies"])

    def pct(p: float) -> float:
        return latencies[min(len(latencies) - 1, int(round(p / 100 * (len(latencies) - 1))))]

    merged = dict(results[0])
    for key in ("messages", "failed_posts", "deliveries", "expected", "lost", "duplicated"):
        merged[key] = sum(r[key] for r in results)
    merged.update(
        latencies=latencies,
        p50=pct(50),
        p90=pct(90),
        p99=pct(99),
        max=latencies[-1],
        post_p50=statistics.median(r["post_p50"] for r in results),
        save_p50=statistics.median(r["save_p50"] for r in results),
        save_p99=max(r["save_p99"] for r in results),
        delivered_per_s=statistics.fmean(r["delivered_per_s"] for r in results),
    )
    return merged


FLOOR_HEADER = (
    "| setup | clients | messages per system | portal POST → socket p50 / p99 | floor p50 / p99 "
    "| ratio p50 / p99 | portal lost / duplicated | floor lost / duplicated | load avg |\n"
    "|---|---|---|---|---|---|---|---|---|"
)


def server_env(database_url: str, redis_url: str, layer: str, *, media_root: str, prefix: str):
    """The environment of a benchmark's server processes: production settings on loopback."""
    return {
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "CHANNEL_PREFIX": f"{prefix}-{uuid.uuid4().hex[:8]}",
        "MEDIA_ROOT": media_root,
        "DJANGO_SETTINGS_MODULE": "portal.settings",
        "LOG_LEVEL": "ERROR",
        "CHANNEL_LAYER": layer,
        # As in production: notification emails are queued for the worker, not sent inline.
        "TASKS_BACKEND": "django_tasks_db.DatabaseBackend",
        # Under ASGI every request has its own thread: persistent connections would pile up
        # until PostgreSQL refuses clients ("too many clients already").
        "DB_CONN_MAX_AGE": "0",
        # Production-like servers (no DEBUG query log); plain HTTP on loopback.
        "DEBUG": "false",
        "SECRET_KEY": secrets.token_urlsafe(40),
        "SECURE_SSL_REDIRECT": "false",
    }


def uvicorn_command(port: int, *extra: str, app: str = "portal.asgi:application") -> list[str]:
    """`python` arguments for uvicorn serving the portal as deployed (no per-message deflate)."""
    return [
        "-m",
        "uvicorn",
        app,
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--no-access-log",
        "--log-level",
        "warning",
        "--ws-per-message-deflate",
        "false",
        "--ws-max-size",
        "65536",
        *extra,
    ]


def recreate_postgres(url: str) -> None:
    """A fresh PostgreSQL database for the run (the role needs CREATEDB)."""
    import psycopg

    base, _, name = url.rpartition("/")
    with psycopg.connect(f"{base}/postgres", autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{name}"')


HEADER = (
    "| setup | clients | messages | POST → socket p50 / p90 / p99 / max | save → socket p50 / p99 "
    "| POST answered p50 | deliveries/s | lost | duplicated | first warm-up messages | load avg |\n"
    "|---|---|---|---|---|---|---|---|---|---|---|"
)


def append_table_row(
    row: str, *, start: str, end: str, header: str, section: str | None = None
) -> None:
    """Append `row` to the table between two markers of docs/PERFORMANCE.md.

    A read-modify-write of that table only (other sections may be edited meanwhile). Without the
    markers, `section` (which holds them) is added at the end, or the run stops.
    """
    text = DOC.read_text() if DOC.exists() else "# Performance\n"
    if start not in text:
        if section is None:
            raise SystemExit(f"docs/PERFORMANCE.md has no {start} marker")
        text = text.rstrip("\n") + "\n" + section
    before, rest = text.split(start, 1)
    table, after = rest.split(end, 1)
    rows = [
        line for line in table.strip().splitlines() if line.startswith("| ") and "setup" not in line
    ]
    rows.append(row)
    DOC.write_text(f"{before}{start}\n{header}\n" + "\n".join(rows) + f"\n{end}{after}")


def write_row(row: str) -> None:
    append_table_row(
        row, start="<!-- chat-bench:start -->", end="<!-- chat-bench:end -->", header=HEADER
    )


if __name__ == "__main__":
    main()
