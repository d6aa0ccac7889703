"""Benchmark: the health-records export of a big chart, and the Health records page.

A chart with 500 health records (plus demographics, 3 emergency contacts, 2 insurance plans)
is exported (cover page + every registered part → PDF, and the FHIR R4 Bundle, every resource
validated) the way the background task does it; the peak Python memory of the build is traced.
Then the patient's Health records page (first page, and filtered by type) is timed through the
test client. Targets (SPEC §10): export ≤ 10 s with bounded memory; page ≤ 50 ms median.

    .venv/bin/python bench/records.py                  # temporary SQLite database
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/portal_records .venv/bin/python bench/records.py

HOOK (appointments): "5 years of appointments" come from the scheduling app, not merged when
this was written. `seed_appointments()` below is the place to add them once it is: it creates
nothing while `scheduling` is not an installed app, and the export then includes its part
automatically (it registers one through patient_portal.exports).
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
_tmp = tempfile.mkdtemp()
os.environ.setdefault("MEDIA_ROOT", f"{_tmp}/media")
if not os.getenv("DATABASE_URL"):
    os.environ["DATABASE_URL"] = f"sqlite:///{_tmp}/bench_records.sqlite3"

RECORDS = int(os.getenv("BENCH_RECORDS", "500"))
RUNS = int(os.getenv("BENCH_RUNS", "3"))
PAGE_RUNS = int(os.getenv("BENCH_PAGE_RUNS", "50"))


def ensure_postgres_database() -> None:
    url = os.environ["DATABASE_URL"]
    if not url.startswith("postgres"):
        return
    import psycopg

    base, _, name = url.rpartition("/")
    with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')


def seed_appointments(chart: object, years: int = 5) -> int:
    """HOOK: add `years` of the chart's appointments once the scheduling app exists.

    Returns how many were created (0 while `scheduling` is not installed).
    """
    from django.apps import apps

    if not apps.is_installed("scheduling"):
        return 0
    # To do when scheduling is merged: create ~2 appointments a month for `years` years with
    # its own services (bulk_create), e.g. scheduling.services.book(...) or its models.
    return 0


def main() -> int:
    ensure_postgres_database()
    import django

    django.setup()
    from django.conf import settings
    from django.core.files.base import ContentFile
    from django.core.files.storage import default_storage
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext, setup_test_environment
    from django.urls import reverse

    from accounts.models import User
    from invites.models import Clinic, ClinicMembership, ClinicPatient
    from patient_portal.models import Chart
    from portal.pdf import PortalPDF
    from records.exports import build_export
    from records.models import Coverage, Demographics, EmergencyContact, HealthExport, HealthRecord

    setup_test_environment()
    settings.ALLOWED_HOSTS = ["testserver", *settings.ALLOWED_HOSTS]
    call_command("migrate", verbosity=0)
    # A re-run on the same database starts clean (charts and links protect the memberships).
    Chart.objects.filter(clinic__name="Records Bench Clinic").delete()
    ClinicPatient.objects.filter(clinic__name="Records Bench Clinic").delete()
    Clinic.objects.filter(name="Records Bench Clinic").delete()
    User.objects.filter(email__startswith="bench.records").delete()

    clinic = Clinic.objects.create(name="Records Bench Clinic")
    doctor = User.objects.create_user(
        "bench.records.doctor@example.com", "x", role=User.Role.PRESCRIBER, first_name="Dana"
    )
    provider = ClinicMembership.objects.create(user=doctor, clinic=clinic, role="provider")
    patient = User.objects.create_user(
        "bench.records.patient@example.com",
        "x",
        role=User.Role.PATIENT,
        first_name="Bea",
        last_name="Benchmark",
    )
    ClinicPatient.objects.create(clinic=clinic, provider=provider, user=patient)
    chart = Chart.objects.get(patient_user=patient, clinic=clinic)
    Demographics.objects.create(
        chart=chart, preferred_name="Bea", address_line1="1 Bench Road", city="Testville"
    )
    for n in range(3):
        EmergencyContact.objects.create(chart=chart, name=f"Contact {n}", phone="555 0100")
    for rank in ("primary", "secondary"):
        Coverage.objects.create(chart=chart, rank=rank, payer=f"{rank} payer", member_id="M1")
    # One stored PDF shared by every row: the export lists the records, it does not embed them.
    doc = PortalPDF(title="Lab result")
    doc.paragraph("Normal.")
    name = default_storage.save("records/health/bench.pdf", ContentFile(doc.bytes()))
    kinds = [k for k, _ in HealthRecord.Kind.choices]
    HealthRecord.objects.bulk_create(
        HealthRecord(
            chart=chart,
            kind=kinds[n % len(kinds)],
            title=f"Record {n:03d} — quarterly results and a long title to wrap the table cell",
            file=name,
            size=1200,
            page_count=1,
            source="clinic",
        )
        for n in range(RECORDS)
    )
    appointments = seed_appointments(chart)

    # The export, as the background task runs it.
    times, peaks, pages = [], [], 0
    for _ in range(RUNS):
        export = HealthExport.objects.create(chart=chart, requested_by=patient)
        tracemalloc.start()
        started = time.perf_counter()
        build_export(export)
        times.append(time.perf_counter() - started)
        peaks.append(tracemalloc.get_traced_memory()[1])
        tracemalloc.stop()
        pages = export.page_count

    client = Client()
    client.force_login(patient)
    client.post(reverse("patient_portal:switch"), {"chart": chart.pk})
    url = reverse("records:health_records")
    client.get(url)
    page_times, filtered_times, home_times = [], [], []
    home = reverse("patient_portal:home")
    for _ in range(PAGE_RUNS):
        # The frame's own Home, timed alongside: what any patient page costs on this machine now.
        started = time.perf_counter()
        assert client.get(home).status_code == 200
        home_times.append(time.perf_counter() - started)
        started = time.perf_counter()
        assert client.get(url).status_code == 200
        page_times.append(time.perf_counter() - started)
        started = time.perf_counter()
        assert client.get(url, {"kind": "lab_result", "page": "3"}).status_code == 200
        filtered_times.append(time.perf_counter() - started)
    with CaptureQueriesContext(connection) as queries:
        client.get(url)

    load = os.getloadavg()[0]
    print(f"database: {connection.vendor}; load average (1 min): {load:.2f}")
    print(
        f"chart: {RECORDS} health records, 3 contacts, 2 plans, {appointments} appointments "
        "(scheduling hook)"
    )
    print(
        f"export: median {statistics.median(times):.2f} s (runs: "
        + ", ".join(f"{t:.2f}" for t in times)
        + f"); {pages} pages; peak traced memory {max(peaks) / 1e6:.1f} MB"
    )
    print(
        f"Health records page: median {statistics.median(page_times) * 1000:.1f} ms, "
        f"filtered page 3: {statistics.median(filtered_times) * 1000:.1f} ms "
        f"({PAGE_RUNS} runs each); {len(queries)} queries; the frame's Home at the same "
        f"time: {statistics.median(home_times) * 1000:.1f} ms"
    )
    ok = statistics.median(times) <= 10 and statistics.median(page_times) <= 0.05
    print("targets met" if ok else "TARGETS MISSED")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
