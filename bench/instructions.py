"""Benchmark: Clinician's Instructions pages at a clinic of many charts and instructions.

Server time (Django's test client, whole middleware stack) and query count of the patient's
Home (with the instructions card), the patient's instructions list, the clinic's per-chart list
(with first reads) and the clinic-wide index, at 10,000 charts with 10 instructions each
(100,000 instructions, 50,000 first reads); the measured chart has 60 instructions.

    .venv/bin/python bench/instructions.py --write      # temporary SQLite database
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/portal_bench_instr .venv/bin/python bench/instructions.py --write
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
if not os.getenv("DATABASE_URL"):
    os.environ["DATABASE_URL"] = f"sqlite:///{tempfile.mkdtemp()}/bench_instructions.sqlite3"

CHARTS = int(os.getenv("BENCH_CHARTS", "10000"))
PER_CHART = int(os.getenv("BENCH_PER_CHART", "10"))
RUNS = int(os.getenv("BENCH_RUNS", "30"))


def ensure_postgres_database() -> None:
    url = os.environ["DATABASE_URL"]
    if not url.startswith("postgres"):
        return
    import psycopg

    base, _, name = url.rpartition("/")
    with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--write", action="store_true", help="update docs/PERFORMANCE.md")
    args = parser.parse_args()
    ensure_postgres_database()
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext, setup_test_environment
    from django.urls import reverse
    from django.utils import timezone
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from accounts.models import User
    from instructions.models import Instruction, InstructionRead
    from invites.models import Clinic, ClinicMembership
    from patient_portal.models import Chart
    from patient_portal.selectors import SESSION_CHART

    setup_test_environment()
    settings.ALLOWED_HOSTS = ["testserver", *settings.ALLOWED_HOSTS]
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    call_command("migrate", verbosity=0)
    for model in (InstructionRead, Instruction, Chart, ClinicMembership, Clinic):
        model.objects.all().delete()
    User.objects.filter(email__endswith="@bench.test").delete()

    started = time.perf_counter()
    doctor = User.objects.create_user(
        "doctor@bench.test", "x", first_name="Dana", last_name="Doc", role="prescriber"
    )
    clinic = Clinic.objects.create(name="Bench Clinic")
    provider = ClinicMembership.objects.create(user=doctor, clinic=clinic, role="provider")
    patient = User.objects.create_user(
        "patient@bench.test", "x", first_name="Pat", last_name="Bench", role="patient"
    )
    charts = Chart.objects.bulk_create(
        [
            Chart(
                clinic=clinic,
                provider=provider,
                legal_first_name=f"P{n}",
                legal_last_name="Bench",
                patient_user=patient if n == 0 else None,
            )
            for n in range(CHARTS)
        ],
        batch_size=2000,
    )
    charts = list(Chart.objects.filter(clinic=clinic).order_by("pk"))
    mine = next(c for c in charts if c.patient_user_id == patient.pk)
    now = timezone.now()
    rows = [
        Instruction(
            chart=chart,
            title=f"Plan {k}",
            text="## Plan\n\n- **one** tablet daily\n- walk 30 minutes\n\nSee you in 3 months.",
            author=doctor,
            author_name="Dana Doc",
            published_at=now,
        )
        for chart in charts
        for k in range(60 if chart.pk == mine.pk else PER_CHART)
    ]
    Instruction.objects.bulk_create(rows, batch_size=5000)
    ids = list(Instruction.objects.values_list("pk", flat=True).order_by("pk"))
    InstructionRead.objects.bulk_create(
        [InstructionRead(instruction_id=pk, reader=patient) for pk in ids[::2]], batch_size=5000
    )
    with connection.cursor() as cursor:
        # Fresh statistics, as autovacuum (PostgreSQL) would have after a bulk load.
        cursor.execute("ANALYZE")
    seeded = time.perf_counter() - started
    total = Instruction.objects.count()

    def measure(client: Client, url: str) -> tuple[float, int]:
        client.get(url)  # warm
        times = []
        for _ in range(RUNS):
            t0 = time.perf_counter()
            response = client.get(url)
            times.append((time.perf_counter() - t0) * 1000)
            assert response.status_code == 200, (url, response.status_code)
        with CaptureQueriesContext(connection) as queries:
            client.get(url)
        return statistics.median(times), len(queries.captured_queries)

    patient_client = Client()
    patient_client.force_login(patient)
    session = patient_client.session
    session[SESSION_CHART] = mine.pk
    session.save()
    staff = Client()
    staff.force_login(doctor)
    device = TOTPDevice.objects.create(user=doctor, name="bench", confirmed=True)
    session = staff.session
    session["otp_device_id"] = device.persistent_id
    session.save()

    results = [
        (
            "patient Home (instructions card)",
            *measure(patient_client, reverse("patient_portal:home")),
        ),
        ("patient instructions list (60)", *measure(patient_client, reverse("instructions:list"))),
        (
            "clinic: a chart's instructions (60, first reads)",
            *measure(staff, reverse("clinic_instructions:chart", args=[mine.pk])),
        ),
        (
            "clinic: latest instructions (page of 25)",
            *measure(staff, reverse("clinic_instructions:index")),
        ),
    ]
    engine = connection.vendor
    load = os.getloadavg()
    lines = [f"| {engine} | {name} | {ms:.1f} ms | {q} |" for name, ms, q in results]
    if other := os.getenv("BENCH_KEEP_ROWS"):
        # Rows of an earlier run on the other database, kept in the written table.
        lines = [*Path(other).read_text().splitlines(), *lines]
    print(f"seeded {total} instructions over {CHARTS} charts in {seeded:.1f} s; load {load[0]:.2f}")
    print("\n".join(lines))
    if args.write:
        from bench.import_and_seed import write_section

        write_section(
            "Clinician's Instructions",
            "\n".join(
                [
                    "## Clinician's Instructions",
                    "",
                    "Method: `bench/instructions.py` — Django's test client through the whole "
                    f"middleware stack, median of {RUNS} requests after one warm-up, on a clinic of "
                    f"{CHARTS:,} charts with {PER_CHART} instructions each ({total:,} instructions, "
                    "half of the patient's read); the measured chart has 60 instructions. Query "
                    "counts are the same at any size (pinned by tests in tests/instructions).",
                    f"Load average at the run: {load[0]:.2f}.",
                    "",
                    "| database | page | median server time | queries |",
                    "|---|---|---|---|",
                    *lines,
                    "",
                    "Target (SPEC §10, patient Home): ≤ 50 ms median server time.",
                    "",
                ]
            ),
        )


if __name__ == "__main__":
    main()
