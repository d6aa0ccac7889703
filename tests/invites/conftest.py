"""Clinic fixtures for the invites tests, on top of the fixed cast.

- clinic_a (Riverside) and clinic_b (Lakeside); `cadmin` is clinic admin of both;
- alice is a provider of clinic_a, carol a provider of clinic_b;
- `oscar` is clinic admin of clinic_c only (another clinic: sees nothing of A or B).
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from accounts.models import User
from invites import sms
from invites.models import Clinic, ClinicMembership
from tests.conftest import make_user


@dataclass
class Clinics:
    a: Clinic
    b: Clinic
    c: Clinic
    cadmin: User
    oscar: User
    prov_alice: ClinicMembership
    prov_carol: ClinicMembership
    prov_c: ClinicMembership


@pytest.fixture
def clinics(cast) -> Clinics:
    a = Clinic.objects.create(name="Riverside Family Clinic")
    b = Clinic.objects.create(name="Lakeside Dermatology")
    c = Clinic.objects.create(name="Hilltop Health")
    cadmin = make_user("carla.mendes@example.com", User.Role.CLINIC_ADMIN)
    oscar = make_user("oscar.other@example.com", User.Role.CLINIC_ADMIN)
    other_doc = make_user("dan.doc@example.com", User.Role.PRESCRIBER)
    ClinicMembership.objects.create(user=cadmin, clinic=a, role="admin")
    ClinicMembership.objects.create(user=cadmin, clinic=b, role="admin")
    ClinicMembership.objects.create(user=oscar, clinic=c, role="admin")
    return Clinics(
        a=a,
        b=b,
        c=c,
        cadmin=cadmin,
        oscar=oscar,
        prov_alice=ClinicMembership.objects.create(
            user=cast.alice, clinic=a, role="provider", prescriber=cast.npi_alice
        ),
        prov_carol=ClinicMembership.objects.create(
            user=cast.carol, clinic=b, role="provider", prescriber=cast.npi_carol
        ),
        prov_c=ClinicMembership.objects.create(user=other_doc, clinic=c, role="provider"),
    )


@pytest.fixture(autouse=True)
def outboxes(settings):
    """Email and SMS land in memory; the task backend runs deliveries inline."""
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.SMS_BACKEND = "invites.sms.LocmemSMSBackend"
    settings.SITE_URL = "https://portal.example.test"
    sms.outbox.clear()
    yield sms.outbox
    sms.outbox.clear()


@pytest.fixture(autouse=True)
def fresh_throttles(monkeypatch):
    """Throttle counters of this test only (never clear a cache other runs may share)."""
    import uuid

    from invites import services

    monkeypatch.setattr(services, "THROTTLE_PREFIX", f"invites:code:test:{uuid.uuid4().hex}")


@pytest.fixture
def admin_in_a(client_for, clinics):
    """The clinic admin's client with clinic A and provider alice chosen."""
    client = client_for(clinics.cadmin)
    session = client.session
    session["invites_clinic_id"] = clinics.a.pk
    session["invites_provider_id"] = clinics.prov_alice.pk
    session.save()
    return client


def invite_post(rows, action="confirm"):
    data = {
        "action": action,
        "patients-TOTAL_FORMS": str(len(rows)),
        "patients-INITIAL_FORMS": "0",
        "patients-MIN_NUM_FORMS": "1",
        "patients-MAX_NUM_FORMS": "50",
    }
    for i, row in enumerate(rows):
        for key, value in zip(["first_name", "last_name", "email", "mobile"], row, strict=False):
            data[f"patients-{i}-{key}"] = value
    return data
