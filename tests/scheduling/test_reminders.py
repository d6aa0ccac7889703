"""Day-before reminders: PHI-free, only with consent and the patient's choice, each once."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core import mail
from django.core.management import call_command
from django.utils import timezone

from patient_portal.models import PatientPreferences
from scheduling import services

pytestmark = pytest.mark.django_db


def book_tomorrow(sched, chart, user, later: int = 0):
    at = (timezone.now() + dt.timedelta(hours=20 + later)).replace(second=0, microsecond=0)
    return services.book(
        chart=chart,
        provider=sched.family.clinics.prov_alice,
        appointment_type=sched.video,
        starts_at=at,
        by=user,
        as_patient=False,
    )


def remind(capture) -> None:
    with capture(execute=True):
        call_command("send_appointment_reminders")


def test_it_reminds_once_without_phi_and_only_with_consent(
    sched, django_capture_on_commit_callbacks
):
    f = sched.family
    PatientPreferences.objects.create(user=f.mary, email_consent=True)
    book_tomorrow(sched, f.mary_a, f.mary)
    book_tomorrow(sched, f.peter_a, f.peter, later=1)  # peter never consented
    mail.outbox.clear()
    remind(django_capture_on_commit_callbacks)
    remind(django_capture_on_commit_callbacks)
    assert [m.to for m in mail.outbox] == [[f.mary.email]]
    body = mail.outbox[0].subject + mail.outbox[0].body
    for phi in ("Follow-up", "Alice", "Riverside", "Mary", "video"):
        assert phi not in body


def test_no_email_when_the_patient_turned_reminders_off(sched, django_capture_on_commit_callbacks):
    f = sched.family
    PatientPreferences.objects.create(
        user=f.mary, email_consent=True, email_appointment_reminders=False
    )
    book_tomorrow(sched, f.mary_a, f.mary)
    mail.outbox.clear()
    remind(django_capture_on_commit_callbacks)
    assert mail.outbox == []


def test_a_childs_reminder_goes_to_the_proxy(sched, django_capture_on_commit_callbacks):
    f = sched.family
    PatientPreferences.objects.create(user=f.mary, email_consent=True)
    book_tomorrow(sched, f.tim, f.mary)
    mail.outbox.clear()
    remind(django_capture_on_commit_callbacks)
    assert [m.to for m in mail.outbox] == [[f.mary.email]]
