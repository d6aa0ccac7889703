"""Benchmark: Billing History and the clinic's open-invoice list at 100,000 transactions.

Data: one clinic; one patient chart with 100,000 ledger entries (charges, payments, refunds
and adjustments over ten years: the worst case for the running balance), and 2,000 other
charts with 20,000 open invoices (each with its charge entry; a quarter partly paid). Each page
is requested through the test client as its user would (session, second factor, middleware,
audit, template), RUNS times after a warm-up; the median must be ≤ 50 ms.

    .venv/bin/python bench/billing.py            # temporary SQLite database
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/portal_bench_billing .venv/bin/python bench/billing.py
"""

from __future__ import annotations

import datetime as dt
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
    os.environ["DATABASE_URL"] = f"sqlite:///{tempfile.mkdtemp()}/bench_billing.sqlite3"

TRANSACTIONS = int(os.getenv("BENCH_TRANSACTIONS", "100000"))
OPEN_INVOICES = int(os.getenv("BENCH_OPEN_INVOICES", "20000"))
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


def main() -> int:  # noqa: PLR0915 - one straight script
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
    from billing.models import Invoice, LedgerEntry, Payment
    from billing.services import chart_balance
    from invites.models import Clinic, ClinicMembership
    from patient_portal.models import Chart
    from patient_portal.selectors import SESSION_CHART

    setup_test_environment()
    settings.ALLOWED_HOSTS = ["testserver", *settings.ALLOWED_HOSTS]
    call_command("migrate", verbosity=0)
    for model in (LedgerEntry, Payment, Invoice):
        model.objects.all().delete()
    Chart.objects.filter(clinic__name="Billing Bench Clinic").delete()

    admin, _ = User.objects.get_or_create(
        email="billing.bench.admin@example.com", defaults={"role": User.Role.CLINIC_ADMIN}
    )
    doctor, _ = User.objects.get_or_create(
        email="billing.bench.doctor@example.com", defaults={"role": User.Role.PRESCRIBER}
    )
    patient, _ = User.objects.get_or_create(
        email="billing.bench.patient@example.com",
        defaults={"role": User.Role.PATIENT, "first_name": "Pat"},
    )
    clinic, _ = Clinic.objects.get_or_create(name="Billing Bench Clinic")
    ClinicMembership.objects.get_or_create(user=admin, clinic=clinic, role="admin")
    provider, _ = ClinicMembership.objects.get_or_create(
        user=doctor, clinic=clinic, role="provider"
    )
    chart = Chart.objects.create(
        clinic=clinic,
        provider=provider,
        legal_first_name="Pat",
        legal_last_name="Big",
        patient_user=patient,
    )

    started = time.perf_counter()
    start = timezone.now() - dt.timedelta(days=3650)
    step = dt.timedelta(days=3650) / TRANSACTIONS
    kinds = [("charge", 12000), ("payment", -9000), ("adjustment", -500), ("refund", 1000)]
    # Built as services.post_entry would append them, with the running balance on each.
    balance = 0

    def entry(i: int) -> LedgerEntry:
        nonlocal balance
        balance += kinds[i % 4][1]
        return LedgerEntry(
            chart=chart,
            kind=kinds[i % 4][0],
            amount_cents=kinds[i % 4][1],
            balance_after_cents=balance,
            description=f"{kinds[i % 4][0].title()} {i}",
            occurred_at=start + step * i,
        )

    LedgerEntry.objects.bulk_create((entry(i) for i in range(TRANSACTIONS)), batch_size=5000)
    others = Chart.objects.bulk_create(
        Chart(
            clinic=clinic, provider=provider, legal_first_name=f"P{i}", legal_last_name=f"L{i:05d}"
        )
        for i in range(2000)
    )
    now = timezone.now()
    invoices = Invoice.objects.bulk_create(
        (
            Invoice(
                chart=others[i % len(others)],
                status="open",
                total_cents=10000 + i,
                issued_at=now - dt.timedelta(minutes=i),
            )
            for i in range(OPEN_INVOICES)
        ),
        batch_size=5000,
    )
    balances: dict[int, int] = {}

    def charge(inv: Invoice) -> LedgerEntry:
        balances[inv.chart_id] = balances.get(inv.chart_id, 0) + inv.total_cents
        return LedgerEntry(
            chart_id=inv.chart_id,
            kind="charge",
            amount_cents=inv.total_cents,
            balance_after_cents=balances[inv.chart_id],
            description="Invoice",
            occurred_at=inv.issued_at,
            invoice=inv,
        )

    LedgerEntry.objects.bulk_create(
        (charge(inv) for inv in sorted(invoices, key=lambda inv: inv.issued_at)), batch_size=5000
    )
    Payment.objects.bulk_create(
        (
            Payment(
                chart_id=inv.chart_id,
                invoice=inv,
                amount_cents=2500,
                status="succeeded",
                provider="bench",
                provider_payment_id=f"pi_bench_{inv.pk}",
            )
            for inv in invoices[::4]
        ),
        batch_size=5000,
    )
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    total_rows = LedgerEntry.objects.count()
    print(
        f"data: {total_rows:,} ledger entries ({TRANSACTIONS:,} on one chart), "
        f"{OPEN_INVOICES:,} open invoices, built in {time.perf_counter() - started:.1f} s"
    )

    def client_for(user: User, **session_values: object) -> Client:
        client = Client()
        client.force_login(user)
        session = client.session
        if not user.is_patient:  # patients without an authenticator have no second factor
            device = TOTPDevice.objects.filter(user=user).first() or TOTPDevice.objects.create(
                user=user, name="bench", confirmed=True
            )
            session["otp_device_id"] = device.persistent_id
        session.update(session_values)
        session.save()
        return client

    staff = client_for(admin, invites_clinic_id=clinic.pk)
    pat = client_for(patient, **{SESSION_CHART: chart.pk})

    last_page = (TRANSACTIONS + 24) // 25
    cases = [
        ("Home (baseline, no billing)", pat, "/patient/", "Balance due"),
        (
            "Billing History, page 1",
            pat,
            "/patient/billing/history/",
            f"{chart_balance(chart) / 100:,.2f}",
        ),
        (
            "Billing History, middle page",
            pat,
            f"/patient/billing/history/?page={last_page // 2}",
            "Balance",
        ),
        (
            "Billing History, a month",
            pat,
            f"/patient/billing/history/?date_from={(now - dt.timedelta(days=400)):%Y-%m-%d}&date_to={(now - dt.timedelta(days=370)):%Y-%m-%d}",
            "Balance",
        ),
        ("Open invoices, page 1", staff, "/clinic/billing/", "INV-"),
        ("Open invoices, page 400", staff, "/clinic/billing/?page=400", "INV-"),
    ]
    failed = False
    for label, client, url, expect in cases:
        response = client.get(url)
        assert response.status_code == 200, (label, response.status_code)
        assert expect in response.content.decode(), (label, expect)
        timings, cpu = [], []
        for _ in range(RUNS):
            t0, c0 = time.perf_counter(), time.process_time()
            client.get(url)
            timings.append((time.perf_counter() - t0) * 1000)
            cpu.append((time.process_time() - c0) * 1000)
        median = statistics.median(timings)
        p90 = sorted(timings)[int(len(timings) * 0.9) - 1]
        ok = median <= TARGET_MS
        failed |= not ok
        print(
            f"{label:32s} median {median:6.1f} ms  p90 {p90:6.1f} ms  "
            f"median CPU {statistics.median(cpu):6.1f} ms  {'PASS' if ok else 'FAIL'}"
        )
    engine = settings.DATABASES["default"]["ENGINE"].rsplit(".", 1)[-1]
    print(
        f"database={engine} runs={RUNS} load average={os.getloadavg()[0]:.2f} target median ≤ {TARGET_MS:.0f} ms"
    )
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
