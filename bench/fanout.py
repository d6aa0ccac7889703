"""Benchmark: the task worker's fan-out of one chat message to a request's whole audience.

Method. A PostgreSQL database of its own (default `bench_fanout`, recreated; `--reuse` keeps a
seeded one) holds `seed_demo --scale N` (default 100,000 prescriptions, as the load test) plus
`--readers` pharmacists (default 200) added to the demo care group, which covers the first demo
prescriber (Jane Smith) and half the directory: each of them sees about half of the book, as in
"Load test through the proxy". One request on a prescription of Jane's is seen by those
pharmacists, Jane, her delegate and the demo pharmacist; half of the audience has read its first
message. The channel layer is the portal's default, channels_redis' pub/sub layer on Redis
(REDIS_URL, a prefix of its own); tasks run inline.

Each code version is measured in a child process of its own, the same way: messages are stored
directly (no push from a web process), alternately by Jane and by the demo pharmacist, and for
each one `requests_chat.tasks.notify_chat_event` is run as the worker runs it, with the audience
computed beforehand as the web process does at commit. Per message: the process CPU time (all
its threads: asgiref runs each `async_to_sync` call in a helper thread), the wall time, the SQL
statements it ran, and the CPU time of its PostgreSQL backend (from /proc). The first
`--warmup` messages are not counted. Notification emails are a task of their own (one email per
recipient, unchanged here): their queueing is recorded, not run. "before" is the code of
`--before` (default: where this branch left main, `git merge-base HEAD main`), exported with
`git archive` into a temporary directory; "after" is this checkout.

    .venv/bin/python bench/fanout.py [--scale 100000] [--readers 200] [--messages 50] [--reuse]
        [--before REV] [--write]

--write puts the result table into the "Chat message fan-out (worker)" section of
docs/PERFORMANCE.md.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
DOC = BASE_DIR / "docs" / "PERFORMANCE.md"
START, END = "<!-- fanout-bench:start -->", "<!-- fanout-bench:end -->"
READER_EMAIL = "fanout-pharmacist-{:03d}@bench.test"


def proc_cpu(pid: int) -> float:
    """CPU seconds (user + system) a process has used, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def seed(scale: int, readers: int) -> None:
    """seed_demo at `scale`, then `readers` pharmacists in the demo care group (idempotent)."""
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from accounts.models import User
    from prescriptions.models import CareGroup

    call_command("migrate", verbosity=0)
    call_command("seed_demo", scale=scale, quiet_logins=True)
    group = CareGroup.objects.get(name="Immunology & Oncology team")
    existing = set(
        User.objects.filter(email__endswith="@bench.test").values_list("email", flat=True)
    )
    new = [
        User(
            email=READER_EMAIL.format(n),
            password="!",  # unusable: nobody signs in here
            first_name="Fanout",
            last_name=f"P{n:03d}",
            role=User.Role.PHARMACIST,
        )
        for n in range(readers)
        if READER_EMAIL.format(n) not in existing
    ]
    User.objects.bulk_create(new)
    group.pharmacists.add(*User.objects.filter(email__endswith="@bench.test"))
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")


def child(tree: str, messages: int, warmup: int) -> None:
    """Measure `notify_chat_event` with the code of `tree` (run as its own process)."""
    script_dir = str(Path(__file__).resolve().parent)
    sys.path[:] = [p for p in sys.path if p not in (script_dir, str(BASE_DIR))]
    sys.path.insert(0, tree)
    import django

    django.setup()
    from types import SimpleNamespace

    from django.db import connection

    import notifications.tasks
    from accounts.models import User
    from prescriptions.models import Prescription
    from requests_chat.models import Message, ReadState, Request
    from requests_chat.tasks import notify_chat_event

    assert Path(notifications.tasks.__file__).resolve().is_relative_to(Path(tree).resolve())
    queued_emails: list[int] = []
    notifications.tasks.send_notification_emails = SimpleNamespace(  # type: ignore[attr-defined]
        enqueue=lambda ids: queued_emails.extend(ids)
    )
    jane = User.objects.get(email="prescriber@demo.test")
    paul = User.objects.get(email="pharmacist@demo.test")
    rx = (
        Prescription.objects.filter(prescriber_id=jane.prescriber_id, chat_request__isnull=True)
        .order_by("pk")
        .first()
    )
    chat = Request.objects.create(prescription=rx, created_by=jane)
    first = Message.objects.create(request=chat, author=jane, body="Any update?", client_id="f0")
    audience = sorted(chat.audience())
    ReadState.objects.bulk_create(
        ReadState(user_id=user_id, request=chat, last_read_message_id=first.pk)
        for user_id in audience[::2]
    )
    statements = [0]

    def count(execute, sql, params, many, context):
        statements[0] += 1
        return execute(sql, params, many, context)

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        backend = cursor.fetchone()[0]
    rows = []
    for n in range(warmup + messages):
        author = jane if n % 2 else paul
        message = Message.objects.create(
            request=chat, author=author, body=f"Message {n}", client_id=f"m{n}"
        )
        audience = sorted(message.request.audience())  # the web process's part, not timed
        statements[0] = 0
        cpu, wall, db = time.process_time(), time.perf_counter(), proc_cpu(backend)
        with connection.execute_wrapper(count):
            notify_chat_event.enqueue("new_message", message.pk, author.pk, audience, {})
        rows.append(
            {
                "cpu": time.process_time() - cpu,
                "wall": time.perf_counter() - wall,
                "db": proc_cpu(backend) - db,
                "statements": statements[0],
            }
        )
    print(
        json.dumps({"audience": len(audience), "rows": rows[warmup:], "emails": len(queued_emails)})
    )


def run_child(tree: str, env: dict[str, str], messages: int, warmup: int) -> dict:
    out = subprocess.run(
        [
            sys.executable,
            str(Path(__file__).resolve()),
            "--child",
            tree,
            "--messages",
            str(messages),
            "--warmup",
            str(warmup),
        ],
        env={**os.environ, **env},
        cwd=tree,
        capture_output=True,
        text=True,
        check=False,
    )
    if out.returncode:
        raise SystemExit(f"child for {tree} failed:\n{out.stderr[-4000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def summary(label: str, result: dict, load: tuple[float, float]) -> str:
    rows = result["rows"]

    def ms(key: str, f=statistics.median) -> float:
        return 1000 * f([r[key] for r in rows])

    statements = sorted({r["statements"] for r in rows})
    shown = str(statements[0]) if len(statements) == 1 else f"{statements[0]}–{statements[-1]}"
    return (
        f"| {label} | {result['audience']} | {len(rows)} | {ms('cpu'):.0f} / "
        f"{ms('cpu', statistics.mean):.0f} ms | {ms('wall'):.0f} ms | {ms('db'):.0f} ms | "
        f"{shown} | {sum(r['cpu'] for r in rows) / sum(r['wall'] for r in rows):.2f} | "
        f"{load[0]:.1f} → {load[1]:.1f} |"
    )


HEADER = (
    "| code | audience | messages | worker CPU per message, median / mean | wall per message "
    "(median) | PostgreSQL backend CPU per message (median) | SQL statements per message | "
    "worker cores while busy | load avg (1 min) before → after |\n"
    "|---|---|---|---|---|---|---|---|---|"
)


def write(rows: list[str], intro: str) -> None:
    """Replace the table between the fan-out markers of docs/PERFORMANCE.md."""
    text = DOC.read_text()
    if START not in text:
        raise SystemExit(f"docs/PERFORMANCE.md has no {START} marker")
    before, rest = text.split(START, 1)
    _, after = rest.split(END, 1)
    DOC.write_text(f"{before}{START}\n{intro}\n\n{HEADER}\n" + "\n".join(rows) + f"\n{END}{after}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=int, default=100_000, help="seed_demo --scale")
    parser.add_argument("--readers", type=int, default=200, help="pharmacists added")
    parser.add_argument("--messages", type=int, default=50)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument(
        "--database-url",
        default=os.getenv("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/bench_fanout"),
    )
    parser.add_argument("--redis-url", default=os.getenv("REDIS_URL") or "redis://127.0.0.1:6379/0")
    parser.add_argument("--reuse", action="store_true", help="keep a database seeded before")
    parser.add_argument("--before", default="", help="git revision of 'before' (merge-base)")
    parser.add_argument("--only-after", action="store_true")
    parser.add_argument("--write", action="store_true")
    parser.add_argument("--child", metavar="TREE", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.messages, args.warmup)
        return

    sys.path.insert(0, str(BASE_DIR))
    from bench.chat import recreate_postgres, server_env

    tmp = tempfile.TemporaryDirectory(prefix="fanout-bench-")
    env = server_env(
        args.database_url, args.redis_url, "pubsub", media_root=f"{tmp.name}/media", prefix="fanout"
    )
    env["TASKS_BACKEND"] = "django_tasks.backends.immediate.ImmediateBackend"  # inline
    env["DB_CONN_MAX_AGE"] = "600"  # the worker keeps its connection
    os.environ.update(env)
    started = time.monotonic()
    if not args.reuse:
        recreate_postgres(args.database_url)
    seed(args.scale, args.readers)
    seeded = time.monotonic() - started

    versions: list[tuple[str, str]] = []
    if not args.only_after:
        rev = (
            args.before
            or subprocess.run(
                ["git", "merge-base", "HEAD", "main"],
                cwd=BASE_DIR,
                capture_output=True,
                text=True,
                check=True,
            ).stdout.strip()
        )
        short = subprocess.run(
            ["git", "rev-parse", "--short", rev], cwd=BASE_DIR, capture_output=True, text=True
        ).stdout.strip()
        old = Path(tmp.name) / "before"
        old.mkdir()
        archive = subprocess.run(
            ["git", "archive", rev], cwd=BASE_DIR, capture_output=True, check=True
        )
        subprocess.run(["tar", "-x", "-C", str(old)], input=archive.stdout, check=True)
        versions.append((f"before ({short})", str(old)))
    head = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=BASE_DIR, capture_output=True, text=True
    ).stdout.strip()
    dirty = subprocess.run(
        ["git", "status", "--porcelain", "--untracked-files=no", "--", ".", ":!docs"],
        cwd=BASE_DIR,
        capture_output=True,
        text=True,
    ).stdout.strip()
    versions.append((f"after ({head}{'+' if dirty else ''})", str(BASE_DIR)))

    rows = []
    for label, tree in versions:
        load_before = os.getloadavg()[0]
        result = run_child(tree, env, args.messages, args.warmup)
        row = summary(label, result, (load_before, os.getloadavg()[0]))
        print(row, f"(emails queued: {result['emails']})", flush=True)
        rows.append(row)
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    intro = (
        f"Run {when}: `seed_demo --scale {args.scale}` + {args.readers} pharmacists "
        f"(seeding {seeded:.0f} s{', reused' if args.reuse else ''}), {args.messages} messages "
        f"timed after {args.warmup} warm-up, PostgreSQL and Redis (pub/sub layer) on 127.0.0.1, "
        f"2 cores shared with other work."
    )
    print(intro)
    if args.write:
        write(rows, intro)


if __name__ == "__main__":
    main()
