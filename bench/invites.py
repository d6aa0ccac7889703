"""Benchmark: import a 10,000-row CSV of patient invites through the view.

Measures the time from POSTing the file to receiving the result page (validation, dedupe,
bulk insert, queueing deliveries on the database task queue, rendering the per-row report).
Deliveries are only queued (django_tasks_db), never sent inline. Target: < 5 s.

    .venv/bin/python bench/invites.py                 # temporary SQLite database
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/portal_bench .venv/bin/python bench/invites.py

With DATABASE_URL the database is created if missing and its invite tables are emptied first.
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
os.environ["TASKS_BACKEND"] = "django_tasks_db.DatabaseBackend"
if not os.getenv("DATABASE_URL"):
    os.environ["DATABASE_URL"] = f"sqlite:///{tempfile.mkdtemp()}/bench_invites.sqlite3"

ROWS = int(os.getenv("BENCH_ROWS", "10000"))
RUNS = int(os.getenv("BENCH_RUNS", "3"))
TARGET_SECONDS = 5.0


def ensure_postgres_database() -> None:
    url = os.environ["DATABASE_URL"]
    if not url.startswith("postgres"):
        return
    import psycopg

    base, _, name = url.rpartition("/")
    with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')


def main() -> int:
    ensure_postgres_database()
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.test import Client
    from django.test.utils import setup_test_environment
    from django_otp.plugins.otp_totp.models import TOTPDevice
    from django_tasks_db.models import DBTaskResult

    from accounts.models import User
    from invites.models import Clinic, ClinicMembership, ClinicPatient, Invite

    setup_test_environment()
    settings.ALLOWED_HOSTS = ["testserver", *settings.ALLOWED_HOSTS]
    call_command("migrate", verbosity=0)
    ClinicPatient.objects.all().delete()
    Invite.objects.all().delete()
    DBTaskResult.objects.all().delete()

    admin, _ = User.objects.get_or_create(
        email="bench.admin@example.com",
        defaults={"role": User.Role.CLINIC_ADMIN, "first_name": "Bench"},
    )
    doctor, _ = User.objects.get_or_create(
        email="bench.doctor@example.com",
        defaults={"role": User.Role.PRESCRIBER, "first_name": "Doc"},
    )
    clinic, _ = Clinic.objects.get_or_create(name="Benchmark Clinic")
    ClinicMembership.objects.get_or_create(user=admin, clinic=clinic, role="admin")
    provider, _ = ClinicMembership.objects.get_or_create(
        user=doctor, clinic=clinic, role="provider"
    )
    device = TOTPDevice.objects.filter(user=admin).first() or TOTPDevice.objects.create(
        user=admin, name="bench", confirmed=True
    )

    client = Client()
    client.force_login(admin)
    session = client.session
    session["otp_device_id"] = device.persistent_id
    session["invites_clinic_id"] = clinic.pk
    session["invites_provider_id"] = provider.pk
    session.save()

    timings = []
    for run in range(RUNS):
        lines = ["First Name,Last Name,Email,Mobile Number"]
        lines += [
            f"First{run}x{i},Last{i},patient{run}x{i}@example.com,{2150000000 + run * ROWS + i}"
            for i in range(ROWS)
        ]
        data = ("\r\n".join(lines) + "\r\n").encode()
        from django.core.files.uploadedfile import SimpleUploadedFile

        upload = SimpleUploadedFile("bench.csv", data, content_type="text/csv")
        started = time.perf_counter()
        response = client.post("/clinic/invite/import/", {"csv_file": upload})
        elapsed = time.perf_counter() - started
        body = response.content.decode()
        assert response.status_code == 200, response.status_code
        assert f"{ROWS} patients invited" in body, body[:2000]
        timings.append(elapsed)
        print(
            f"run {run + 1}: {ROWS:,} rows ({len(data) / 1024:.0f} KiB) -> result page in {elapsed:.2f} s "
            f"({len(body) / 1024:.0f} KiB of HTML)"
        )

    queued = DBTaskResult.objects.count()
    invites = Invite.objects.count()
    sent = Invite.objects.filter(sent_at__isnull=False).count()
    engine = settings.DATABASES["default"]["ENGINE"].rsplit(".", 1)[-1]
    print(
        f"database={engine} invites={invites:,} queued delivery tasks={queued} sent inline={sent}"
    )
    print(
        f"median {statistics.median(timings):.2f} s, worst {max(timings):.2f} s "
        f"(target < {TARGET_SECONDS:.0f} s): {'PASS' if max(timings) < TARGET_SECONDS else 'FAIL'}"
    )
    return 0 if max(timings) < TARGET_SECONDS and sent == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
