"""Demo schedule (idempotent; run after seed_patient_portal): appointment types and weekday
hours at each demo clinic, and a past and an upcoming appointment for the demo patient."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone

from invites.models import Clinic, ClinicMembership
from patient_portal.models import Chart
from scheduling.models import Appointment, AppointmentType, BookingRules, WorkingHours
from scheduling.selectors import free_slots_for

TYPES = [
    ("New patient visit", 60, "in_person", "", True),
    ("Follow-up visit", 30, "in_person", "", True),
    ("Video follow-up", 20, "video", "https://video.example.com/demo-room", True),
    ("Procedure", 90, "in_person", "", False),
]
PATIENT_EMAIL = "patient@demo.test"


class Command(BaseCommand):
    help = "Create demo appointment types, providers' hours and a few appointments."

    @transaction.atomic
    def handle(self, *args: Any, **options: Any) -> None:
        for clinic in Clinic.objects.all():
            BookingRules.objects.get_or_create(clinic=clinic)
            for name, minutes, mode, link, online in TYPES:
                AppointmentType.objects.get_or_create(
                    clinic=clinic,
                    name=name,
                    defaults={
                        "duration_minutes": minutes,
                        "mode": mode,
                        "visit_link": link,
                        "bookable_online": online,
                    },
                )
        for provider in ClinicMembership.objects.providers().select_related("clinic"):
            if WorkingHours.objects.filter(provider=provider).exists():
                continue
            WorkingHours.objects.bulk_create(
                [
                    WorkingHours(provider=provider, weekday=day, start=start, end=end)
                    for day in range(5)
                    for start, end in ((dt.time(9), dt.time(12)), (dt.time(13), dt.time(17)))
                ]
            )
        chart = (
            Chart.objects.filter(patient_user__email=PATIENT_EMAIL)
            .select_related("provider__clinic")
            .first()
        )
        if chart is None or Appointment.objects.filter(chart=chart).exists():
            self.stdout.write("Schedule demo data ready.")
            return
        follow_up = AppointmentType.objects.get(clinic=chart.clinic, name="Follow-up visit")
        free = free_slots_for(chart.provider, follow_up, weeks=4)
        upcoming = next((s for s in free if s > timezone.now() + dt.timedelta(days=5)), None)
        if upcoming is not None:
            Appointment.objects.create(
                chart=chart,
                provider=chart.provider,
                type=follow_up,
                starts_at=upcoming,
                ends_at=upcoming + follow_up.duration,
            )
        past = (timezone.now() - dt.timedelta(days=30)).replace(minute=0, second=0, microsecond=0)
        Appointment.objects.create(
            chart=chart,
            provider=chart.provider,
            type=follow_up,
            starts_at=past,
            ends_at=past + follow_up.duration,
            status=Appointment.Status.DONE,
        )
        self.stdout.write("Schedule demo data ready.")
