"""Demo Documents (idempotent; run after seed_patient_portal): the demo patient's Riverside
chart has a GAD-7 submitted three weeks ago and a PHQ-9 submitted earlier, a PHQ-9 pending, an
intake form and a telehealth consent pending."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone

from accounts.models import User
from patient_portal.models import Chart
from questionnaires import services
from questionnaires.builtins import install
from questionnaires.models import Assignment, Form, Question

PATIENT_EMAIL = "patient@demo.test"
CLINIC = "Riverside Family Clinic"
INTAKE: list[tuple[str, str, str, bool, dict[str, Any]]] = [
    ("About you", "text", "Preferred name", False, {}),
    ("About you", "date", "Date of your last check-up", False, {}),
    (
        "About you",
        "single",
        "Preferred contact",
        True,
        {
            "choices": [
                {"value": "o1", "label": "Phone"},
                {"value": "o2", "label": "Email"},
                {"value": "o3", "label": "Portal message"},
            ]
        },
    ),
    (
        "History",
        "multiple",
        "Do you have any of these conditions?",
        False,
        {
            "choices": [
                {"value": "o1", "label": "Asthma"},
                {"value": "o2", "label": "Diabetes"},
                {"value": "o3", "label": "High blood pressure"},
                {"value": "o4", "label": "None of these"},
            ]
        },
    ),
    ("History", "yes_no", "Do you smoke?", True, {}),
    (
        "History",
        "scale",
        "How would you rate your health today?",
        True,
        {"scale_min": 1, "scale_max": 5, "min_label": "Poor", "max_label": "Excellent"},
    ),
    ("History", "long_text", "Anything else we should know?", False, {}),
]
CONSENT = (
    "I agree to receive care from Riverside Family Clinic by secure video visits.\n"
    "I understand that video visits have limits, that I may ask for an in-person visit instead, "
    "and that I may withdraw this consent at any time by telling the clinic."
)


class Command(BaseCommand):
    help = "Assign demo forms (PHQ-9, GAD-7, intake, consent) to the demo patient."

    @transaction.atomic
    def handle(self, *args: Any, **options: Any) -> None:
        install(Form, Question)
        patient = User.objects.filter(email=PATIENT_EMAIL).first()
        chart = (
            Chart.objects.filter(patient_user=patient, clinic__name=CLINIC).first()
            if patient
            else None
        )
        if patient is None or chart is None:
            self.stdout.write("Documents demo skipped: run seed_patient_portal first.")
            return
        if Assignment.objects.filter(chart=chart).exists():
            self.stdout.write("Documents demo already present.")
            return
        staff = chart.provider.user
        intake = Form.objects.create(
            clinic=chart.clinic,
            kind=Form.Kind.ADMIN,
            title="New patient intake",
            description="Tell us a little about you before your first visit.",
            created_by=staff,
        )
        for n, (section, kind, text, required, extra) in enumerate(INTAKE, start=1):
            Question.objects.create(
                form=intake,
                position=n,
                section=section,
                kind=kind,
                text=text,
                required=required,
                **extra,
            )
        consent = Form.objects.create(
            clinic=chart.clinic,
            kind=Form.Kind.CONSENT,
            title="Telehealth consent",
            consent_text=CONSENT,
            created_by=staff,
        )
        phq9 = Form.objects.get(slug="phq-9", is_builtin=True)
        gad7 = Form.objects.get(slug="gad-7", is_builtin=True)
        today = timezone.localdate()
        signer = services.Signer(user=patient)
        for form, points, days_ago in (
            (phq9, [2, 2, 1, 2, 1, 1, 1, 0, 0], 42),
            (gad7, [1, 2, 1, 1, 0, 1, 0], 21),
        ):
            done = services.assign_form(form=form, chart=chart, due_on=None, assigned_by=staff)
            items = [q for q in form.questions.all() if q.scored]
            answers: dict[str, Any] = {
                str(q.pk): str(p) for q, p in zip(items, points, strict=True)
            }
            submission = services.submit(assignment=done, answers=answers, signer=signer)
            when = timezone.now() - dt.timedelta(days=days_ago)
            type(submission).objects.filter(pk=submission.pk).update(
                submitted_at=when, started_at=when
            )
            Assignment.objects.filter(pk=done.pk).update(assigned_at=when - dt.timedelta(days=2))
        services.assign_form(
            form=phq9, chart=chart, due_on=today + dt.timedelta(days=3), assigned_by=staff
        )
        services.assign_form(
            form=intake, chart=chart, due_on=today + dt.timedelta(days=7), assigned_by=staff
        )
        services.assign_form(
            form=consent, chart=chart, due_on=today + dt.timedelta(days=7), assigned_by=staff
        )
        self.stdout.write(
            self.style.SUCCESS("Documents demo: 2 submitted, 3 pending for the demo patient.")
        )
