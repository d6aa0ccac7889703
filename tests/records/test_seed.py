"""seed_records: demo data for the demo patient, idempotent."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command

from records.models import Coverage, Demographics, EmergencyContact, HealthRecord

pytestmark = pytest.mark.django_db


def test_seed_records_gives_the_demo_patient_a_record_and_is_idempotent(media):
    out = io.StringIO()
    call_command("seed_clinics", stdout=out)
    call_command("seed_patient_portal", stdout=out)
    for _ in range(2):
        call_command("seed_records", stdout=out)
    assert Demographics.objects.count() == 1
    assert EmergencyContact.objects.count() == 1
    assert Coverage.objects.count() == 1
    assert HealthRecord.objects.count() == 2
    assert Demographics.objects.get().chart.patient_user.email == "patient@demo.test"


def test_seed_records_without_the_patient_says_so(media):
    out = io.StringIO()
    call_command("seed_records", stdout=out)
    assert "run seed_patient_portal first" in out.getvalue()
