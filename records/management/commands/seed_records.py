"""Demo records (idempotent; run after seed_patient_portal): the demo patient's demographics,
an emergency contact, primary insurance and two shared health records at Riverside."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.management.base import BaseCommand
from django.db import transaction

from patient_portal.models import Chart
from portal.pdf import PortalPDF
from records.models import Coverage, Demographics, EmergencyContact, HealthRecord
from records.services import add_health_record

PATIENT_EMAIL = "patient@demo.test"
CLINIC = "Riverside Family Clinic"


def demo_pdf(title: str, lines: list[str]) -> bytes:
    doc = PortalPDF(title=title, subtitle=CLINIC)
    for line in lines:
        doc.paragraph(line)
    return doc.bytes()


class Command(BaseCommand):
    help = "Demo demographics, an emergency contact, insurance and two health records."

    @transaction.atomic
    def handle(self, *args: Any, **options: Any) -> None:
        chart = Chart.objects.filter(patient_user__email=PATIENT_EMAIL, clinic__name=CLINIC).first()
        if chart is None:
            self.stdout.write("No demo patient chart; run seed_patient_portal first.")
            return
        Demographics.objects.update_or_create(
            chart=chart,
            defaults={
                "preferred_name": "Mary",
                "sex": "Female",
                "pronouns": "she/her",
                "address_line1": "12 Elm Street",
                "city": "Springfield",
                "state": "IL",
                "postal_code": "62704",
                "country": "USA",
                "phone": "+1 217 555 0142",
                "email": PATIENT_EMAIL,
                "preferred_language": "English",
            },
        )
        EmergencyContact.objects.get_or_create(
            chart=chart,
            name="John Doe",
            defaults={"relationship": "Spouse", "phone": "+1 217 555 0199"},
        )
        Coverage.objects.update_or_create(
            chart=chart,
            rank=Coverage.Rank.PRIMARY,
            defaults={
                "payer": "Blue Prairie Health",
                "member_id": "BPH123456789",
                "group_number": "GRP-4410",
                "subscriber_name": "Mary Doe",
                "subscriber_relationship": "Self",
            },
        )
        if not HealthRecord.objects.filter(chart=chart).exists():
            add_health_record(
                chart=chart,
                kind=HealthRecord.Kind.VISIT_SUMMARY,
                title="Visit summary — annual check-up",
                pdf_bytes=demo_pdf(
                    "Visit summary",
                    [
                        f"Patient: {chart.full_name}",
                        f"Date: {dt.date.today():%Y-%m-%d}",
                        "Blood pressure 118/76. Continue current medication. Next visit in 12 months.",
                    ],
                ),
                source="clinic",
                created_by=chart.provider.user,
            )
            add_health_record(
                chart=chart,
                kind=HealthRecord.Kind.LAB_RESULT,
                title="Lab result — lipid panel",
                pdf_bytes=demo_pdf(
                    "Lab result: lipid panel",
                    ["Total cholesterol 182 mg/dL", "LDL 104 mg/dL", "HDL 58 mg/dL"],
                ),
                source="clinic",
                created_by=chart.provider.user,
            )
        self.stdout.write(f"Records for {chart.full_name} at {CLINIC} ready.")
