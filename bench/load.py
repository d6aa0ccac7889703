"""Load test through the proxy: the production topology on this machine, locust in steps of users.

Method. deploy/topology.py brings up the topology (nginx with deploy/nginx.conf in front of two
uvicorn web processes, the task worker, the scheduler, Redis and moto's S3 server, all on
127.0.0.1) on a PostgreSQL database of its own (default `bench_load` on the local server). The
database gets `seed_demo --scale N` (timed; with --reuse, a database that already holds N
prescriptions is kept and the earlier seeding time is reported), then the load-test accounts:
pharmacists in the demo care group, prescribers (one user per prescriber record, as the schema
has it), delegates spread over the prescribers, each with a confirmed authenticator (TOTP)
device whose key locust computes codes from; and a few chat requests per prescriber, so every
user has conversations. Then `VACUUM ANALYZE`.

locust (bench/load/locustfile.py) runs headless in one process against https://127.0.0.1:<port>
(the proxy), through a step shape: for each step of users, the new users sign in through the
sign-in and authenticator pages and open their two sockets (the ramp), the statistics settle for
--settle seconds and are reset, then the step is measured for --step-seconds: per page p50/p99,
requests/s, failures, websocket clients held and frames pushed, and the 1-minute load average
(sampled every 5 s). Users stay between steps (a step adds users), as a clinic's morning does.

    .venv/bin/python bench/load.py [--steps 10,25,50,100,150,200] [--step-seconds 60]
        [--reuse] [--scale 100000] [--write]

--write puts the tables between the load-test markers of docs/PERFORMANCE.md ("Load test
through the proxy"). The knee is the first step where any page's p99 passes 200 ms.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))
DOC = BASE_DIR / "docs" / "PERFORMANCE.md"
PG_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
DEFAULT_DB = "postgres://postgres@127.0.0.1:5432/bench_load"
KNEE_MS = 200
LOCUSTFILE = BASE_DIR / "bench" / "load" / "locustfile.py"
MARK_START, MARK_END = "<!-- load-test:start -->", "<!-- load-test:end -->"
REQUESTS_PER_PRESCRIBER = 4


def pg(url: str, sql: str) -> list[Any]:
    import psycopg

    with psycopg.connect(url.replace("postgres://", "postgresql://"), autocommit=True) as conn:
        cursor = conn.execute(sql)
        return list(cursor.fetchone() or []) if cursor.description else []


def prescriptions_in(url: str) -> int:
    try:
        return int(pg(url, "SELECT COUNT(*) FROM prescriptions_prescription")[0])
    except Exception:  # noqa: BLE001  # no database yet, or not migrated
        return 0


def manage(env: dict[str, str], *args: str) -> tuple[float, str]:
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=3600,
    )
    if result.returncode:
        raise SystemExit(f"manage.py {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
    return time.monotonic() - started, result.stdout


# The accounts (run in a child process with the topology's environment: --make-accounts) --------


def make_accounts(path: Path, per_role: int) -> None:
    """Load-test users with TOTP devices, and chat requests for every prescriber; idempotent.

    Writes {"pharmacist": [...], "prescriber": [...], "delegate": [...]} with each account's
    email, password and TOTP key (hex) to `path` (the run's state folder, never committed).
    """
    import datetime as dt

    import django

    django.setup()
    from django.contrib.auth.hashers import make_password
    from django.db import transaction
    from django.utils import timezone
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from accounts.models import Delegation, User
    from prescriptions.management.commands.seed_demo import DEMO_PASSWORD
    from prescriptions.models import CareGroup, Prescriber, Prescription
    from requests_chat.models import Message, ReadState, Request

    password = make_password(DEMO_PASSWORD)  # one hash for all: signing in still checks it
    group = CareGroup.objects.get(name="Immunology & Oncology team")
    prescribers = list(Prescriber.objects.order_by("pk"))
    linked = set(User.objects.exclude(prescriber=None).values_list("prescriber_id", flat=True))
    accounts: dict[str, list[dict[str, str]]] = {"pharmacist": [], "prescriber": [], "delegate": []}

    def user(email: str, role: str, **fields: Any) -> User:
        found = User.objects.filter(email=email).first()
        if found is None:
            found = User.objects.create(
                email=email, password=password, role=role, first_name="Load", **fields
            )
        device = TOTPDevice.objects.filter(user=found, confirmed=True).first()
        if device is None:
            device = TOTPDevice.objects.create(user=found, name="Load test", confirmed=True)
        accounts[role].append({"email": email, "password": DEMO_PASSWORD, "totp_key": device.key})
        return found

    with transaction.atomic():
        for n in range(per_role):
            pharmacist = user(
                f"load-pharmacist-{n:03d}@load.test", User.Role.PHARMACIST, last_name=f"P{n:03d}"
            )
            group.pharmacists.add(pharmacist)
        # One user per prescriber record (a one-to-one); the demo's own two are left alone.
        for n, prescriber in enumerate(prescribers[2 : 2 + per_role]):
            email = f"load-prescriber-{n:03d}@load.test"
            if prescriber.pk in linked and not User.objects.filter(email=email).exists():
                continue  # someone else's record
            user(email, User.Role.PRESCRIBER, last_name=f"R{n:03d}", prescriber=prescriber)
        for n in range(per_role):
            delegate = user(
                f"load-delegate-{n:03d}@load.test", User.Role.DELEGATE, last_name=f"D{n:03d}"
            )
            Delegation.objects.get_or_create(
                delegate=delegate, prescriber=prescribers[n % len(prescribers)]
            )
        # Conversations: a few requests on each prescriber's prescriptions, with messages.
        demo_pharmacist = User.objects.get(email="pharmacist@demo.test")
        now = timezone.now()
        for prescriber in prescribers:
            have = Request.objects.filter(prescription__prescriber=prescriber).count()
            if have >= REQUESTS_PER_PRESCRIBER:
                continue
            rxs = (
                Prescription.objects.filter(prescriber=prescriber, chat_request__isnull=True)
                .active()
                .order_by("pk")[: REQUESTS_PER_PRESCRIBER - have]
            )
            for k, rx in enumerate(rxs):
                started = now - dt.timedelta(days=2, hours=k)
                chat = Request.objects.create(
                    prescription=rx, created_by=demo_pharmacist, created_at=started
                )
                for step in range(3):
                    message = Message.objects.create(
                        request=chat,
                        author=demo_pharmacist,
                        author_name=str(demo_pharmacist),
                        author_role=demo_pharmacist.role_label,
                        body=f"Checking on this refill ({step + 1}/3).",
                        created_at=started + dt.timedelta(hours=step),
                        client_id=f"load-{chat.pk}-{step}",
                    )
                ReadState.objects.update_or_create(
                    user=demo_pharmacist,
                    request=chat,
                    defaults={"last_read_message_id": message.pk},
                )
                Request.objects.filter(pk=chat.pk).update(last_message_at=message.created_at)
    path.write_text(json.dumps(accounts, indent=1))
    path.chmod(0o600)
    print(json.dumps({role: len(a) for role, a in accounts.items()}))


# The run ------------------------------------------------------------------------------------


def locust_command(
    host: str, load_env: dict[str, str], *options: str
) -> tuple[list[str], dict[str, str]]:
    """The argv and environment that run bench/load/locustfile.py headless against `host`.

    locust runs as a program of its own (it monkey-patches the standard library with gevent at
    import). `load_env` holds the locustfile's LOAD_* settings; any LOAD_* of this process's
    environment is dropped, so a caller's settings are the only ones. Used by this script and by
    tests/bench/test_locustfile.py, which runs the same file for a few seconds in CI.
    """
    argv = [
        str(Path(sys.executable).with_name("locust")),
        "-f",
        str(LOCUSTFILE),
        "--headless",
        "--host",
        host,
        "--loglevel",
        "WARNING",
        "--only-summary",
        *options,
    ]
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOAD_")}
    return argv, {**env, **load_env}


def run(args: argparse.Namespace) -> dict[str, Any]:
    from deploy.topology import Topology, free_port

    state = Path(args.state).resolve()
    state.mkdir(parents=True, exist_ok=True)
    name = args.database_url.rsplit("/", 1)[1]
    topology = Topology(
        state=state,
        https_port=args.port or free_port(),
        http_port=free_port(),
        database_url=args.database_url,
        extra_env={
            # The whole run signs in from 127.0.0.1; nothing fails, but say so plainly.
            "AXES_FAILURE_LIMIT": "1000",
            "CHANNEL_PREFIX": "load",
            "CACHE_PREFIX": "load",
        },
    )
    seed_file = state / "seed.json"
    count = prescriptions_in(args.database_url)
    reuse = args.reuse and count >= args.scale and seed_file.exists()
    if not reuse:
        pg(PG_ADMIN_URL, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        pg(PG_ADMIN_URL, f'CREATE DATABASE "{name}"')
        seed_file.unlink(missing_ok=True)
    for old_log in (state / "logs").glob("*.log"):
        old_log.unlink()  # this run's logs only (their tracebacks are counted)
    print(f"Starting the topology (database {name})…", flush=True)
    topology.up(seed=False)  # migrates; the demo data is seeded (and timed) below
    try:
        env = topology.env()
        if not reuse:
            print(f"seed_demo --scale {args.scale}…", flush=True)
            seconds, out = manage(env, "seed_demo", "--scale", str(args.scale), "--quiet-logins")
            seed = {"seconds": round(seconds, 1), "output": out.strip(), "at": now_utc()}
            seed_file.write_text(json.dumps(seed))
            print(f"seeded in {seconds:.1f} s: {out.strip()}", flush=True)
        seed = json.loads(seed_file.read_text())
        accounts = state / "accounts.json"
        per_role = max(int(s) for s in args.steps.split(","))
        result = subprocess.run(
            [
                sys.executable,
                __file__,
                "--make-accounts",
                str(accounts),
                "--per-role",
                str(per_role),
            ],
            cwd=BASE_DIR,
            env=env,
            capture_output=True,
            text=True,
        )
        if result.returncode:
            raise SystemExit(f"making the accounts failed:\n{result.stdout}\n{result.stderr}")
        print("accounts:", result.stdout.strip(), flush=True)
        pg(args.database_url, "VACUUM ANALYZE")
        results_file = state / "results.jsonl"
        results_file.unlink(missing_ok=True)
        time.sleep(args.quiet_seconds)
        load_before = os.getloadavg()
        started_at = now_utc()
        cpu = CpuSampler(topology, args.database_url)
        cpu.start()
        argv, locust_env = locust_command(
            topology.url.rstrip("/"),
            {
                "LOAD_ACCOUNTS": str(accounts),
                "LOAD_RESULTS": str(results_file),
                "LOAD_STEPS": args.steps,
                "LOAD_STEP_SECONDS": str(args.step_seconds),
                "LOAD_SETTLE_SECONDS": str(args.settle),
                "LOAD_SPAWN_RATE": str(args.spawn_rate),
            },
        )
        locust = subprocess.Popen(
            argv,
            cwd=BASE_DIR,
            env=locust_env,
            stdout=open(state / "locust.log", "w"),  # noqa: SIM115
            stderr=subprocess.STDOUT,
        )
        cpu.locust_pid = locust.pid
        try:
            locust.wait(timeout=7200)
        finally:
            cpu.stop()
        steps = [json.loads(line) for line in results_file.read_text().splitlines() if line]
        for step in steps:
            step["cpu"] = cpu.used(*step["window"]) if "window" in step else {}
        worker_log = (state / "logs" / "web1.log").read_text(errors="replace") + (
            state / "logs" / "web2.log"
        ).read_text(errors="replace")
        return {
            "started_at": started_at,
            "finished_at": now_utc(),
            "scale": args.scale,
            "seed": seed,
            "reused": reuse,
            "load_before": load_before,
            "locust_exit": locust.returncode,
            "steps": steps,
            "server_errors_logged": worker_log.count("Traceback"),
            "step_seconds": args.step_seconds,
            "settle": args.settle,
            "spawn_rate": args.spawn_rate,
            "cores": os.cpu_count(),
        }
    finally:
        topology.down()


class CpuSampler(threading.Thread):
    """CPU seconds used by each part of the run, sampled every 2 s from /proc: the web
    processes, the worker and scheduler, nginx, Redis, moto, the PostgreSQL backends serving the
    run's database, and locust. On a machine shared with other work, the CPU a step's requests
    cost is a figure the neighbours do not change much; their latency is."""

    GROUPS = {
        "web": ("web1", "web2"),
        "worker": ("worker", "scheduler"),
        "nginx": ("proxy",),
        "redis+s3": ("redis", "minio"),
    }

    def __init__(self, topology: Any, database_url: str) -> None:
        super().__init__(daemon=True)
        self.topology = topology
        self.database = database_url.rsplit("/", 1)[1]
        self.database_url = database_url
        self.locust_pid = 0
        self.samples: list[tuple[float, dict[str, float]]] = []
        self.halt = threading.Event()
        self.tick = os.sysconf("SC_CLK_TCK")

    def run(self) -> None:
        while not self.halt.is_set():
            try:
                self.samples.append((time.time(), self.sample()))
            except Exception as error:  # noqa: BLE001  # a missed sample is not a failed run
                print("cpu sample:", error, file=sys.stderr)
            self.halt.wait(2)

    def stop(self) -> None:
        self.halt.set()
        self.join(timeout=10)
        # One more: the last step's window ends as locust exits, often between two samples
        # (the 100-user step of a run had no CPU figures for want of a sample after it).
        with contextlib.suppress(Exception):
            self.samples.append((time.time(), self.sample()))

    def sample(self) -> dict[str, float]:
        stats: dict[int, tuple[int, float]] = {}  # pid -> (parent, cpu seconds)
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            stats[int(entry.name)] = (
                int(fields[1]),
                (int(fields[11]) + int(fields[12])) / self.tick,
            )

        children: dict[int, list[int]] = {}
        for pid, (parent, _) in stats.items():
            children.setdefault(parent, []).append(pid)

        def tree(root: int) -> float:
            total, todo = 0.0, [root]
            while todo:
                pid = todo.pop()
                total += stats.get(pid, (0, 0.0))[1]
                todo += children.get(pid, [])
            return total

        procs = self.topology.processes
        used = {
            group: sum(tree(procs[name].pid) for name in names if name in procs)
            for group, names in self.GROUPS.items()
        }
        backends = pg(
            self.database_url,
            "SELECT array_agg(pid) FROM pg_stat_activity WHERE datname = current_database()",
        )
        used["postgres"] = sum(stats.get(pid, (0, 0.0))[1] for pid in (backends[0] or []))
        used["locust"] = tree(self.locust_pid) if self.locust_pid else 0.0
        return used

    def used(self, start: float, end: float) -> dict[str, float]:
        """Cores used by each group between `start` and `end` (wall-clock seconds)."""
        before = [s for s in self.samples if s[0] <= start]
        after = [s for s in self.samples if s[0] >= end]
        if not before or not after:
            return {}
        (t0, a), (t1, b) = before[-1], after[0]
        return {group: round(max(0.0, b[group] - a.get(group, 0.0)) / (t1 - t0), 3) for group in b}


def now_utc() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")


# Report -------------------------------------------------------------------------------------

SIGN_IN = ("sign-in page", "sign-in: password", "sign-in: authenticator code")
PAGE_ORDER = [
    "dashboard",
    "dashboard ?quick=",
    "dashboard ?status=",
    "dashboard ?last_name=",
    "dashboard ?sort=",
    "dashboard ?page=2",
    "patient profile",
    "request list",
    "request (chat page)",
    "chat send",
    "bell",
]


def pages(step: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        r["name"]: r for r in step["stats"] if r["method"] != "WS" and r["name"] != "Aggregated"
    }


def total(step: dict[str, Any]) -> dict[str, Any]:
    return next(r for r in step["stats"] if r["name"] == "Aggregated")


def knee(steps: list[dict[str, Any]]) -> tuple[dict[str, Any], str, int] | None:
    for step in steps:
        worst = max(pages(step).values(), key=lambda r: r["p99"])
        if worst["p99"] > KNEE_MS:
            return step, worst["name"], worst["p99"]
    return None


def failures(step: dict[str, Any]) -> int:
    ramp = step.get("ramp", {}).get("stats", [])
    ramp_total = next((r["failures"] for r in ramp if r["name"] == "Aggregated"), 0)
    return total(step)["failures"] + ramp_total


PORTAL_PARTS = ("web", "worker", "nginx", "redis+s3", "postgres")


def portal_cores(step: dict[str, Any]) -> float:
    return sum(step.get("cpu", {}).get(part, 0.0) for part in PORTAL_PARTS)


# The request path: what each request costs. The worker is left out of the per-request cost:
# it works through its queue at its own pace (a backlog keeps it busy whatever the step).
REQUEST_PATH = ("web", "nginx", "redis+s3", "postgres")


def cpu_ms_per_request(step: dict[str, Any]) -> float:
    requests = total(step)["requests"]
    cores = sum(step.get("cpu", {}).get(part, 0.0) for part in REQUEST_PATH)
    return cores * step["seconds"] * 1000 / requests if requests else 0.0


def cpu_cell(step: dict[str, Any]) -> str:
    cpu = step.get("cpu")
    if not cpu:
        return "— | —"
    parts = ", ".join(f"{part} {cpu.get(part, 0):.2f}" for part in PORTAL_PARTS)
    return (
        f"{portal_cores(step):.2f} ({parts}); {cpu_ms_per_request(step):.0f} ms | "
        f"{cpu.get('locust', 0):.2f}"
    )


def report(data: dict[str, Any]) -> str:
    steps = data["steps"]
    lines = [
        f"Run {data['started_at']} → {data['finished_at']}, `seed_demo --scale {data['scale']}` "
        f"({data['seed']['seconds']:.0f} s to seed, {data['seed']['at']}"
        f"{'; database reused' if data['reused'] else ''}), {data['cores']} cores shared with "
        f"other work. Load average (1 min) before the run: {data['load_before'][0]:.1f}. "
        f"Each step: new users sign in (ramp, {data['spawn_rate']:g} users/s), "
        f"{data['settle']:g} s settle, then {data['step_seconds']:g} s measured.",
        "",
        "| users | req/s | p50 / p99 (all pages) | slowest p99 | failures | sockets held "
        "(expected) | frames pushed | chat sends | load avg start → max | portal CPU "
        "(cores; request-path ms per request) | locust CPU |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for step in steps:
        agg = total(step)
        worst = max(pages(step).values(), key=lambda r: r["p99"])
        held = sum(step["sockets_open"].values())
        pushed = sum(step["socket_messages_in_step"].values())
        lines.append(
            f"| {step['users']} | {agg['requests'] / step['seconds']:.1f} | {agg['p50']:.0f} / "
            f"{agg['p99']:.0f} ms | {worst['p99']:.0f} ms ({worst['name']}) | {failures(step)} | "
            f"{held} ({2 * step['users']}) | {pushed} | {step['messages_sent_in_step']} | "
            f"{step['load_start']:.1f} → {step['load_max']:.1f} | {cpu_cell(step)} |"
        )
    lines += [
        "",
        "Per page, p50 / p99 in ms (requests in the step):",
        "",
        "| page | " + " | ".join(f"{s['users']} users" for s in steps) + " |",
        "|---|" + "---|" * len(steps),
    ]
    names = [n for n in PAGE_ORDER if any(n in pages(s) for s in steps)]
    names += sorted({n for s in steps for n in pages(s)} - set(names))
    for name in names:
        cells = []
        for step in steps:
            row = pages(step).get(name)
            cells.append(f"{row['p50']:.0f} / {row['p99']:.0f} ({row['requests']})" if row else "—")
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    sign_ins = []
    for step in steps:
        ramp = {r["name"]: r for r in step.get("ramp", {}).get("stats", [])}
        parts = [
            f"{n.split(': ')[-1]} {ramp[n]['p50']:.0f}/{ramp[n]['p99']:.0f}"
            for n in SIGN_IN
            if n in ramp
        ]
        if parts:
            sign_ins.append(f"{step['users']} users: " + ", ".join(parts))
    if sign_ins:
        lines += ["", "Sign-in during each ramp, p50/p99 ms: " + "; ".join(sign_ins) + "."]
    measured = [cpu_ms_per_request(s) for s in steps if s.get("cpu")]
    if measured:
        per_request = sorted(measured)[len(measured) // 2]
        lines += [
            "",
            f"CPU per request of the mix on the request path (web processes, nginx, Redis, S3, "
            f"the PostgreSQL backends; the worker apart; median over the steps): "
            f"{per_request:.0f} ms. Two cores given to the request path alone could serve at "
            f"most about "
            f"{2000 / per_request:.0f} requests/s of this mix (about "
            f"{2000 / per_request / (total(steps[0])['requests'] / steps[0]['seconds'] / steps[0]['users']):.0f} "
            f"users at the measured rate per user), before any queueing.",
        ]
    found = knee(steps)
    total_failures = sum(failures(s) for s in steps)
    lines.append("")
    if found:
        step, name, p99 = found
        lines.append(
            f"**Knee: {step['users']} users** — the first step where a page's p99 passes "
            f"{KNEE_MS} ms ({name}: {p99:.0f} ms, at "
            f"{total(step)['requests'] / step['seconds']:.1f} requests/s)."
        )
    else:
        lines.append(
            f"**No knee within these steps**: every page's p99 stayed under {KNEE_MS} ms up to "
            f"{steps[-1]['users']} users."
        )
    errors: Counter[str] = Counter()
    for step in steps:
        for e in [*step["errors"], *step.get("ramp", {}).get("errors", [])]:
            errors[f"{e['method']} {e['name']}: {e['error'].split(' -+-+- ')[0]}"] += e["count"]
    traces = f"{data['server_errors_logged']} tracebacks in the web processes' logs"
    if errors:
        listed = "; ".join(f"{what} ×{n}" for what, n in errors.most_common())
        lines.append(f"Errors: {total_failures} in the whole run ({traces}): {listed}.")
    else:
        lines.append(
            f"Errors: {total_failures} (no failed request, no socket dropped) in the whole run; "
            f"{traces}."
        )
    return "\n".join(lines) + "\n"


def write(text: str) -> None:
    doc = DOC.read_text()
    if MARK_START not in doc or MARK_END not in doc:
        raise SystemExit(f"docs/PERFORMANCE.md has no {MARK_START} … {MARK_END} markers")
    head, rest = doc.split(MARK_START, 1)
    _, tail = rest.split(MARK_END, 1)
    DOC.write_text(f"{head}{MARK_START}\n{text}{MARK_END}{tail}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=os.getenv("LOAD_DATABASE_URL", DEFAULT_DB))
    parser.add_argument("--scale", type=int, default=100_000)
    parser.add_argument("--reuse", action="store_true", help="keep a database already seeded")
    parser.add_argument("--steps", default="10,25,50,100,150,200")
    parser.add_argument("--step-seconds", type=float, default=60)
    parser.add_argument("--settle", type=float, default=15)
    parser.add_argument("--spawn-rate", type=float, default=1)
    parser.add_argument("--quiet-seconds", type=float, default=20, help="idle before the load")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--state", default=str(BASE_DIR / "artifacts" / "load"))
    parser.add_argument("--write", action="store_true", help="write into docs/PERFORMANCE.md")
    parser.add_argument("--from-results", help="report a saved run (its JSON) instead of running")
    parser.add_argument("--make-accounts", help=argparse.SUPPRESS)
    parser.add_argument("--per-role", type=int, default=200, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.make_accounts:
        make_accounts(Path(args.make_accounts), args.per_role)
        return
    if args.from_results:
        data = json.loads(Path(args.from_results).read_text())
    else:
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))  # stop the topology on the way out
        data = run(args)
        saved = Path(args.state).resolve() / f"run-{time.strftime('%Y%m%d-%H%M%S')}.json"
        saved.write_text(json.dumps(data, indent=1))
        print(f"saved {saved}")
    if not data["steps"]:
        raise SystemExit("no step finished; see the state folder's locust.log")
    text = report(data)
    print(text)
    if args.write:
        write(text)


if __name__ == "__main__":
    main()
