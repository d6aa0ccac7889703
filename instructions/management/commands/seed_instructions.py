"""Demo Clinician's Instructions (idempotent; run after seed_patient_portal): two for the demo
patient's Riverside chart, one for her child's."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone

from instructions.models import Instruction
from instructions.services import author_name
from patient_portal.models import Chart

PATIENT_EMAIL = "patient@demo.test"
CLINIC = "Riverside Family Clinic"
# (whose chart: "own" or "child", days ago, title, Markdown text)
INSTRUCTIONS = [
    (
        "own",
        9,
        "Blood pressure plan",
        "## Daily\n\n- Take **lisinopril 10 mg** every morning with water.\n"
        "- Check your blood pressure twice a week and note it down.\n\n"
        "## When to call us\n\nCall the clinic if your reading is above **160/100** twice in a "
        "row, or if you feel dizzy when standing up.",
    ),
    (
        "own",
        2,
        "After your visit: walking program",
        "Start with *15 minutes* of brisk walking, five days a week, and add 5 minutes each week "
        "until you reach 30.\n\nThe [American Heart Association's walking guide]"
        "(https://www.heart.org/en/healthy-living/fitness/walking) has good tips.",
    ),
    (
        "child",
        4,
        "Tim: asthma action plan",
        "- **Green zone** (no symptoms): controller inhaler, 2 puffs morning and evening.\n"
        "- **Yellow zone** (cough, wheeze): add the rescue inhaler, 2 puffs every 4 hours.\n"
        "- **Red zone** (hard to breathe, lips bluish): call 911.\n\n"
        "Bring the inhalers to the next visit.",
    ),
]


class Command(BaseCommand):
    help = "Create demo Clinician's Instructions for the demo patient and her child."

    @transaction.atomic
    def handle(self, *args: Any, **options: Any) -> None:
        own = Chart.objects.filter(patient_user__email=PATIENT_EMAIL, clinic__name=CLINIC).first()
        child = Chart.objects.filter(
            proxy_grants__grantee__email=PATIENT_EMAIL,
            proxy_grants__revoked_at__isnull=True,
            clinic__name=CLINIC,
        ).first()
        if own is None or child is None:
            self.stdout.write("Instructions demo skipped: run seed_patient_portal first.")
            return
        made = 0
        for whose, days_ago, title, text in INSTRUCTIONS:
            chart = own if whose == "own" else child
            if Instruction.objects.filter(chart=chart, title=title).exists():
                continue
            author = chart.provider.user
            when = timezone.now() - dt.timedelta(days=days_ago)
            # Written directly (not through publish_instruction): demo data sends no alerts.
            Instruction.objects.create(
                chart=chart,
                title=title,
                text=text,
                author=author,
                author_name=author_name(author, chart),
                created_at=when,
                published_at=when,
                updated_at=when,
                updated_by=author,
            )
            made += 1
        self.stdout.write(
            self.style.SUCCESS(f"Clinician's Instructions: {made} demo note(s) added.")
        )
