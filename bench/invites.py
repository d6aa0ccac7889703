"""Benchmark: a 10,000-row CSV of patient invites through the view, against a bulk insert.

Each run POSTs a generated file of fresh patients to the Import CSV view with Django's test
client (whole middleware stack, signed-in, OTP-verified clinic admin) and times it until the
result page is back: header check, validation of every row, dedupe against the clinic and
within the file, the insert of the invites with their codes, queueing of the deliveries on the
database task queue (`django_tasks_db`; nothing is sent inline) and the page. Its **floor**, run
in the same process interleaved with it (alternating which goes first): the same bytes parsed
with `csv.reader` and the same rows written with one `bulk_create` in a transaction (codes
included), nothing else. Between runs both clinics are emptied (untimed), so every run starts
alike. Target: page median ≤ 2 × floor median, and a small page.

    .venv/bin/python bench/invites.py [--runs 5] [--rows 10000] [--write]

PostgreSQL by default (`DATABASE_URL`, else postgres://postgres@127.0.0.1:5432/bench_perf,
created and migrated if missing).
"""

from __future__ import annotations

import argparse
import csv
import io
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
os.environ["TASKS_BACKEND"] = "django_tasks_db.DatabaseBackend"
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/bench_perf")


def ensure_postgres_database() -> None:
    url = os.environ["DATABASE_URL"]
    if not url.startswith("postgres"):
        return
    import psycopg  # noqa: PLC0415

    base, _, name = url.rpartition("/")
    with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')


def make_file(run: int, rows: int) -> bytes:
    lines = ["First Name,Last Name,Email,Mobile Number"]
    lines += [
        f"First{run}x{i},Last{i},patient{run}x{i}@example.com,{2150000000 + run * rows + i}"
        for i in range(rows)
    ]
    return ("\r\n".join(lines) + "\r\n").encode()


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--write", action="store_true")
    args = parser.parse_args()
    ensure_postgres_database()
    import django  # noqa: PLC0415

    django.setup()
    from django.conf import settings  # noqa: PLC0415
    from django.core.files.uploadedfile import SimpleUploadedFile  # noqa: PLC0415
    from django.core.management import call_command  # noqa: PLC0415
    from django.db import connection, transaction  # noqa: PLC0415
    from django.test import Client  # noqa: PLC0415
    from django.test.utils import setup_test_environment  # noqa: PLC0415
    from django_otp.plugins.otp_totp.models import TOTPDevice  # noqa: PLC0415
    from django_tasks_db.models import DBTaskResult  # noqa: PLC0415

    from accounts.models import User  # noqa: PLC0415
    from invites.models import Clinic, ClinicMembership, Invite, generate_code  # noqa: PLC0415

    setup_test_environment()
    settings.ALLOWED_HOSTS = ["testserver", *settings.ALLOWED_HOSTS]
    # Production settings without a collectstatic run: plain static URLs (no manifest).
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    call_command("migrate", verbosity=0)

    admin, _ = User.objects.get_or_create(
        email="bench.admin@example.com",
        defaults={"role": User.Role.CLINIC_ADMIN, "first_name": "Bench"},
    )
    doctor, _ = User.objects.get_or_create(
        email="bench.doctor@example.com",
        defaults={"role": User.Role.PRESCRIBER, "first_name": "Doc"},
    )
    clinic, _ = Clinic.objects.get_or_create(name="Benchmark Clinic")
    floor_clinic, _ = Clinic.objects.get_or_create(name="Benchmark Clinic (floor)")
    ClinicMembership.objects.get_or_create(user=admin, clinic=clinic, role="admin")
    provider, _ = ClinicMembership.objects.get_or_create(
        user=doctor, clinic=clinic, role="provider"
    )
    floor_provider, _ = ClinicMembership.objects.get_or_create(
        user=doctor, clinic=floor_clinic, role="provider"
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

    def reset() -> None:
        Invite.objects.filter(clinic__in=[clinic, floor_clinic]).delete()
        DBTaskResult.objects.all().delete()

    def floor(data: bytes) -> int:
        rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))[1:]
        # Codes are unique among live invites: the floor reads the taken ones too.
        taken = set(Invite.objects.live().values_list("code", flat=True))
        codes: set[str] = set()
        while len(codes) < len(rows):
            code = generate_code()
            if code not in taken:
                codes.add(code)
        with transaction.atomic():
            Invite.objects.bulk_create(
                [
                    Invite(
                        clinic=floor_clinic,
                        provider=floor_provider,
                        invited_by=admin,
                        code=code,
                        first_name=first,
                        last_name=last,
                        email=email,
                        mobile=mobile,
                    )
                    for (first, last, email, mobile), code in zip(rows, codes, strict=True)
                ],
                batch_size=500,
            )
        return len(rows)

    def page(data: bytes, rows: int = args.rows) -> tuple[float, Any]:
        upload = SimpleUploadedFile("bench.csv", data, content_type="text/csv")
        started = time.perf_counter()
        response = client.post("/clinic/invite/import/", {"csv_file": upload}, secure=True)
        elapsed = time.perf_counter() - started
        assert response.status_code == 200, response.status_code
        assert f"{rows} patients invited" in response.content.decode(), response.content[:2000]
        return elapsed, response

    reset()
    page(make_file(99, 200), 200)  # warm-up: templates, code paths, connections
    reset()
    load_before = os.getloadavg()[0]
    page_s, floor_s, html = [], [], 0
    queued = sent = 0
    for run in range(args.runs):
        data = make_file(run, args.rows)
        for which in ("page", "floor") if run % 2 == 0 else ("floor", "page"):
            if which == "page":
                elapsed, response = page(data)
                page_s.append(elapsed)
                html = len(response.content)
            else:
                started = time.perf_counter()
                floor(data)
                floor_s.append(time.perf_counter() - started)
        queued = DBTaskResult.objects.count()
        sent = Invite.objects.filter(clinic=clinic, sent_at__isnull=False).count()
        print(
            f"run {run + 1}: page {page_s[-1]:.2f} s, floor {floor_s[-1]:.2f} s, "
            f"{html / 1024:.0f} KiB of HTML",
            file=sys.stderr,
            flush=True,
        )
        reset()
    load_after = os.getloadavg()[0]
    ratio = statistics.median(page_s) / statistics.median(floor_s)
    engine = "PostgreSQL" if connection.vendor == "postgresql" else connection.vendor
    body = "\n".join(
        [
            "## Invites",
            "",
            "Method: `bench/invites.py` (run `.venv/bin/python bench/invites.py --write`). Each "
            f"run POSTs a generated {args.rows:,}-row CSV of fresh patients to the Import CSV "
            "view through Django's test client in-process (whole middleware stack, signed-in, "
            "OTP-verified clinic admin; no HTTP server) and times it until the result page is "
            "back: header check, validation of every row, dedupe against the clinic and within "
            "the file, the insert of the invites with their codes, the deliveries queued on the "
            "database task queue (`django_tasks_db`, batches of 200; nothing sent inline), the "
            "page. Its floor, timed in the same process and interleaved run by run (alternating "
            "which goes first): the same bytes parsed with `csv.reader` and the same rows "
            "written by one `bulk_create` in a transaction, codes included, nothing else. Both "
            "clinics are emptied between runs (untimed). Target: page ≤ 2 × floor, and a small "
            "result page.",
            "",
            "| database | rows | runs | result page (each run) | page median | floor (each run) "
            "| floor median | ratio | HTML | deliveries queued / sent inline | load avg |",
            "|---|---|---|---|---|---|---|---|---|---|---|",
            f"| {engine} | {args.rows:,} | {args.runs} | "
            + ", ".join(f"{s:.2f}" for s in page_s)
            + f" s | {statistics.median(page_s):.2f} s | "
            + ", ".join(f"{s:.2f}" for s in floor_s)
            + f" s | {statistics.median(floor_s):.2f} s | {ratio:.1f}× | {html / 1024:.0f} KiB | "
            f"{queued} tasks / {sent} | {load_before:.1f} → {load_after:.1f} |",
            "",
        ]
    )
    print(body)
    if args.write:
        from bench.import_and_seed import write_section  # noqa: PLC0415

        notes = ""
        doc = (ROOT / "docs" / "PERFORMANCE.md").read_text()
        if "<!-- invites-notes -->" in doc:
            start = doc.index("<!-- invites-notes -->")
            end = doc.find("\n## ", start)
            notes = doc[start : end if end != -1 else len(doc)].rstrip() + "\n"
        write_section("Invites", body + ("\n" + notes if notes else ""))
    return 0 if sent == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
