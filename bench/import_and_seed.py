"""Benchmark: `seed_demo --scale` and `import_prescriptions` at 100,000 rows.

Runs each command in a fresh process against a fresh database (SQLite file, and PostgreSQL when
reachable), measuring wall time and peak RSS (ru_maxrss of the child), then re-imports the same
file to show that it changes nothing. Writes the figures to docs/PERFORMANCE.md.

    .venv/bin/python bench/import_and_seed.py [--rows 100000] [--no-postgres]
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

PG_URL = "postgres://postgres@127.0.0.1:5432/portal_bench_import"
STATUSES = ["Due for Fill", "Order Shipped", "Delivered", "Prior Authorization Pending", "On Hold"]


def run_measured(args: list[str], env: dict[str, str]) -> tuple[float, float, str]:
    """Like run(), but through /usr/bin/env so wait4 sees the real child's rusage."""
    started = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "manage.py", *args],
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
    return elapsed, usage.ru_maxrss / 1024, out


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


def bench_database(label: str, url: str, rows: int, csv_path: Path) -> dict[str, str]:
    env = {"DATABASE_URL": url, "DEBUG": "true"}
    run_measured(["migrate", "--noinput", "-v", "0"], env)
    seed_s, seed_rss, seed_out = run_measured(
        ["seed_demo", "--scale", str(rows), "--quiet-logins"], env
    )
    imp_s, imp_rss, imp_out = run_measured(["import_prescriptions", str(csv_path)], env)
    re_s, re_rss, re_out = run_measured(["import_prescriptions", str(csv_path)], env)
    assert re.search(rf"0 created, 0 updated, {rows} unchanged", re_out), re_out
    return {
        "db": label,
        "seed": f"{seed_s:.1f} s (peak RSS {seed_rss:.0f} MiB)",
        "import": f"{imp_s:.1f} s (peak RSS {imp_rss:.0f} MiB) — {imp_out.strip().splitlines()[-1]}",
        "reimport": f"{re_s:.1f} s (peak RSS {re_rss:.0f} MiB) — {re_out.strip().splitlines()[-1]}",
    }


def postgres_reachable() -> bool:
    return subprocess.run(["pg_isready", "-h", "127.0.0.1", "-q"]).returncode == 0


def recreate_pg() -> None:
    for sql in (
        "DROP DATABASE IF EXISTS portal_bench_import",
        "CREATE DATABASE portal_bench_import",
    ):
        subprocess.run(["psql", "-h", "127.0.0.1", "-U", "postgres", "-qc", sql], check=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--no-postgres", action="store_true")
    args = parser.parse_args()
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        csv_path = Path(tmp) / "prescriptions.csv"
        write_csv(csv_path, args.rows)
        size_mb = csv_path.stat().st_size / 1e6
        results.append(
            bench_database("SQLite", f"sqlite:///{tmp}/bench.sqlite3", args.rows, csv_path)
        )
        if not args.no_postgres and postgres_reachable():
            recreate_pg()
            results.append(bench_database("PostgreSQL 15", PG_URL, args.rows, csv_path))
            subprocess.run(
                [
                    "psql",
                    "-h",
                    "127.0.0.1",
                    "-U",
                    "postgres",
                    "-qc",
                    "DROP DATABASE IF EXISTS portal_bench_import",
                ]
            )
    lines = [
        "## Import and demo data",
        "",
        f"Method: `bench/import_and_seed.py` on this 2-core machine, each command in a fresh process "
        f"against a fresh database. `seed_demo --scale {args.rows}` builds {args.rows:,} prescriptions / "
        f"{args.rows // 5:,} patients; then `import_prescriptions` loads a generated CSV of {args.rows:,} "
        f"new rows ({size_mb:.1f} MB, {args.rows // 5:,} patients), then imports the same file again. "
        "Peak RSS is the child process's maximum resident set size.",
        "",
        "| database | `seed_demo --scale` | `import_prescriptions` (new rows) | re-import (same file) |",
        "|---|---|---|---|",
    ]
    for r in results:
        lines.append(f"| {r['db']} | {r['seed']} | {r['import']} | {r['reimport']} |")
    lines += [
        "",
        "Targets: import ≤ 60 s in batches with bounded memory, a re-import changes nothing; seed ≤ 60 s.",
        "",
    ]
    write_section("Import and demo data", "\n".join(lines))
    print("\n".join(lines))


def write_section(title: str, body: str) -> None:
    """Replace (or append) one `## title` section of docs/PERFORMANCE.md, leaving the others."""
    path = BASE_DIR / "docs" / "PERFORMANCE.md"
    text = (
        path.read_text()
        if path.exists()
        else "# Performance\n\nMeasured by the scripts in `bench/`.\n\n"
    )
    pattern = re.compile(rf"^## {re.escape(title)}\n.*?(?=^## |\Z)", re.S | re.M)
    text = (
        pattern.sub(body.rstrip() + "\n\n", text)
        if pattern.search(text)
        else text.rstrip() + "\n\n" + body
    )
    path.parent.mkdir(exist_ok=True)
    path.write_text(text)


if __name__ == "__main__":
    main()
