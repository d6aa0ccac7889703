"""Benchmark: the schedule at 100,000 appointments.

Measures (median of BENCH_RUNS, after one warm-up):
1. free slots of one provider for 4 weeks (`scheduling.selectors.free_slots_for`: three
   queries and the pure computation) — target ≤ 50 ms;
2. the patient's Schedule page (`/patient/schedule/`, through the whole middleware stack) —
   target ≤ 50 ms median;
3. the clinic's week calendar of a provider (`/clinic/schedule/`) — target ≤ 50 ms median.

    .venv/bin/python bench/schedule.py                 # temporary SQLite database
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/portal_bench_schedule .venv/bin/python bench/schedule.py

With DATABASE_URL the database is created if missing and its schedule tables emptied first.
"""

from __future__ import annotations

import datetime as dt
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
if not os.getenv("DATABASE_URL"):
    os.environ["DATABASE_URL"] = f"sqlite:///{tempfile.mkdtemp()}/bench_schedule.sqlite3"

APPOINTMENTS = int(os.getenv("BENCH_APPOINTMENTS", "100000"))
PROVIDERS = 5
CHARTS = 2000
RUNS = int(os.getenv("BENCH_RUNS", "30"))
TARGET_MS = 50.0


def ensure_postgres_database() -> None:
    url = os.environ["DATABASE_URL"]
    if not url.startswith("postgres"):
        return
    import psycopg

    base, _, name = url.rpartition("/")
    with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')


def timed(label: str, action: Callable[[], object]) -> float:
    action()  # warm-up
    samples = []
    for _ in range(RUNS):
        started = time.perf_counter()
        action()
        samples.append((time.perf_counter() - started) * 1000)
    median = statistics.median(samples)
    verdict = "PASS" if median <= TARGET_MS else "FAIL"
    print(
        f"{label}: median {median:.1f} ms, p90 {sorted(samples)[int(RUNS * 0.9) - 1]:.1f} ms, "
        f"worst {max(samples):.1f} ms (target ≤ {TARGET_MS:.0f} ms median): {verdict}"
    )
    return median


def main() -> int:
    ensure_postgres_database()
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client
    from django.test.utils import setup_test_environment
    from django.utils import timezone
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from accounts.models import User
    from invites.models import Clinic, ClinicMembership
    from patient_portal.models import Chart
    from scheduling.models import Appointment, AppointmentType, WorkingHours
    from scheduling.selectors import free_slots_for

    setup_test_environment()
    settings.ALLOWED_HOSTS = ["testserver", *settings.ALLOWED_HOSTS]
    call_command("migrate", verbosity=0)
    Appointment.objects.all().delete()

    clinic, _ = Clinic.objects.get_or_create(name="Benchmark Schedule Clinic")
    admin, _ = User.objects.get_or_create(
        email="bench.sched.admin@example.com",
        defaults={"role": User.Role.CLINIC_ADMIN, "first_name": "Bench"},
    )
    ClinicMembership.objects.get_or_create(user=admin, clinic=clinic, role="admin")
    providers = []
    for n in range(PROVIDERS):
        doctor, _ = User.objects.get_or_create(
            email=f"bench.sched.doc{n}@example.com",
            defaults={"role": User.Role.PRESCRIBER, "first_name": f"Doc{n}", "last_name": "Bench"},
        )
        member, _ = ClinicMembership.objects.get_or_create(
            user=doctor, clinic=clinic, role="provider"
        )
        providers.append(member)
        if not WorkingHours.objects.filter(provider=member).exists():
            WorkingHours.objects.bulk_create(
                WorkingHours(provider=member, weekday=d, start=dt.time(8), end=dt.time(18))
                for d in range(5)
            )
    visit, _ = AppointmentType.objects.get_or_create(
        clinic=clinic, name="Visit", defaults={"duration_minutes": 30}
    )
    patient, _ = User.objects.get_or_create(
        email="bench.sched.patient@example.com",
        defaults={"role": User.Role.PATIENT, "first_name": "Pat", "last_name": "Bench"},
    )
    if Chart.objects.filter(clinic=clinic).count() < CHARTS:
        Chart.objects.filter(clinic=clinic).delete()
        Chart.objects.bulk_create(
            Chart(
                clinic=clinic,
                provider=providers[i % PROVIDERS],
                legal_first_name=f"Person{i}",
                legal_last_name="Bench",
                patient_user=patient if i == 0 else None,
            )
            for i in range(CHARTS)
        )
    charts = list(Chart.objects.filter(clinic=clinic).order_by("pk").values_list("pk", flat=True))

    # 100,000 appointments: per provider, back-to-back 30-minute visits 08:00-18:00 UTC on
    # weekdays, mostly in the past (years of history), the last weeks ahead.
    now = timezone.now().replace(minute=0, second=0, microsecond=0)
    per_provider = APPOINTMENTS // PROVIDERS
    started = time.perf_counter()
    batch: list[Appointment] = []
    for p, provider in enumerate(providers):
        day = (now + dt.timedelta(days=14)).replace(hour=8)
        made = 0
        while made < per_provider:
            if day.weekday() < 5:
                for slot in range(20):
                    if made == per_provider:
                        break
                    start = day + dt.timedelta(minutes=30 * slot)
                    batch.append(
                        Appointment(
                            chart_id=charts[(made * PROVIDERS + p) % CHARTS],
                            provider=provider,
                            type=visit,
                            starts_at=start,
                            ends_at=start + dt.timedelta(minutes=30),
                            status="done" if start < now else "booked",
                        )
                    )
                    made += 1
            day -= dt.timedelta(days=1)
            if len(batch) >= 5000:
                Appointment.objects.bulk_create(batch)
                batch = []
    Appointment.objects.bulk_create(batch)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE scheduling_appointment")
    print(
        f"seeded {Appointment.objects.count():,} appointments, {CHARTS:,} charts, "
        f"{PROVIDERS} providers in {time.perf_counter() - started:.1f} s"
    )

    provider = providers[0]
    slots = free_slots_for(provider, visit, weeks=4)
    print(f"free slots of one provider, 4 weeks: {len(slots)} slots")
    results = [timed("free slots (4 weeks)", lambda: free_slots_for(provider, visit, weeks=4))]

    patient_client = Client()
    patient_client.force_login(patient)
    page = patient_client.get("/patient/schedule/")
    assert page.status_code == 200, page.status_code
    results.append(timed("patient Schedule page", lambda: patient_client.get("/patient/schedule/")))

    device = TOTPDevice.objects.filter(user=admin).first() or TOTPDevice.objects.create(
        user=admin, name="bench", confirmed=True
    )
    staff = Client()
    staff.force_login(admin)
    session = staff.session
    session["otp_device_id"] = device.persistent_id
    session["invites_clinic_id"] = clinic.pk
    session.save()
    url = f"/clinic/schedule/?provider={provider.pk}"
    week = staff.get(url)
    assert week.status_code == 200 and b"sched-appt" in week.content, week.status_code
    results.append(timed("clinic week calendar", lambda: staff.get(url)))

    engine = settings.DATABASES["default"]["ENGINE"].rsplit(".", 1)[-1]
    print(f"database={engine} load average={os.getloadavg()[0]:.2f}")
    return 0 if all(r <= TARGET_MS for r in results) else 1


if __name__ == "__main__":
    raise SystemExit(main())
