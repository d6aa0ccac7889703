"""Demo billing data (idempotent; run after seed_patient_portal): Riverside's billing profile
and, for the demo patient's Riverside chart, one paid and one open invoice with their ledger."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone

from billing import services
from billing.models import BillingProfile, Invoice, Payment
from billing.services import LineData
from invites.models import Clinic
from patient_portal.models import Chart

CLINIC = "Riverside Family Clinic"
PATIENT_EMAIL = "patient@demo.test"


class Command(BaseCommand):
    help = "Create a billing profile and two invoices (one paid, one open) for the demo patient."

    @transaction.atomic
    def handle(self, *args: Any, **options: Any) -> None:
        clinic = Clinic.objects.filter(name=CLINIC).first()
        chart = Chart.objects.filter(clinic=clinic, patient_user__email=PATIENT_EMAIL).first()
        if clinic is None or chart is None:
            self.stdout.write("Billing demo skipped: run seed_patient_portal first.")
            return
        BillingProfile.objects.get_or_create(
            clinic=clinic,
            defaults={
                "legal_name": "Riverside Family Clinic, P.C.",
                "address_line1": "120 Riverside Drive, Suite 200",
                "city": "Philadelphia",
                "state": "PA",
                "zip_code": "19103",
                "phone": "2155550199",
                "tax_id": "23-4567890",
                "npi": "1245319599",
            },
        )
        if Invoice.objects.filter(chart=chart).exists():
            return
        today = timezone.localdate()
        paid = services.create_invoice(
            chart=chart,
            by=None,
            issue=True,
            memo="Thank you for your visit.",
            lines=[
                LineData(
                    today - dt.timedelta(days=60),
                    "Office visit, established patient",
                    "99213",
                    ["E11.9"],
                    1,
                    14500,
                ),
                LineData(
                    today - dt.timedelta(days=60),
                    "Hemoglobin A1c test",
                    "83036",
                    ["E11.9"],
                    1,
                    3500,
                ),
            ],
        )
        payment = Payment.objects.create(
            chart=chart,
            invoice=paid,
            amount_cents=paid.total_cents,
            provider="demo",
        )
        services.record_success(
            payment=payment,
            provider_payment_id=f"demo_{payment.key}",
            amount_cents=paid.total_cents,
        )
        services.create_invoice(
            chart=chart,
            by=None,
            issue=True,
            lines=[
                LineData(
                    today - dt.timedelta(days=7),
                    "Office visit, established patient",
                    "99214",
                    ["E11.9", "I10"],
                    1,
                    21000,
                ),
                LineData(today - dt.timedelta(days=7), "Lipid panel", "80061", ["E78.5"], 1, 4800),
            ],
        )
        self.stdout.write("Billing demo: one paid and one open invoice for the demo patient.")
