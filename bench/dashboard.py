"""Benchmark: dashboard pages and CSV export at `seed_demo --scale 100000`.

For each database (a temporary SQLite file, and PostgreSQL `portal_bench` when reachable) it
creates a fresh database, migrates, runs `seed_demo --scale N`, then in a child process measures
the median server time of dashboard requests with Django's test Client in-process (the whole
middleware stack, view and template; no network), for

- pharmacist@demo.test (care groups covering about half the data) and
- prescriber@demo.test (about 2,000 prescriptions),

and the CSV export of about 10,000 rows (time, and peak Python memory with tracemalloc).
Results go to the "Dashboard" section of docs/PERFORMANCE.md.

    .venv/bin/python bench/dashboard.py [--scale 100000] [--reps 40] [--no-postgres] [--keep]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
PG_ADMIN_URL = "postgres://postgres@127.0.0.1:5432/postgres"
PG_BENCH_URL = "postgres://postgres@127.0.0.1:5432/portal_bench"
DOC = BASE_DIR / "docs" / "PERFORMANCE.md"

CASES = [
    ("First page", "/dashboard/"),
    ("Name filter (last name “Patel”)", "/dashboard/?last_name=Patel"),
    ("Status quick filter (Due for Fill)", "/dashboard/?quick=due"),
    ("Sort on Last Shipped (newest first)", "/dashboard/?sort=-last_shipped"),
]
USERS = ["pharmacist@demo.test", "prescriber@demo.test"]


# Parent: databases and seeding ---------------------------------------------------------------


def manage(args: list[str], env: dict[str, str]) -> tuple[float, str]:
    started = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=BASE_DIR,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
    )
    if result.returncode != 0:
        raise SystemExit(f"manage.py {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
    return time.perf_counter() - started, result.stdout


def pg_admin(sql: str) -> bool:
    try:
        import psycopg  # noqa: PLC0415
    except ImportError:
        return False
    try:
        with psycopg.connect(
            PG_ADMIN_URL.replace("postgres://", "postgresql://"), autocommit=True, connect_timeout=3
        ) as conn:
            conn.execute(sql)
    except psycopg.OperationalError as exc:
        print(f"PostgreSQL not reachable: {exc}", file=sys.stderr)
        return False
    return True


def bench_database(label: str, url: str, scale: int, reps: int) -> dict:
    env = {"DATABASE_URL": url, "DEBUG": "false", "SECRET_KEY": "bench-only-" + "x" * 40}
    manage(["migrate", "--noinput", "-v", "0"], env)
    seed_seconds, seed_out = manage(["seed_demo", "--scale", str(scale), "--quiet-logins"], env)
    print(f"[{label}] {seed_out.strip()}", flush=True)
    result = subprocess.run(
        [sys.executable, __file__, "--measure", "--reps", str(reps)],
        cwd=BASE_DIR,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
    )
    if result.returncode != 0:
        raise SystemExit(f"measuring on {label} failed:\n{result.stdout}\n{result.stderr}")
    data = json.loads(result.stdout.strip().splitlines()[-1])
    data["label"] = label
    data["seed_seconds"] = seed_seconds
    data["seed_out"] = seed_out.strip()
    return data


# Child: measurement inside one Django process ------------------------------------------------


def measure(reps: int) -> dict:
    import django  # noqa: PLC0415

    sys.path.insert(0, str(BASE_DIR))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
    django.setup()
    import tracemalloc  # noqa: PLC0415

    from django.conf import settings  # noqa: PLC0415
    from django.db import connection  # noqa: PLC0415
    from django.test import Client, override_settings  # noqa: PLC0415
    from django.test.utils import CaptureQueriesContext  # noqa: PLC0415
    from django_otp.plugins.otp_totp.models import TOTPDevice  # noqa: PLC0415

    from accounts.models import User  # noqa: PLC0415
    from prescriptions.models import Patient, Prescription, Status  # noqa: PLC0415

    class SecureClient(Client):
        """DEBUG is off, so the portal insists on HTTPS: every request says it came over TLS."""

        def get(self, *args, **kwargs):
            return super().get(*args, secure=True, **kwargs)

    # Production settings without a collectstatic run: plain static URLs (no manifest).
    storages = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    override_settings(STORAGES=storages).enable()

    def client_for(email: str) -> tuple[Client, User]:
        user = User.objects.get(email=email)
        client = SecureClient()
        client.force_login(user)
        device, _ = TOTPDevice.objects.get_or_create(
            user=user, name="bench", defaults={"confirmed": True}
        )
        session = client.session
        session["otp_device_id"] = device.persistent_id
        session.save()
        return client, user

    # A maintained database: PostgreSQL's autovacuum would have vacuumed (visibility map, so
    # COUNT(*) can be index-only) and analysed the freshly loaded tables; do it now rather than
    # wait for it. seed_demo already ran ANALYZE (SQLite keeps no statistics otherwise).
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE" if connection.vendor == "postgresql" else "ANALYZE")

    out: dict = {
        "load_before": os.getloadavg()[0],
        "prescriptions": Prescription.objects.count(),
        "patients": Patient.objects.count(),
        "vendor": connection.vendor,
        "pages": [],
    }
    for email in USERS:
        client, user = client_for(email)
        visible = Prescription.objects.visible_to(user).count()
        for label, url in CASES:
            for _ in range(3):  # warm caches, templates, the database's buffers
                assert client.get(url).status_code == 200, url
            times, cpu = [], []
            for _ in range(reps):
                started, started_cpu = time.perf_counter(), time.process_time()
                response = client.get(url)
                times.append((time.perf_counter() - started) * 1000)
                cpu.append((time.process_time() - started_cpu) * 1000)
                assert response.status_code == 200
            with CaptureQueriesContext(connection) as queries:
                response = client.get(url)
            out["pages"].append(
                {
                    "user": email,
                    "visible": visible,
                    "case": label,
                    "url": url,
                    "median_ms": statistics.median(times),
                    "cpu_ms": statistics.median(cpu),
                    "p90_ms": sorted(times)[int(len(times) * 0.9) - 1],
                    # No test-environment instrumentation here (it would slow rendering): read the
                    # result count off the page.
                    "rows": int(
                        re.search(rb"<strong>(\d+)</strong> prescription", response.content)[1]
                    ),
                    "queries": len(queries.captured_queries),
                }
            )
            print(
                f"{email:24} {label:40} {statistics.median(times):7.1f} ms",
                file=sys.stderr,
                flush=True,
            )

    # Pieces owned by other apps that every dashboard request pays, timed alone.
    from requests_chat.selectors import unread_by_prescription  # noqa: PLC0415

    out["pieces"] = []
    for email in USERS:
        user = User.objects.get(email=email)
        ids = list(
            Prescription.objects.visible_to(user)
            .order_by("next_fill", "pk")
            .values_list("pk", flat=True)[:25]
        )
        patient_id = Prescription.objects.visible_to(user).values_list("patient_id", flat=True)[:1][
            0
        ]
        for label, call in [
            (
                "requests_chat unread_by_prescription (25 ids)",
                lambda u=user, i=ids: unread_by_prescription(u, i),
            ),
            (
                "Patient.objects.visible_to(user).get(pk=…) (profile's 404 gate)",
                lambda u=user, p=patient_id: Patient.objects.visible_to(u).get(pk=p),
            ),
        ]:
            call()
            times = []
            for _ in range(10):
                started = time.perf_counter()
                call()
                times.append((time.perf_counter() - started) * 1000)
            out["pieces"].append(
                {"user": email, "what": label, "median_ms": statistics.median(times)}
            )

    # Export: statuses added (most common first) until the pharmacist's view holds >= 10,000 rows.
    client, user = client_for("pharmacist@demo.test")
    counts = dict(
        Prescription.objects.visible_to(user)
        .order_by()
        .values_list("status")
        .annotate(n=__import__("django.db.models", fromlist=["Count"]).Count("pk"))
    )
    chosen, total = [], 0
    for status, n in sorted(counts.items(), key=lambda item: item[1]):
        if total >= 10_000:
            break
        chosen.append(status)
        total += n
    url = "/dashboard/export.csv?" + "&".join(f"status={s}" for s in chosen)
    times, rows = [], 0
    for _ in range(5):
        started = time.perf_counter()
        response = client.get(url)
        rows = sum(chunk.count(b"\n") for chunk in response.streaming_content) - 1
        times.append(time.perf_counter() - started)
    tracemalloc.start()
    response = client.get(url)
    for _chunk in response.streaming_content:
        pass
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    out["export"] = {
        "url": url,
        "rows": rows,
        "median_s": statistics.median(times),
        "peak_mib": peak / 2**20,
        "statuses": [Status(s).label for s in chosen],
    }
    print(
        f"export {rows} rows {statistics.median(times):.2f} s, peak {peak / 2**20:.1f} MiB",
        file=sys.stderr,
        flush=True,
    )
    out["load_after"] = os.getloadavg()[0]
    return out


# Report --------------------------------------------------------------------------------------


def section(results: list[dict], scale: int, reps: int) -> str:
    first = results[0]
    lines = [
        "## Dashboard",
        "",
        f"Method: `bench/dashboard.py` on this 2-core machine. For each database it creates a fresh "
        f"database (a temporary SQLite file; PostgreSQL `portal_bench`), migrates, runs "
        f"`seed_demo --scale {scale}` ({first['prescriptions']:,} prescriptions, "
        f"{first['patients']:,} patients), runs `ANALYZE` (planner statistics, which PostgreSQL's autovacuum gathers by itself and SQLite "
        f"only on request), then, in one process with `DEBUG=false`, times Django's "
        f"test `Client` in-process (whole middleware stack, view, template; no network): 3 warm-up "
        f"requests, then the median (and 90th percentile) of {reps} requests per case, page size "
        f"25. Query counts are per request (session, user, OTP device, notifications bell, audit "
        f"insert and session save included). “Median CPU” is the CPU time of the server process per "
        f"request: on SQLite it includes the database work, on PostgreSQL it excludes the "
        f"database server's share; it is what the request costs when the machine is not shared.",
        "",
        "| database | user (visible prescriptions) | case | rows matched | median | p90 | median CPU | queries |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for result in results:
        for page in result["pages"]:
            lines.append(
                f"| {result['label']} | {page['user']} ({page['visible']:,}) | {page['case']} | "
                f"{page['rows']:,} | {page['median_ms']:.1f} ms | {page['p90_ms']:.1f} ms | "
                f"{page.get('cpu_ms', 0):.1f} ms | {page['queries']} |"
            )
    lines += [
        "",
        "CSV export (pharmacist, statuses " + ", ".join(results[0]["export"]["statuses"]) + "; "
        "streamed with `StreamingHttpResponse` over `.values_list().iterator(chunk_size=2000)`; "
        "median of 5; peak = Python allocations traced by `tracemalloc` during one export):",
        "",
        "| database | rows | median time | peak memory |",
        "|---|---|---|---|",
    ]
    for result in results:
        export = result["export"]
        lines.append(
            f"| {result['label']} | {export['rows']:,} | {export['median_s']:.2f} s | "
            f"{export['peak_mib']:.1f} MiB |"
        )
    lines += [
        "",
        "Single queries every dashboard or profile request of that user pays, timed alone "
        "(median of 10); they belong to other modules and dominate the pharmacist's figures:",
        "",
        "| database | user | query | median |",
        "|---|---|---|---|",
    ]
    for result in results:
        for piece in result.get("pieces", []):
            lines.append(
                f"| {result['label']} | {piece['user']} | {piece['what']} | {piece['median_ms']:.1f} ms |"
            )
    lines += [
        "",
        "`seed_demo` time for these databases: "
        + "; ".join(f"{r['label']} {r['seed_seconds']:.0f} s" for r in results)
        + ".",
        "",
        "Machine load (1-minute load average before → after measuring; 2 cores, other work "
        "running at the same time inflates every figure): "
        + "; ".join(
            f"{r['label']} {r.get('load_before', 0):.1f} → {r.get('load_after', 0):.1f}"
            for r in results
        )
        + ".",
        "",
        "Targets (SPEC §10): every page ≤ 50 ms median, query count independent of data size; "
        "export of 10,000 rows ≤ 2 s with flat memory.",
        "",
        "Verdict of this run: "
        + "; ".join(
            f"{r['label']}: {sum(p['median_ms'] <= 50 for p in r['pages'])} of {len(r['pages'])} "
            f"pages ≤ 50 ms wall-clock median ({sum(p.get('cpu_ms', 0) <= 50 for p in r['pages'])} "
            f"by CPU), export {'≤' if r['export']['median_s'] <= 2 else '>'} 2 s"
            for r in results
        )
        + ".",
        "",
        "How to read this, and what the page does to stay fast:",
        "",
        "- Wall-clock medians on this shared 2-core machine include waiting for a CPU (see the "
        "load average); the CPU column is the cost of the request itself. Compare both with the "
        "50 ms target; run again on an idle machine for the wall-clock figure that counts.",
        "- The query count is the same for every case, page size and data size (asserted in "
        "`tests/prescriptions/test_dashboard.py` for 60 and 360 rows at page sizes 10 and 50).",
        "- The page asks for the 25 ids first (sorting narrow rows, often from an index), then "
        "loads those rows with patient and prescriber; sorting 50,000 joined rows to keep 25 took "
        "about 95 ms on SQLite before this change. The count is a plain `COUNT(*)` over the "
        "filtered `visible_to()` query (no joins unless a patient-name filter needs one).",
        "- Planner statistics: `seed_demo` and large imports run `ANALYZE` (SQLite keeps none "
        "otherwise; without them a pharmacist's name filter took 60–90 ms). On PostgreSQL the "
        "benchmark runs `VACUUM ANALYZE`, as autovacuum would after a bulk load.",
        "- On PostgreSQL, two sort indexes (`prescriptions/migrations/0003`) let the default "
        "order (Priority) and Last Shipped stop after one page for a care group covering half "
        "the book, instead of sorting every visible row.",
        "- `Patient.objects.visible_to()` is an `EXISTS` per patient, so the profile's 404 gate "
        "does not list every visible prescription (see the single-query table).",
        "",
    ]
    return "\n".join(lines)


def write_section(text: str) -> None:
    doc = (
        DOC.read_text()
        if DOC.exists()
        else "# Performance\n\nMeasured by the scripts in `bench/`.\n"
    )
    pattern = re.compile(r"^## Dashboard\n.*?(?=^## |\Z)", re.S | re.M)
    doc = (
        pattern.sub(lambda _: text, doc)
        if pattern.search(doc)
        else doc.rstrip("\n") + "\n\n" + text
    )
    DOC.write_text(doc)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--scale", type=int, default=100_000)
    parser.add_argument("--reps", type=int, default=40)
    parser.add_argument("--no-postgres", action="store_true")
    parser.add_argument("--no-sqlite", action="store_true", help="keep the last SQLite figures")
    parser.add_argument("--sqlite-path", help="reuse this SQLite file (seeded if short of --scale)")
    parser.add_argument("--keep", action="store_true", help="keep the databases afterwards")
    parser.add_argument("--measure", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    if args.measure:
        print(json.dumps(measure(args.reps)))
        return

    # Each database's figures are kept (artifacts/, not committed) so that one can be re-run alone.
    saved = BASE_DIR / "artifacts"
    saved.mkdir(exist_ok=True)
    tmp = tempfile.mkdtemp(prefix="bench-dashboard-")
    sqlite_path = Path(args.sqlite_path or Path(tmp) / "bench.sqlite3")
    if not args.no_sqlite:
        try:
            result = bench_database("SQLite", f"sqlite:///{sqlite_path}", args.scale, args.reps)
            (saved / "bench-dashboard-SQLite.json").write_text(json.dumps(result))
        finally:
            if not args.keep and not args.sqlite_path:
                sqlite_path.unlink(missing_ok=True)
                Path(tmp).rmdir()
    if (
        not args.no_postgres
        and pg_admin("DROP DATABASE IF EXISTS portal_bench")
        and pg_admin("CREATE DATABASE portal_bench")
    ):
        try:
            result = bench_database("PostgreSQL", PG_BENCH_URL, args.scale, args.reps)
            (saved / "bench-dashboard-PostgreSQL.json").write_text(json.dumps(result))
        finally:
            if not args.keep:
                pg_admin("DROP DATABASE IF EXISTS portal_bench")
    results = [
        json.loads((saved / f"bench-dashboard-{label}.json").read_text())
        for label in ("SQLite", "PostgreSQL")
        if (saved / f"bench-dashboard-{label}.json").exists()
    ]
    text = section(results, args.scale, args.reps)
    print(text)
    if not args.no_write:
        write_section(text)


if __name__ == "__main__":
    main()
