"""Request-path CPU, profiled: where the web process and PostgreSQL spend their time per page.

The load test (bench/load.py) measures the CPU of the whole request path under load; this script
takes its page mix apart, one page at a time, in one Django process. The database (default
`portal_cpu_bench` on the local server) gets `seed_demo --scale N`, the load test's accounts
(`bench.load.make_accounts`: pharmacists in the demo care group, one user per prescriber record,
delegates, and chat requests for every prescriber) and `VACUUM ANALYZE`, unless it already holds
N prescriptions. Then, in a child process with `DEBUG=false`, Redis for the cache and the
channel layer, the database task backend and sessions in the database (the load test's
topology), each page of the mix is requested with Django's test `Client` (the whole middleware
stack, view, template; CSRF enforced; no network, no HTTP server) as pharmacist@demo.test (care
group: half the book) and prescriber@demo.test (2% of it). The chat page's request is topped up
to 50 messages and each user's bell to 50 notifications (as the chat fan-out leaves them):

- per request: wall time, this process's CPU (`time.process_time`: the Python side, the test
  client's small part included), the CPU of the PostgreSQL backends serving the database (from
  /proc, summed over the run and divided; 10 ms ticks, so a mean over --reps requests), the
  statements and their time as Django's cursor sees them (execution + round trip);
- one request under cProfile (--profile-reps of them): the functions with the most own time and
  the time by package, in artifacts/profile/<user>-<page>.txt;
- one request's statements, each SELECT with `EXPLAIN (ANALYZE, BUFFERS)` (planning +
  execution time, shared buffers hit/read), in artifacts/profile/<user>-<page>.sql.txt;
- --reps more requests under a stack sampler (every 0.5 ms): the share of the wall time spent
  waiting for PostgreSQL, compiling SQL, in the rest of the ORM, in templates, forms and
  filters, the session/user/second-factor lookups, and the rest.

    .venv/bin/python bench/profile_pages.py [--reps 30] [--scale 100000] [--database portal_cpu_bench]
        [--pages dashboard,bell] [--label after] [--before before] [--write]
    .venv/bin/python bench/profile_pages.py --report after1,after2 --before base1,base2 [--write]

Each run is saved as artifacts/profile/<label>.json; --before compares with saved runs, --report
prints the table of saved runs without measuring (several labels: their mean, page by page).
--write puts the table into docs/PERFORMANCE.md between the profile markers ("Request-path CPU,
profiled"). CPU time on a shared machine varies by tens of percent from run to run: a small
change is better measured A/B within one process (see that section).
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import os
import pstats
import re
import statistics
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))
PG_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
REDIS_URL = os.getenv("REDIS_URL", "redis://127.0.0.1:6379/0")
DOC = BASE_DIR / "docs" / "PERFORMANCE.md"
OUT = BASE_DIR / "artifacts" / "profile"
MARK_START, MARK_END = "<!-- profile-pages:start -->", "<!-- profile-pages:end -->"
USERS = ["pharmacist@demo.test", "prescriber@demo.test"]
HX = {"HTTP_HX_REQUEST": "true"}

# key, label, method, URL ({patient} and {chat} filled in per user), extra headers.
PAGES: list[tuple[str, str, str, str, dict[str, str]]] = [
    ("dashboard", "dashboard", "GET", "/dashboard/", {}),
    (
        "quick",
        "dashboard ?quick=due (htmx)",
        "GET",
        "/dashboard/?quick=due",
        {**HX, "HTTP_HX_TARGET": "dashboard-results"},
    ),
    (
        "status",
        "dashboard ?status=pa_pending (htmx)",
        "GET",
        "/dashboard/?status=pa_pending",
        {**HX, "HTTP_HX_TARGET": "dashboard-results"},
    ),
    (
        "name",
        "dashboard ?last_name=Pat (htmx)",
        "GET",
        "/dashboard/?last_name=Pat",
        {**HX, "HTTP_HX_TARGET": "dashboard-results"},
    ),
    (
        "sort",
        "dashboard ?sort=-last_shipped (htmx)",
        "GET",
        "/dashboard/?sort=-last_shipped",
        {**HX, "HTTP_HX_TARGET": "dashboard-results"},
    ),
    (
        "page2",
        "dashboard ?page=2 (htmx)",
        "GET",
        "/dashboard/?page=2",
        {**HX, "HTTP_HX_TARGET": "dashboard-results"},
    ),
    ("patient", "patient profile", "GET", "/patients/{patient}/", {}),
    ("requests", "request list", "GET", "/requests/", {}),
    ("chat", "request (chat page)", "GET", "/requests/{chat}/", {}),
    (
        "send",
        "chat send (htmx POST)",
        "POST",
        "/requests/{chat}/messages/",
        {**HX, "HTTP_HX_TARGET": "message-list"},
    ),
    (
        "bell",
        "bell",
        "GET",
        "/notifications/bell/",
        {**HX, "HTTP_HX_TARGET": "notification-feed"},
    ),
]


# Parent: the database ------------------------------------------------------------------------


def pg(url: str, sql: str) -> Any:
    import psycopg

    with psycopg.connect(url.replace("postgres://", "postgresql://"), autocommit=True) as conn:
        cursor = conn.execute(sql)
        return cursor.fetchone() if cursor.description else None


def bench_env(url: str) -> dict[str, str]:
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "portal.settings",
        "DATABASE_URL": url,
        "DEBUG": "false",
        "SECRET_KEY": "bench-only-" + "x" * 40,
        "REDIS_URL": REDIS_URL,
        "CACHE_PREFIX": "bench-profile",
        "CHANNEL_PREFIX": "bench-profile",
        # As in the load test's topology: tasks are queued in the database, not run inline.
        "TASKS_BACKEND": "django_tasks_db.DatabaseBackend",
    }


def manage(env: dict[str, str], *args: str) -> str:
    result = subprocess.run(
        [sys.executable, "manage.py", *args], cwd=BASE_DIR, env=env, capture_output=True, text=True
    )
    if result.returncode:
        raise SystemExit(f"manage.py {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
    return result.stdout


def prepare(name: str, scale: int) -> str:
    url = f"postgres://postgres@127.0.0.1:5432/{name}"
    try:
        count = pg(url, "SELECT COUNT(*) FROM prescriptions_prescription")[0]
    except Exception:  # noqa: BLE001  # no database yet, or not migrated
        count = 0
    if count == scale:
        return url
    pg(PG_ADMIN_URL, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    pg(PG_ADMIN_URL, f'CREATE DATABASE "{name}"')
    env = bench_env(url)
    manage(env, "migrate", "--noinput", "-v", "0")
    print(manage(env, "seed_demo", "--scale", str(scale), "--quiet-logins").strip(), flush=True)
    accounts = OUT / "accounts.json"
    OUT.mkdir(parents=True, exist_ok=True)
    result = subprocess.run(
        [sys.executable, "bench/load.py", "--make-accounts", str(accounts), "--per-role", "200"],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
    )
    if result.returncode:
        raise SystemExit(f"making the accounts failed:\n{result.stdout}\n{result.stderr}")
    accounts.unlink(missing_ok=True)  # TOTP keys: not kept
    pg(url, "VACUUM ANALYZE")
    return url


# Child: measurement inside one Django process ------------------------------------------------


class BackendCpu:
    """CPU seconds used so far by the PostgreSQL backends connected to one database."""

    def __init__(self, database: str) -> None:
        self.marker = f" postgres {database} ".encode()
        self.tick = os.sysconf("SC_CLK_TCK")

    def __call__(self) -> float:
        total = 0.0
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                if self.marker not in (entry / "cmdline").read_bytes():
                    continue
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            total += (int(fields[11]) + int(fields[12])) / self.tick
        return total


def package_of(filename: str) -> str:
    """A profile entry's place: `django.template`, `psycopg`, `portal`, `<builtin>`…"""
    if filename.startswith("~") or filename.startswith("<"):
        return "<builtin>"
    path = Path(filename)
    parts = path.parts
    if "site-packages" in parts:
        rest = parts[parts.index("site-packages") + 1 :]
        if rest[0] == "django" and len(rest) > 2:
            return f"django.{rest[1]}"
        return rest[0].removesuffix(".py")
    try:
        rel = path.relative_to(BASE_DIR)
        return rel.parts[0] if len(rel.parts) > 1 else rel.stem
    except ValueError:
        return "stdlib"


def profile_text(profiler: cProfile.Profile, reps: int) -> tuple[str, dict[str, float]]:
    stats = pstats.Stats(profiler)
    by_package: dict[str, float] = defaultdict(float)
    for (filename, _line, _name), (_cc, _nc, tottime, _ct, _callers) in stats.stats.items():  # type: ignore[attr-defined]
        by_package[package_of(filename)] += tottime * 1000 / reps
    buffer = io.StringIO()
    stats.stream = buffer  # type: ignore[attr-defined]
    stats.sort_stats("cumulative").print_stats(60)
    # The project's own functions (not the libraries'), by time including callees.
    stats.sort_stats("cumulative").print_stats(rf"^{re.escape(str(BASE_DIR))}/(?!\.venv|bench)", 50)
    stats.sort_stats("tottime").print_stats(40)
    packages = "\n".join(
        f"{ms:8.2f} ms  {name}" for name, ms in sorted(by_package.items(), key=lambda i: -i[1])
    )
    text = (
        f"Own time by package, ms per request (under cProfile):\n{packages}\n\n{buffer.getvalue()}"
    )
    return text, dict(by_package)


# Where a request's time goes, by sampling its stack every SAMPLE_SECONDS (wall clock: waits for
# PostgreSQL show as such); each sample counts for the innermost frame that names a category.
SAMPLE_SECONDS = 0.0005
CATEGORIES = [
    ("waiting for PostgreSQL", ("psycopg/connection.py", "psycopg/waiting.py")),
    ("SQL compiling", ("django/db/models/sql/compiler.py",)),
    ("ORM (querysets, rows to objects)", ("django/db/", "psycopg/")),
    ("templates", ("django/template/", "template_partials/", "templatetags/")),
    ("forms and filters", ("django/forms/", "django_filters/")),
    (
        "session, user, second factor",
        ("django/contrib/sessions/", "django/contrib/auth/", "django_otp/"),
    ),
]


def sampled_categories(run: Any, reps: int) -> dict[str, float]:
    """Share (%) of wall time per category over `reps` calls of `run`, by stack sampling."""
    import threading

    main = threading.get_ident()
    counts: dict[str, int] = defaultdict(int)
    stop = threading.Event()

    def category(frame: Any) -> str:
        while frame is not None:
            name = frame.f_code.co_filename
            for label, parts in CATEGORIES:
                if any(part in name for part in parts):
                    return label
            frame = frame.f_back
        return "other"

    def sampler() -> None:
        while not stop.is_set():
            time.sleep(SAMPLE_SECONDS)
            frame = sys._current_frames().get(main)
            if frame is not None:
                counts[category(frame)] += 1

    interval = sys.getswitchinterval()
    sys.setswitchinterval(SAMPLE_SECONDS / 2)
    thread = threading.Thread(target=sampler, daemon=True)
    thread.start()
    try:
        for _ in range(reps):
            run()
    finally:
        stop.set()
        thread.join()
        sys.setswitchinterval(interval)
    total = sum(counts.values()) or 1
    # "other": the middleware, the views' own code, the URL resolver, the test client.
    return {label: round(100 * n / total, 1) for label, n in counts.items()}


def explain_log(connection: Any, queries: list[dict[str, Any]]) -> tuple[str, float, int]:
    """Each statement; each SELECT with EXPLAIN (ANALYZE, BUFFERS): text, its ms, buffers."""
    from django.db import transaction

    lines, total_ms, buffers = [], 0.0, 0
    for number, query in enumerate(queries, 1):
        sql = query["sql"]
        lines.append(f"-- {number}. client {float(query['time']) * 1000:.2f} ms\n{sql}")
        if not sql.lstrip().upper().startswith(("SELECT", "(SELECT")):
            lines.append("")
            continue
        # In a transaction rolled back: a SELECT … FOR UPDATE locks nothing for long.
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) {sql}")
            plan = cursor.fetchone()[0]
            plan = plan[0] if isinstance(plan, list) else json.loads(plan)[0]
            cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS) {sql}")
            text = "\n".join(row[0] for row in cursor.fetchall())
            transaction.set_rollback(True)
        ms = plan["Planning Time"] + plan["Execution Time"]
        total_ms += ms
        buffers += plan["Plan"].get("Shared Hit Blocks", 0) + plan["Plan"].get(
            "Shared Read Blocks", 0
        )
        lines.append(f"-- planning + execution {ms:.2f} ms\n{text}\n")
    return "\n".join(lines), total_ms, buffers


CHAT_MESSAGES = 50


def fill_conversation(chat_id: int, user: Any) -> None:
    """Messages in the request until it holds CHAT_MESSAGES (two authors, alternating)."""
    import datetime as dt

    from django.utils import timezone

    from accounts.models import User
    from requests_chat.models import Message

    have = Message.objects.filter(request_id=chat_id).count()
    other = User.objects.get(
        email="pharmacist@demo.test" if user.is_prescriber else "prescriber@demo.test"
    )
    start = timezone.now() - dt.timedelta(days=1)
    for n in range(have, CHAT_MESSAGES):
        author = user if n % 2 else other
        Message.objects.create(
            request_id=chat_id,
            author=author,
            author_name=str(author),
            author_role=author.role_label,
            body=f"Conversation message {n + 1}: checking the refill and the shipping date.",
            created_at=start + dt.timedelta(minutes=n),
            client_id=f"profile-{chat_id}-{n}",
        )


BELL_NOTIFICATIONS = 50


def fill_bell(user: Any) -> None:
    """Notifications for the user until they hold BELL_NOTIFICATIONS (the bell on every page
    reads them; the load test's users had them from the chat fan-out): about the prescriptions
    of the chat requests they see, every third one read."""
    import datetime as dt

    from django.utils import timezone

    from notifications.models import Activity, Notification
    from requests_chat.models import Request

    have = Notification.objects.filter(recipient=user).count()
    chats = list(Request.objects.visible_to(user).select_related("prescription").order_by("pk"))
    start = timezone.now() - dt.timedelta(days=2)
    Notification.objects.bulk_create(
        Notification(
            recipient=user,
            activity=Activity.NEW_MESSAGE,
            prescription=chats[n % len(chats)].prescription,
            patient_id=chats[n % len(chats)].prescription.patient_id,
            url=f"/requests/{chats[n % len(chats)].pk}/",
            created_at=start + dt.timedelta(minutes=n),
            read_at=start + dt.timedelta(minutes=n + 1) if n % 3 == 0 else None,
        )
        for n in range(have, BELL_NOTIFICATIONS)
    )


def measure(args: argparse.Namespace) -> dict[str, Any]:
    import django

    django.setup()
    from django.conf import settings
    from django.db import connection
    from django.test import Client, override_settings
    from django.test.utils import CaptureQueriesContext
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from accounts.models import User
    from prescriptions.models import Prescription
    from requests_chat.models import Request

    # Production settings without a collectstatic run: plain static URLs (no manifest).
    storages = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    override_settings(STORAGES=storages).enable()
    backend_cpu = BackendCpu(settings.DATABASES["default"]["NAME"])
    OUT.mkdir(parents=True, exist_ok=True)
    wanted = set(args.pages.split(",")) if args.pages else None

    def client_for(email: str) -> tuple[Client, User]:
        user = User.objects.get(email=email)
        client = Client(enforce_csrf_checks=True)
        client.force_login(user)
        device, _ = TOTPDevice.objects.get_or_create(
            user=user, name="bench", defaults={"confirmed": True}
        )
        session = client.session
        session["otp_device_id"] = device.persistent_id
        session.save()
        return client, user

    out: dict[str, Any] = {
        "label": args.label,
        "load_before": os.getloadavg(),
        "prescriptions": Prescription.objects.count(),
        "session_engine": settings.SESSION_ENGINE,
        "pages": [],
    }
    for email in USERS:
        client, user = client_for(email)
        visible = Prescription.objects.visible_to(user).count()
        first = client.get("/dashboard/", secure=True)
        assert first.status_code == 200, first.status_code
        patient = re.search(rb'href="/patients/(\d+)/"', first.content)[1].decode()  # type: ignore[index]
        # The chat page shows a conversation of CHAT_MESSAGES messages; the sends go to another
        # request, so that the page measured does not grow from run to run.
        chat, send_to = (
            Request.objects.visible_to(user).order_by("pk").values_list("pk", flat=True)[:2]
        )
        fill_conversation(chat, user)
        fill_bell(user)
        csrf = client.cookies["csrftoken"].value
        sent = 0

        def request(
            method: str, url: str, headers: dict[str, str], client: Any = client, csrf: str = csrf
        ) -> Any:
            nonlocal sent
            if method == "GET":
                return client.get(url, secure=True, **headers)
            sent += 1
            return client.post(
                url,
                {
                    "body": f"Profile run {sent}: refill confirmed.",
                    "client_id": os.urandom(16).hex(),
                },
                secure=True,
                HTTP_X_CSRFTOKEN=csrf,
                HTTP_ORIGIN="https://testserver",
                HTTP_REFERER="https://testserver/",
                **headers,
            )

        for key, label, method, template, headers in PAGES:
            if wanted and key not in wanted:
                continue
            url = template.format(patient=patient, chat=send_to if key == "send" else chat)
            for _ in range(3):  # warm: templates, caches, the database's buffers
                response = request(method, url, headers)
                assert response.status_code == 200, (url, response.status_code)
            wall, cpu, sql_ms, nqueries = [], [], [], []
            pg_before = backend_cpu()
            cpu_total = 0.0

            def timing(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
                started = time.perf_counter()
                try:
                    return execute(sql, params, many, context)
                finally:
                    timing.ms += (time.perf_counter() - started) * 1000  # type: ignore[attr-defined]
                    timing.n += 1  # type: ignore[attr-defined]

            for _ in range(args.reps):
                timing.ms, timing.n = 0.0, 0  # type: ignore[attr-defined]
                started, cpu_started = time.perf_counter(), time.process_time()
                with connection.execute_wrapper(timing):
                    response = request(method, url, headers)
                cpu_ms = (time.process_time() - cpu_started) * 1000
                wall.append((time.perf_counter() - started) * 1000)
                cpu.append(cpu_ms)
                cpu_total += cpu_ms
                sql_ms.append(timing.ms)  # type: ignore[attr-defined]
                nqueries.append(timing.n)  # type: ignore[attr-defined]
                assert response.status_code == 200, (url, response.status_code)
            pg_ms = (backend_cpu() - pg_before) * 1000 / args.reps
            # One request's statements, explained.
            with CaptureQueriesContext(connection) as captured:
                response = request(method, url, headers)
            sql_text, explain_ms, buffers = explain_log(connection, captured.captured_queries)
            name = f"{email.split('@')[0]}-{key}"
            (OUT / f"{name}.sql.txt").write_text(f"{label} as {email}: {url}\n\n{sql_text}")
            # The profile.
            profiler = cProfile.Profile(time.process_time)  # CPU, not waits
            for _ in range(args.profile_reps):
                profiler.enable()
                request(method, url, headers)
                profiler.disable()
            profiler.dump_stats(OUT / f"{name}.prof")
            text, packages = profile_text(profiler, args.profile_reps)
            (OUT / f"{name}.txt").write_text(f"{label} as {email}: {url}\n\n{text}")
            shares = sampled_categories(
                lambda method=method, url=url, headers=headers: request(method, url, headers),
                args.reps,
            )
            page = {
                "user": email,
                "visible": visible,
                "key": key,
                "page": label,
                "url": url,
                "wall_ms": statistics.median(wall),
                "python_cpu_ms": statistics.median(cpu),
                "python_cpu_mean_ms": cpu_total / args.reps,
                "pg_cpu_ms": pg_ms,
                "sql_ms": statistics.median(sql_ms),
                "queries": statistics.median(nqueries),
                "explain_ms": explain_ms,
                "buffers": buffers,
                "bytes": len(response.content),
                "packages": {k: round(v, 2) for k, v in packages.items() if v >= 0.5},
                "shares": shares,
            }
            out["pages"].append(page)
            print(
                f"{email:22} {label:38} wall {page['wall_ms']:6.1f}  py {page['python_cpu_ms']:5.1f}"
                f"  pg {pg_ms:5.1f}  sql {page['sql_ms']:5.1f} ({page['queries']:.0f} q)"
                f"  explain {explain_ms:5.1f}",
                file=sys.stderr,
                flush=True,
            )
    out["load_after"] = os.getloadavg()
    return out


# Report --------------------------------------------------------------------------------------


def table(result: dict[str, Any], before: dict[str, Any] | None = None) -> str:
    old = {(p["user"], p["key"]): p for p in before["pages"]} if before else {}

    def cell(page: dict[str, Any], field: str) -> str:
        value = page[field]
        prior = old.get((page["user"], page["key"]))
        return f"{prior[field]:.1f} → {value:.1f}" if prior else f"{value:.1f}"

    load = result["load_before"]
    lines = [
        f"{result['prescriptions']:,} prescriptions; load average (1 / 5 min) {load[0]:.2f} / "
        f"{load[1]:.2f} before, {result['load_after'][0]:.2f} after (highest of the runs); "
        f"sessions `{result['session_engine']}`"
        + (f"; before → after (`{before['label']}` → `{result['label']}`)" if before else "")
        + ":",
        "",
        "| user (visible) | page | wall median ms | Python CPU ms | PostgreSQL CPU ms | SQL ms "
        "(client) | statements | EXPLAIN ms |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for page in result["pages"]:
        lines.append(
            f"| {page['user'].split('@')[0]} ({page['visible']:,}) | {page['page']} | "
            f"{cell(page, 'wall_ms')} | {cell(page, 'python_cpu_ms')} | {cell(page, 'pg_cpu_ms')} | "
            f"{cell(page, 'sql_ms')} | {cell(page, 'queries')} | {cell(page, 'explain_ms')} |"
        )
    labels = [label for label, _parts in CATEGORIES] + ["other"]
    if all("shares" in page for page in result["pages"]):
        lines += [
            "",
            "Where the wall time of each request goes (% of stack samples every "
            f"{SAMPLE_SECONDS * 1000:g} ms over the requests; the innermost frame that names a "
            "category decides; “other” is the middleware, the views' own code, URL resolving and "
            "the test client):",
            "",
            "| user | page | " + " | ".join(labels) + " |",
            "|---|---|" + "---|" * len(labels),
        ]
        for page in result["pages"]:
            shares = page["shares"]
            lines.append(
                f"| {page['user'].split('@')[0]} | {page['page']} | "
                + " | ".join(f"{shares.get(label, 0):.0f}" for label in labels)
                + " |"
            )
    return "\n".join(lines) + "\n"


FIGURES = ("wall_ms", "python_cpu_ms", "pg_cpu_ms", "sql_ms", "queries", "explain_ms")


def load_runs(labels: str) -> dict[str, Any]:
    """Saved runs (artifacts/profile/<label>.json), several averaged page by page."""
    runs = [json.loads((OUT / f"{label}.json").read_text()) for label in labels.split(",")]
    if len(runs) == 1:
        return runs[0]
    merged = {
        **runs[0],
        "label": labels,
        "load_before": [max(r["load_before"][i] for r in runs) for i in range(3)],
        "load_after": [max(r["load_after"][i] for r in runs) for i in range(3)],
        "pages": [],
    }
    for pages in zip(*(r["pages"] for r in runs), strict=True):
        page = dict(pages[0])
        for field in FIGURES:
            page[field] = statistics.mean(p[field] for p in pages)
        if all("shares" in p for p in pages):
            labels = {label for p in pages for label in p["shares"]}
            page["shares"] = {
                label: statistics.mean(p["shares"].get(label, 0) for p in pages) for label in labels
            }
        merged["pages"].append(page)
    return merged


def write_doc(text: str) -> None:
    doc = DOC.read_text()
    block = f"{MARK_START}\n{text}{MARK_END}"
    if MARK_START in doc:
        doc = re.sub(
            re.escape(MARK_START) + ".*?" + re.escape(MARK_END), lambda _: block, doc, flags=re.S
        )
    else:
        doc = doc.rstrip("\n") + "\n\n" + block + "\n"
    DOC.write_text(doc)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--scale", type=int, default=100_000)
    parser.add_argument("--database", default="portal_cpu_bench")
    parser.add_argument("--reps", type=int, default=30)
    parser.add_argument("--profile-reps", type=int, default=10)
    parser.add_argument("--pages", default="", help="comma-separated keys (default: all)")
    parser.add_argument("--label", default="run")
    parser.add_argument("--before", default="", help="label of an earlier run to compare with")
    parser.add_argument("--write", action="store_true")
    parser.add_argument(
        "--report",
        default="",
        help="no measuring: the table of saved runs (labels, comma-separated: their mean), "
        "against --before (labels likewise)",
    )
    parser.add_argument("--measure", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        print(json.dumps(measure(args)))
        return
    if args.report:
        text = table(load_runs(args.report), load_runs(args.before) if args.before else None)
        print(text)
        if args.write:
            write_doc(text)
        return
    url = prepare(args.database, args.scale)
    child = [
        sys.executable,
        __file__,
        "--measure",
        *("--reps", str(args.reps), "--profile-reps", str(args.profile_reps)),
        *("--label", args.label, "--pages", args.pages),
    ]
    result = subprocess.run(
        child, cwd=BASE_DIR, env=bench_env(url), stdout=subprocess.PIPE, text=True
    )
    if result.returncode:
        raise SystemExit("measuring failed")
    data = json.loads(result.stdout.strip().splitlines()[-1])
    (OUT / f"{args.label}.json").write_text(json.dumps(data, indent=1))
    text = table(data, load_runs(args.before) if args.before else None)
    print(text)
    if args.write:
        write_doc(text)


if __name__ == "__main__":
    main()
