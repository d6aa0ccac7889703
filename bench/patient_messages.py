"""Benchmark: Messages pages at a clinic of 10,000 charts and 200,000 messages, and message
delivery patient → clinic over 2 ASGI processes + Redis.

Pages. A fresh SQLite database (or --database-url postgres://…) is migrated and filled in bulk:
one clinic, 10 providers and an admin, 10,000 charts, 50,000 threads (5 a chart), 200,000
messages (4 a thread, alternating patient and clinic), and for the demo patient 40 threads
with unread replies on her own chart and her child's (proxy). Each page is requested `--reps`
times in-process through Django's test client (signed in, second factor passed, DEBUG off) after
3 warm-up requests; the median and p90 server time and the query count are reported, and the
query count is compared with the same pages at a small clinic (100 charts, 2,000 messages).

Delivery. Two uvicorn processes serve portal.asgi with the Redis channel layer; `--clients`
clinic staff websockets (/ws/clinic/messages/, half on each process) watch the clinic; the
patient POSTs replies (the HTMX form post, CSRF and all) to one thread at `--rate` per second,
alternating processes. Latency = arrival of the message row on a staff socket − the moment
before the POST, so it includes the HTTP request, the write, the Redis hop, the consumer's
audience check and its per-reader inbox row. Lost and duplicated arrivals are counted.

    .venv/bin/python bench/patient_messages.py [--reps 30] [--clients 20] [--rate 10] [--write]

--write puts both tables into the "Patient Messages" section of docs/PERFORMANCE.md.
Helpers for servers and table writing come from bench/chat.py.
"""

from __future__ import annotations

import argparse
import asyncio
import json
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
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))

from bench.chat import (  # noqa: E402
    append_table_row,
    free_port,
    recreate_postgres,
    server_env,
    uvicorn_command,
    wait_listening,
)

PATIENT = "mary@bench.test"
ADMIN = "office@bench.test"
SECTION = """
## Patient Messages

Method and data: `bench/patient_messages.py` (see its docstring). Pages are timed in-process
(server time, DEBUG off); delivery is POST → staff socket over 2 uvicorn processes + Redis.
The machine is shared by several agents: the load average is noted with every row.

<!-- patient-messages-pages:start -->
<!-- patient-messages-pages:end -->

<!-- patient-messages-delivery:start -->
<!-- patient-messages-delivery:end -->
"""
PAGES_HEADER = (
    "| setup (database, data) | page | median / p90 | queries (small clinic → large) | load avg |\n"
    "|---|---|---|---|---|"
)
DELIVERY_HEADER = (
    "| setup | staff sockets | messages | POST → socket p50 / p90 / p99 / max | lost | duplicated "
    "| load avg |\n|---|---|---|---|---|---|---|"
)


def fill(charts: int, threads_per_chart: int, messages_per_thread: int) -> dict:
    """The clinic, its staff, charts, threads and messages, in bulk; returns ids for the run."""
    import datetime as dt

    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection, transaction
    from django.utils import timezone

    from accounts.models import User
    from invites.models import Clinic, ClinicMembership
    from messaging.models import Message, Thread
    from messaging.services import send_message, start_thread
    from patient_portal.models import Chart, ProxyGrant

    call_command("migrate", verbosity=0)
    clinic = Clinic.objects.create(name="Bench Clinic")
    admin = User.objects.create_user(
        ADMIN, None, first_name="Olive", last_name="Office", role="clinic_admin"
    )
    ClinicMembership.objects.create(user=admin, clinic=clinic, role="admin")
    providers = []
    for n in range(10):
        user = User.objects.create_user(
            f"dr{n}@bench.test", None, first_name="Doc", last_name=f"Tor{n}", role="prescriber"
        )
        providers.append(ClinicMembership.objects.create(user=user, clinic=clinic, role="provider"))
    mary = User.objects.create_user(
        PATIENT, None, first_name="Mary", last_name="Bench", role="patient"
    )
    now = timezone.now()
    with transaction.atomic():
        Chart.objects.bulk_create(
            Chart(
                clinic=clinic,
                provider=providers[n % 10],
                legal_first_name=f"First{n}",
                legal_last_name=f"Last{n:05d}",
                date_of_birth=dt.date(1950 + n % 60, 1 + n % 12, 1 + n % 28),
            )
            for n in range(charts)
        )
        chart_ids = list(Chart.objects.values_list("pk", flat=True))
        thread_rows = [
            Thread(
                chart_id=chart_id,
                clinic=clinic,
                subject=f"Question {t} about my care",
                to="clinician" if t % 2 else "office",
                provider=providers[i % 10] if t % 2 else None,
                last_message_at=now - dt.timedelta(minutes=i * threads_per_chart + t),
            )
            for i, chart_id in enumerate(chart_ids)
            for t in range(threads_per_chart)
        ]
        Thread.objects.bulk_create(thread_rows, batch_size=5000)
        thread_ids = list(Thread.objects.values_list("pk", flat=True))
        batch: list[Message] = []
        for thread_id in thread_ids:
            for m in range(messages_per_thread):
                batch.append(
                    Message(
                        thread_id=thread_id,
                        author=admin if m % 2 else None,
                        author_name="Olive Office (Bench Clinic)" if m % 2 else "A patient",
                        from_clinic=bool(m % 2),
                        body=f"Message {m} of the conversation, a line or two of text.",
                        client_id=uuid.uuid4().hex,
                        created_at=now,
                    )
                )
            if len(batch) >= 20000:
                Message.objects.bulk_create(batch, batch_size=5000)
                batch = []
        Message.objects.bulk_create(batch, batch_size=5000)
        with connection.cursor() as cursor:
            cursor.execute(
                """UPDATE messaging_thread SET
                   last_message_id = (SELECT MAX(id) FROM messaging_message m WHERE m.thread_id = messaging_thread.id),
                   last_from_clinic_id = COALESCE((SELECT MAX(id) FROM messaging_message m WHERE m.thread_id = messaging_thread.id AND m.from_clinic), 0),
                   last_from_patient_id = COALESCE((SELECT MAX(id) FROM messaging_message m WHERE m.thread_id = messaging_thread.id AND NOT m.from_clinic), 0)"""
            )
    own = Chart.objects.create(
        clinic=clinic,
        provider=providers[0],
        legal_first_name="Mary",
        legal_last_name="Bench",
        patient_user=mary,
    )
    child = Chart.objects.create(
        clinic=clinic, provider=providers[0], legal_first_name="Tim", legal_last_name="Bench"
    )
    ProxyGrant.objects.create(chart=child, grantee=mary, relationship="parent")
    first_thread = None
    for n in range(40):
        chart = own if n % 2 else child
        thread, _, _ = start_thread(
            chart=chart, author=mary, to="clinician", subject=f"Mine {n}", body="Hello"
        )
        send_message(thread=thread, author=admin, body="A reply", from_clinic=True)
        first_thread = first_thread or thread
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE" if connection.vendor == "postgresql" else "ANALYZE")
    return {
        "own": own.pk,
        "child": child.pk,
        "thread": first_thread.pk if first_thread else 0,
        "messages": Message.objects.count(),
        "threads": Thread.objects.count(),
        "charts": Chart.objects.count(),
    }


def measure_pages(ids: dict, reps: int) -> list[dict]:
    from django.conf import settings
    from django.db import connection
    from django.test import Client, override_settings
    from django.test.utils import CaptureQueriesContext
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from accounts.models import User
    from patient_portal.selectors import SESSION_CHART

    storages = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    override_settings(STORAGES=storages, DEBUG=False, SECURE_SSL_REDIRECT=False).enable()

    def client_for(email: str, chart: int | None = None) -> Client:
        user = User.objects.get(email=email)
        client = Client()
        client.force_login(user)
        device, _ = TOTPDevice.objects.get_or_create(
            user=user, name="bench", defaults={"confirmed": True}
        )
        session = client.session
        session["otp_device_id"] = device.persistent_id
        if chart:
            session[SESSION_CHART] = chart
        session.save()
        return client

    cases = [
        ("patient Home (child's chart)", client_for(PATIENT, ids["child"]), "/patient/"),
        ("patient Messages inbox", client_for(PATIENT, ids["child"]), "/patient/messages/"),
        (
            "patient thread",
            client_for(PATIENT, ids["child"]),
            f"/patient/messages/{ids['thread']}/",
        ),
        ("clinic inbox, first page", client_for(ADMIN), "/clinic/messages/"),
        ("clinic inbox, unread only", client_for(ADMIN), "/clinic/messages/?unread=1"),
        ("clinic inbox, search “Last00042”", client_for(ADMIN), "/clinic/messages/?q=Last00042"),
        ("clinic inbox, page 20", client_for(ADMIN), "/clinic/messages/?page=20"),
    ]
    out = []
    for label, client, url in cases:
        for _ in range(3):
            assert client.get(url).status_code == 200, url
        times = []
        for _ in range(reps):
            started = time.perf_counter()
            response = client.get(url)
            times.append((time.perf_counter() - started) * 1000)
            assert response.status_code == 200, url
        with CaptureQueriesContext(connection) as queries:
            client.get(url)
        out.append(
            {
                "case": label,
                "median_ms": statistics.median(times),
                "p90_ms": sorted(times)[max(int(len(times) * 0.9) - 1, 0)],
                "queries": len(queries),
            }
        )
    return out


def pages_in_subprocess(database_url: str, scale: str, reps: int) -> list[dict]:
    """Fill a fresh database and time the pages, in a process of its own (Django set up once)."""
    import json

    env = {**os.environ, "DATABASE_URL": database_url, "DJANGO_SETTINGS_MODULE": "portal.settings"}
    env.pop("REDIS_URL", None)
    result = subprocess.run(
        [sys.executable, __file__, "--pages-only", scale, "--reps", str(reps)],
        env=env,
        cwd=BASE_DIR,
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(result.stdout.strip().splitlines()[-1])


async def deliver(
    args, ports, thread_pk: int, staff_sessions: list[str], patient_session: str
) -> dict:
    import websockets

    sent_at: dict[int, float] = {}
    arrivals: list[dict[int, list[float]]] = [{} for _ in staff_sessions]
    pattern = re.compile(r"bench-(\d+)-")
    ready = 0

    async def listen(index: int, session: str) -> None:
        nonlocal ready
        port = ports[index % 2]
        async with websockets.connect(
            f"ws://127.0.0.1:{port}/ws/clinic/messages/",
            additional_headers={
                "Origin": f"http://127.0.0.1:{port}",
                "Cookie": f"sessionid={session}",
            },
            open_timeout=30,
            max_queue=None,
        ) as socket:
            ready += 1
            await socket.send(
                json.dumps({"type": "catch_up", "thread": thread_pk, "after": 0, "have": []})
            )
            try:
                async for frame in socket:
                    now = time.perf_counter()
                    # The message row (not the inbox row, which shows only the last message).
                    if 'id="message-list"' not in frame:
                        continue
                    for seq in set(pattern.findall(frame)):
                        arrivals[index].setdefault(int(seq), []).append(now)
            except websockets.ConnectionClosed:
                pass

    tasks = [asyncio.create_task(listen(i, s)) for i, s in enumerate(staff_sessions)]
    while ready < len(staff_sessions):
        await asyncio.sleep(0.05)
        for task in tasks:
            if task.done() and task.exception():
                raise task.exception()  # type: ignore[misc]
    await asyncio.sleep(1.0)
    csrf = secrets.token_hex(16)

    def post(seq: int) -> int:
        base = f"http://127.0.0.1:{ports[seq % 2]}"
        body = urllib.parse.urlencode(
            {"body": f"bench-{seq}- a reply", "client_id": uuid.uuid4().hex}
        ).encode()
        request = urllib.request.Request(
            f"{base}/patient/messages/{thread_pk}/reply/",
            data=body,
            method="POST",
            headers={
                "Cookie": f"sessionid={patient_session}; csrftoken={csrf}",
                "X-CSRFToken": csrf,
                "HX-Request": "true",
                "Origin": base,
                "Content-Type": "application/x-www-form-urlencoded",
            },
        )
        sent_at[seq] = time.perf_counter()
        with urllib.request.urlopen(request, timeout=30) as response:  # nosec B310 (loopback)
            response.read()
            return response.status

    loop = asyncio.get_running_loop()
    total = args.warmup + int(args.rate * args.seconds)
    failed = 0
    with ThreadPoolExecutor(max_workers=4) as pool:
        futures = []
        for seq in range(total):
            futures.append(loop.run_in_executor(pool, post, seq))
            await asyncio.sleep(1 / args.rate)
        for future in futures:
            try:
                if await future != 200:
                    failed += 1
            except Exception:
                failed += 1
    await asyncio.sleep(3)
    for task in tasks:
        task.cancel()
    latencies, lost, duplicated = [], 0, 0
    for per_client in arrivals:
        for seq in range(args.warmup, total):
            got = per_client.get(seq, [])
            if not got:
                lost += 1
                continue
            duplicated += len(got) - 1
            latencies.append((got[0] - sent_at[seq]) * 1000)
    latencies.sort()

    def pct(p: float) -> float:
        return (
            latencies[min(int(p * len(latencies)), len(latencies) - 1)]
            if latencies
            else float("nan")
        )

    return {
        "messages": total - args.warmup,
        "p50": pct(0.5),
        "p90": pct(0.9),
        "p99": pct(0.99),
        "max": latencies[-1] if latencies else float("nan"),
        "lost": lost,
        "duplicated": duplicated,
        "failed_posts": failed,
    }


def delivery(args) -> str:
    tmp = tempfile.TemporaryDirectory(prefix="messages-bench-")
    # Two processes writing at once: PostgreSQL, as deployed (SQLite locks the whole file).
    database_url = args.delivery_database_url or f"sqlite:///{tmp.name}/delivery.sqlite3"
    if database_url.startswith("postgres"):
        recreate_postgres(database_url)
    env = server_env(
        database_url, args.redis_url, "pubsub", media_root=f"{tmp.name}/media", prefix="bench-msg"
    )
    os.environ.update(env)
    import django

    django.setup()
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.db import SessionStore
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from accounts.models import User
    from patient_portal.selectors import SESSION_CHART

    ids = fill(charts=50, threads_per_chart=2, messages_per_thread=2)
    staff = list(User.objects.filter(clinic_memberships__isnull=False).distinct())

    def session_for(user: User, chart: int | None = None) -> str:
        device, _ = TOTPDevice.objects.get_or_create(
            user=user, name="bench", defaults={"confirmed": True}
        )
        session = SessionStore()
        session[SESSION_KEY] = str(user.pk)
        session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
        session[HASH_SESSION_KEY] = user.get_session_auth_hash()
        session["otp_device_id"] = device.persistent_id
        if chart:
            session[SESSION_CHART] = chart
        session.create()
        return session.session_key  # type: ignore[return-value]

    staff_sessions = [session_for(staff[n % len(staff)]) for n in range(args.clients)]
    patient_session = session_for(User.objects.get(email=PATIENT), ids["child"])
    ports = free_port(), free_port()
    procs = []
    (BASE_DIR / "artifacts").mkdir(exist_ok=True)
    for port in ports:
        procs.append(
            subprocess.Popen(
                [sys.executable, *uvicorn_command(port, "--ws-max-queue", "1024")],
                cwd=BASE_DIR,
                env={**os.environ, **env},
                stdout=subprocess.DEVNULL,
                stderr=open(BASE_DIR / "artifacts" / f"bench-messages-{port}.log", "w"),  # noqa: SIM115
            )
        )
    try:
        for port, proc in zip(ports, procs, strict=True):
            wait_listening(port, proc)
        result = asyncio.run(deliver(args, ports, ids["thread"], staff_sessions, patient_session))
    finally:
        for proc in procs:
            proc.terminate()
            proc.wait(timeout=10)
    print(result)
    engine = "PostgreSQL" if database_url.startswith("postgres") else "SQLite"
    return (
        f"| {engine}, 2 × uvicorn, Redis (pub/sub) | {args.clients} | {result['messages']} at "
        f"{args.rate:g}/s | {result['p50']:.0f} / {result['p90']:.0f} / {result['p99']:.0f} / "
        f"{result['max']:.0f} ms | {result['lost']} | {result['duplicated']} | "
        f"{os.getloadavg()[0]:.1f} |"
    )


def ensure_section() -> None:
    from bench.chat import DOC

    text = DOC.read_text()
    if "<!-- patient-messages-pages:start -->" not in text:
        DOC.write_text(text.rstrip("\n") + "\n" + SECTION)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=30)
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--rate", type=float, default=10)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--database-url", default=os.getenv("BENCH_DATABASE_URL", ""))
    parser.add_argument("--redis-url", default=os.getenv("REDIS_URL") or "redis://127.0.0.1:6379/0")
    parser.add_argument(
        "--delivery-database-url",
        default=os.getenv("BENCH_DELIVERY_DATABASE_URL", ""),
        help="postgres://… for the delivery run (default: a SQLite file)",
    )
    parser.add_argument("--pages-only", choices=["small", "large"])
    parser.add_argument("--skip-pages", action="store_true")
    parser.add_argument("--skip-delivery", action="store_true")
    parser.add_argument("--write", action="store_true")
    args = parser.parse_args()

    if args.pages_only:
        import json

        scale = {"small": (100, 5, 4), "large": (10_000, 5, 4)}[args.pages_only]
        ids = fill(*scale)
        pages = measure_pages(ids, args.reps)
        print(json.dumps({"ids": ids, "pages": pages}))
        return

    rows = []
    if not args.skip_pages:
        with tempfile.TemporaryDirectory(prefix="messages-pages-") as tmp:
            base = args.database_url
            small_url = base + "_small" if base else f"sqlite:///{tmp}/small.sqlite3"
            large_url = base or f"sqlite:///{tmp}/large.sqlite3"
            for url in (small_url, large_url):
                if url.startswith("postgres"):
                    recreate_postgres(url)
            small = pages_in_subprocess(small_url, "small", args.reps)
            load = os.getloadavg()[0]
            large = pages_in_subprocess(large_url, "large", args.reps)
            load = max(load, os.getloadavg()[0])
        engine = "PostgreSQL" if large_url.startswith("postgres") else "SQLite"
        data = (
            f"{large['ids']['charts']:,} charts, {large['ids']['threads']:,} threads, "
            f"{large['ids']['messages']:,} messages"
        )
        for s, big in zip(small["pages"], large["pages"], strict=True):
            rows.append(
                f"| {engine}, {data} | {big['case']} | {big['median_ms']:.1f} / {big['p90_ms']:.1f} ms | "
                f"{s['queries']} → {big['queries']} | {load:.1f} |"
            )
    print("\n".join(rows))
    delivery_row = None if args.skip_delivery else delivery(args)
    if delivery_row:
        print(delivery_row)
    if args.write:
        ensure_section()
        for row in rows:
            append_table_row(
                row,
                start="<!-- patient-messages-pages:start -->",
                end="<!-- patient-messages-pages:end -->",
                header=PAGES_HEADER,
            )
        if delivery_row:
            append_table_row(
                delivery_row,
                start="<!-- patient-messages-delivery:start -->",
                end="<!-- patient-messages-delivery:end -->",
                header=DELIVERY_HEADER,
            )


if __name__ == "__main__":
    main()
