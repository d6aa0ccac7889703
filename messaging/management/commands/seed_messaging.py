"""Demo Messages (idempotent; run after seed_patient_portal): a few threads for the demo
patient's own chart and her child's, with replies from the clinic and one unread."""

from __future__ import annotations

import hashlib
from typing import Any

from django.core.management.base import BaseCommand
from django.db import transaction

from accounts.models import User
from messaging.models import Thread
from messaging.services import send_message, start_thread
from patient_portal.models import Chart

PATIENT_EMAIL = "patient@demo.test"
# (whose chart: "own" at Riverside or "child", to, subject, [(from clinic?, text), …])
THREADS = [
    (
        "own",
        "clinician",
        "Refill of my blood pressure medicine",
        [
            (False, "Hello Dr. Smith, I have five tablets left. Could you send a refill?"),
            (True, "Hi Mary, done: the pharmacy has it. Let me know how the new dose feels."),
        ],
    ),
    (
        "own",
        "office",
        "Change of address",
        [(False, "We moved last month; where can I update my address?")],
    ),
    (
        "child",
        "clinician",
        "Tim's cough after the cold",
        [
            (False, "Tim still coughs at night, two weeks after his cold. Should we come in?"),
            (True, "Thanks for writing. Please book a visit this week; bring his inhaler."),
        ],
    ),
]


class Command(BaseCommand):
    help = "Create demo message threads for the demo patient and her child's chart."

    @transaction.atomic
    def handle(self, *args: Any, **options: Any) -> None:
        mary = User.objects.filter(email=PATIENT_EMAIL).first()
        if mary is None:
            self.stdout.write("Messages demo skipped: run seed_patient_portal first.")
            return
        own = (
            Chart.objects.filter(patient_user=mary, clinic__name="Riverside Family Clinic")
            .select_related("provider__user", "clinic")
            .first()
        )
        child = (
            Chart.objects.in_portal_of(mary)
            .exclude(patient_user=mary)
            .select_related("provider__user", "clinic")
            .first()
        )
        created = 0
        for whose, to, subject, messages in THREADS:
            chart = own if whose == "own" else child
            if chart is None or Thread.objects.filter(chart=chart, subject=subject).exists():
                continue
            (_, first), *rest = messages
            thread, _, _ = start_thread(
                chart=chart,
                author=mary,
                to=to,
                subject=subject,
                body=first,
                client_id=f"seed{chart.pk}x{hashlib.sha256(subject.encode()).hexdigest()[:20]}",
            )
            staff = chart.provider.user
            for from_clinic, text in rest:
                send_message(
                    thread=thread,
                    author=staff if from_clinic else mary,
                    body=text,
                    from_clinic=from_clinic,
                )
            created += 1
        self.stdout.write(f"Messages demo: {created} threads created.")
