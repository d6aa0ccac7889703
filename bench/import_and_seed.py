"""Benchmark: `seed_demo --scale` and `import_prescriptions` at 100,000 rows, against COPY.

On a fresh PostgreSQL database (`--database`, default `bench_perf_import`) it runs
`seed_demo --scale N`, writes a CSV of N new rows (N / 5 patients), then, interleaved run by run
(alternating which goes first), each in a fresh process, measuring wall time, CPU time and peak
RSS (rusage of the child):

- `import_prescriptions` of the file (new rows), then the same file again (unchanged);
- its **floor** (`--floor`, psycopg 3 only, no Django): the file parsed with `csv.reader` and the
  same rows COPY'd into the real tables (patients, prescriptions with their patient and
  prescriber ids, the first status of each), in one transaction that is then rolled back.

With `--sqlite`, the same seed, import and re-import run on a SQLite file database too (the
ORM path), in the same runs. Between runs the imported rows are deleted (untimed). Writes the
figures to docs/PERFORMANCE.md (the section's notes below `<!-- import-notes -->` are kept).

    .venv/bin/python bench/import_and_seed.py [--rows 100000] [--runs 2] [--sqlite]
        [--database bench_perf_import] [--no-write]
"""

from __future__ import annotations

import argparse
import csv
import os
import random
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))

from prescriptions.npi import make_npi  # noqa: E402

PG_SERVER = "postgres://postgres@127.0.0.1:5432/"
STATUSES = ["Due for Fill", "Order Shipped", "Delivered", "Prior Authorization Pending", "On Hold"]


def run_measured(
    args: list[str], env: dict[str, str], *, script: str = "manage.py"
) -> tuple[float, float, str, float]:
    """Run a command in a fresh process: wall time, peak RSS (MiB), output, CPU time (s)."""
    started = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, script, *args],
        cwd=BASE_DIR,
        env={**os.environ, **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    out = proc.stdout.read()
    err = proc.stderr.read()
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{args} failed:\n{out}\n{err}")
    return elapsed, usage.ru_maxrss / 1024, out, usage.ru_utime + usage.ru_stime


def write_csv(path: Path, rows: int) -> None:
    rng = random.Random(7)
    npis = [make_npi(f"1{index:08d}") for index in range(40)]  # seed_demo's directory
    header = [
        "patient_id",
        "patient_first_name",
        "patient_last_name",
        "patient_dob",
        "rx_id",
        "rx_number",
        "medication_name",
        "strength",
        "form",
        "status",
        "prescriber_npi",
        "last_shipped",
        "refills_remaining",
        "pharmacy",
    ]
    with path.open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(header)
        for n in range(rows):
            writer.writerow(
                [
                    f"BP{n // 5:07d}",
                    "Test",
                    f"Patient{n // 5}",
                    f"19{rng.randint(40, 99)}-0{rng.randint(1, 9)}-1{rng.randint(0, 9)}",
                    f"BRX{n:08d}",
                    str(5_000_000 + n),
                    "Humira Pen",
                    "40 MG/0.4ML",
                    "KIT",
                    rng.choice(STATUSES),
                    rng.choice(npis),
                    "2026-10-0" + str(rng.randint(1, 9)),
                    str(rng.randint(0, 11)),
                    "carelink",
                ]
            )


PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"


def floor(csv_path: str, url: str) -> None:
    """COPY the file's rows into the tables, then roll back: what any import must write."""
    import datetime as dt  # noqa: PLC0415

    import psycopg  # noqa: PLC0415

    with psycopg.connect(url.replace("postgres://", "postgresql://")) as conn:
        prescribers = dict(conn.execute("SELECT npi, id FROM prescriptions_prescriber"))
        pharmacies = dict(conn.execute("SELECT code, id FROM prescriptions_pharmacy"))
        next_patient = conn.execute("SELECT COALESCE(MAX(id), 0) FROM prescriptions_patient")
        patient_id = next_patient.fetchone()[0]
        next_rx = conn.execute("SELECT COALESCE(MAX(id), 0) FROM prescriptions_prescription")
        rx_id = next_rx.fetchone()[0]
        now = dt.datetime.now(dt.UTC)
        patients: dict[tuple[int, str], int] = {}
        patient_rows, rx_rows, changes = [], [], []
        with open(csv_path, newline="", encoding="utf-8") as fh:
            reader = csv.DictReader(fh)
            for r in reader:
                pharmacy = pharmacies[r["pharmacy"]]
                key = (pharmacy, r["patient_id"])
                if key not in patients:
                    patient_id += 1
                    patients[key] = patient_id
                    patient_rows.append(
                        (patient_id, pharmacy, r["patient_id"], r["patient_first_name"],
                         r["patient_last_name"], r["patient_dob"], "U", "", "", "", "", "", "",
                         now)
                    )  # fmt: skip
                rx_id += 1
                rx_rows.append(
                    (rx_id, pharmacy, r["rx_id"], r["rx_number"], patients[key],
                     prescribers[r["prescriber_npi"]], r["medication_name"], r["strength"],
                     r["form"], r["status"], now, r["last_shipped"] or None, None, "",
                     int(r["refills_remaining"]) if r["refills_remaining"] else None, None,
                     now, now)
                )  # fmt: skip
                changes.append((rx_id, "", r["status"], now))
        with conn.cursor() as cursor:
            with cursor.copy(
                "COPY prescriptions_patient (id, pharmacy_id, pharmacy_patient_id, first_name, "
                "last_name, date_of_birth, sex, phone, email, address_line1, city, state, "
                "zip_code, updated_at) FROM STDIN"
            ) as copy:
                for row in patient_rows:
                    copy.write_row(row)
            with cursor.copy(
                "COPY prescriptions_prescription (id, pharmacy_id, pharmacy_rx_id, rx_number, "
                "patient_id, prescriber_id, medication_name, strength, dosage_form, status, "
                "status_changed_at, last_shipped, next_fill, priority, refills_remaining, "
                "written_date, created_at, updated_at) FROM STDIN"
            ) as copy:
                for row in rx_rows:
                    copy.write_row(row)
            with cursor.copy(
                "COPY prescriptions_statuschange (prescription_id, from_status, to_status, "
                "changed_at) FROM STDIN"
            ) as copy:
                for row in changes:
                    copy.write_row(row)
        conn.rollback()


def pg_admin(sql: str) -> None:
    import psycopg  # noqa: PLC0415

    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(sql)


def delete_imported(url: str) -> None:
    if url.startswith("sqlite:"):
        import sqlite3  # noqa: PLC0415

        with sqlite3.connect(url.removeprefix("sqlite:///")) as db:
            db.execute(
                "DELETE FROM prescriptions_statuschange WHERE prescription_id IN (SELECT id FROM "
                "prescriptions_prescription WHERE pharmacy_rx_id LIKE 'BRX%')"
            )
            db.execute("DELETE FROM prescriptions_prescription WHERE pharmacy_rx_id LIKE 'BRX%'")
            db.execute("DELETE FROM prescriptions_patient WHERE pharmacy_patient_id LIKE 'BP%'")
        return
    import psycopg  # noqa: PLC0415

    with psycopg.connect(url.replace("postgres://", "postgresql://")) as conn:
        conn.execute(
            "DELETE FROM prescriptions_statuschange WHERE prescription_id IN "
            "(SELECT id FROM prescriptions_prescription WHERE pharmacy_rx_id LIKE 'BRX%')"
        )
        conn.execute("DELETE FROM prescriptions_prescription WHERE pharmacy_rx_id LIKE 'BRX%'")
        conn.execute("DELETE FROM prescriptions_patient WHERE pharmacy_patient_id LIKE 'BP%'")
    with psycopg.connect(url.replace("postgres://", "postgresql://"), autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument("--database", default="bench_perf_import", help="PostgreSQL database")
    parser.add_argument("--sqlite", action="store_true", help="measure SQLite too")
    parser.add_argument("--floor", metavar="CSV", help=argparse.SUPPRESS)
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    url = os.getenv("BENCH_IMPORT_URL", PG_SERVER + args.database)
    if args.floor:
        floor(args.floor, url)
        return
    base_env = {
        "DEBUG": "false",
        "SECRET_KEY": "bench-only-" + "x" * 40,
        "TASKS_BACKEND": "django_tasks_db.DatabaseBackend",
    }
    env = {**base_env, "DATABASE_URL": url}
    pg_admin(f'DROP DATABASE IF EXISTS "{args.database}"')
    pg_admin(f'CREATE DATABASE "{args.database}"')
    run_measured(["migrate", "--noinput", "-v", "0"], env)
    seed_s, seed_rss, _, _ = run_measured(
        ["seed_demo", "--scale", str(args.rows), "--quiet-logins"], env
    )
    print(f"seed {seed_s:.1f} s", file=sys.stderr, flush=True)
    imports, reimports, floors = [], [], []
    sq_imports, sq_reimports = [], []
    out = re_out = ""
    with tempfile.TemporaryDirectory() as tmp:
        sqlite_env = {**base_env, "DATABASE_URL": f"sqlite:///{tmp}/bench.sqlite3"}
        if args.sqlite:
            run_measured(["migrate", "--noinput", "-v", "0"], sqlite_env)
            sq_seed = run_measured(
                ["seed_demo", "--scale", str(args.rows), "--quiet-logins"], sqlite_env
            )[0]
            print(f"SQLite seed {sq_seed:.1f} s", file=sys.stderr, flush=True)
        csv_path = Path(tmp) / "prescriptions.csv"
        write_csv(csv_path, args.rows)
        size_mb = csv_path.stat().st_size / 1e6
        load_before = os.getloadavg()[0]
        for run in range(args.runs):
            if run:
                delete_imported(url)
            for which in ("floor", "import") if run % 2 == 0 else ("import", "floor"):
                if which == "floor" and imports and len(imports) == run + 1:
                    delete_imported(url)  # the floor writes the same keys: not while imported
                if which == "floor":
                    floors.append(
                        run_measured(
                            ["--floor", str(csv_path)],
                            {"BENCH_IMPORT_URL": url},
                            script=__file__,
                        )
                    )
                    continue
                imports.append(run_measured(["import_prescriptions", str(csv_path)], env))
                out = imports[-1][2]
                reimports.append(run_measured(["import_prescriptions", str(csv_path)], env))
                re_out = reimports[-1][2]
                assert re.search(rf"0 created, 0 updated, {args.rows} unchanged", re_out), re_out
            if args.sqlite:
                delete_imported(sqlite_env["DATABASE_URL"])
                sq_imports.append(run_measured(["import_prescriptions", str(csv_path)], sqlite_env))
                sq_reimports.append(
                    run_measured(["import_prescriptions", str(csv_path)], sqlite_env)
                )
                assert re.search(
                    rf"0 created, 0 updated, {args.rows} unchanged", sq_reimports[-1][2]
                ), sq_reimports[-1][2]
            print(
                f"run {run + 1}: floor {floors[-1][0]:.1f} s, import {imports[-1][0]:.1f} s, "
                f"re-import {reimports[-1][0]:.1f} s"
                + (
                    f"; SQLite import {sq_imports[-1][0]:.1f} s, "
                    f"re-import {sq_reimports[-1][0]:.1f} s"
                    if args.sqlite
                    else ""
                ),
                file=sys.stderr,
                flush=True,
            )
        load_after = os.getloadavg()[0]
    delete_imported(url)
    pg_admin(f'DROP DATABASE IF EXISTS "{args.database}"')

    def median(values: list[float]) -> float:
        return (
            sorted(values)[len(values) // 2]
            if len(values) % 2
            else sum(sorted(values)[len(values) // 2 - 1 : len(values) // 2 + 1]) / 2
        )

    flo = median([t for t, *_ in floors])
    flo_cpu = median([c for *_, c in floors])

    def table_row(label: str, runs: list[tuple[float, float, str, float]], ratio: bool) -> str:
        wall = median([t for t, *_ in runs])
        cpu = median([c for *_, c in runs])
        return (
            f"| {label} | {', '.join(f'{t:.1f}' for t, *_ in runs)} s | {wall:.1f} s | "
            f"{cpu:.1f} s | {max(r for _, r, _, _ in runs):.0f} MiB | "
            + (f"{wall / flo:.1f}× |" if ratio else "|")
        )

    lines = [
        "## Import and demo data",
        "",
        "Method: `bench/import_and_seed.py` (PostgreSQL 15"
        + (", and SQLite with `--sqlite`" if args.sqlite else "")
        + ") on this 2-core machine, each command "
        f"in a fresh process. A fresh database gets `seed_demo --scale {args.rows}` "
        f"({args.rows:,} prescriptions, {args.rows // 5:,} patients); then `import_prescriptions` "
        f"loads a generated CSV of {args.rows:,} new rows ({size_mb:.1f} MB, "
        f"{args.rows // 5:,} new patients) and imports the same file again. Its floor, in a fresh "
        "process too and interleaved run by run (alternating which goes first): the file parsed "
        "with `csv.reader` and the same rows COPY'd with psycopg 3 into the real tables "
        "(patients, prescriptions with their patient and prescriber ids, the first status of "
        "each; indexes and constraints as in production), in one transaction rolled back "
        "afterwards. The imported rows are deleted between runs (untimed). CPU is the child "
        "process's user + system time (not the database server's); peak RSS its maximum "
        "resident set size.",
        "",
        "| | each run | median | CPU (median) | peak RSS | ratio to the floor |",
        "|---|---|---|---|---|---|",
        f"| COPY floor (PostgreSQL) | {', '.join(f'{t:.1f}' for t, *_ in floors)} s | {flo:.1f} s "
        f"| {flo_cpu:.1f} s | {max(r for _, r, _, _ in floors):.0f} MiB | 1.0× |",
        table_row("`import_prescriptions`, new rows (PostgreSQL)", imports, True),
        table_row("re-import, same file (PostgreSQL)", reimports, False),
    ]
    if args.sqlite:
        lines += [
            table_row("`import_prescriptions`, new rows (SQLite)", sq_imports, True),
            table_row("re-import, same file (SQLite)", sq_reimports, False),
        ]
    lines += [
        f"| `seed_demo --scale {args.rows}` (PostgreSQL) | {seed_s:.1f} s | | | "
        f"{seed_rss:.0f} MiB | |",
        "",
        f"Import output: {out.strip().splitlines()[-1]} Re-import: {re_out.strip().splitlines()[-1]}",
        "",
        f"Load average {load_before:.1f} → {load_after:.1f} (1 minute, 2 cores). Targets: the "
        "import ≤ 2 × the COPY floor, a re-import ≤ 3 s, memory bounded.",
        "",
    ]
    text = "\n".join(lines)
    print(text)
    if not args.no_write:
        write_section("Import and demo data", text)


NOTES_MARKER = "<!-- import-notes -->"


def write_section(title: str, body: str) -> None:
    """Replace (or append) one `## title` section of docs/PERFORMANCE.md, leaving the others;
    the section's notes from NOTES_MARKER on are kept."""
    path = BASE_DIR / "docs" / "PERFORMANCE.md"
    text = (
        path.read_text()
        if path.exists()
        else "# Performance\n\nMeasured by the scripts in `bench/`.\n\n"
    )
    pattern = re.compile(rf"^## {re.escape(title)}\n.*?(?=^## |\Z)", re.S | re.M)
    found = pattern.search(text)
    if found and NOTES_MARKER in found.group():
        body = body.rstrip() + "\n\n" + found.group()[found.group().index(NOTES_MARKER) :]
    text = (
        pattern.sub(lambda _: body.rstrip() + "\n\n", text)
        if found
        else text.rstrip() + "\n\n" + body
    )
    path.parent.mkdir(exist_ok=True)
    path.write_text(text)


if __name__ == "__main__":
    main()
