"""Schedule fixtures on the patient-portal family (clinics A and B, mary, tim, peter…).

Clinic A (New York): alice works every day 09:00-17:00; two types (an online-bookable
30-minute video visit, a clinic-only 60-minute procedure). Clinic B: carol, one type.
Rules at A: no minimum notice, 60 days ahead, cancel up to 24 h before.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pytest

from scheduling.models import AppointmentType, BookingRules, WorkingHours
from tests.invites.conftest import clinics, outboxes  # noqa: F401
from tests.patient_portal.conftest import Family, family  # noqa: F401


@dataclass
class Sched:
    family: Family
    video: AppointmentType
    procedure: AppointmentType
    b_visit: AppointmentType


@pytest.fixture
def sched(family) -> Sched:  # noqa: F811
    c = family.clinics
    for provider in (c.prov_alice, c.prov_carol):
        for day in range(7):
            WorkingHours.objects.create(
                provider=provider, weekday=day, start=dt.time(9), end=dt.time(17)
            )
    BookingRules.objects.create(
        clinic=c.a, min_notice_hours=0, horizon_days=60, cancel_cutoff_hours=24
    )
    return Sched(
        family=family,
        video=AppointmentType.objects.create(
            clinic=c.a,
            name="Follow-up",
            duration_minutes=30,
            mode="video",
            visit_link="https://video.example.com/room",
            bookable_online=True,
        ),
        procedure=AppointmentType.objects.create(
            clinic=c.a, name="Procedure", duration_minutes=60, bookable_online=False
        ),
        b_visit=AppointmentType.objects.create(clinic=c.b, name="Skin check", duration_minutes=30),
    )
