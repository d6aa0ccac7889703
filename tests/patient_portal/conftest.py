"""Patient-portal fixtures on top of the fixed cast and the invites' clinics.

- clinic A (Riverside: provider alice, admin cadmin) and clinic B (Lakeside: provider carol,
  admin cadmin); clinic C (Hilltop: admin oscar) sees nothing of A or B;
- mary: a patient with her own charts at A and B (two clinicians), parent (proxy) of tim's
  chart at A (no account of his own);
- peter: another patient with his own chart at A;
- grace: a patient with a proxy grant on peter's chart that ends tomorrow.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pytest
from django.utils import timezone

from accounts.models import User
from invites.models import ClinicPatient
from patient_portal.models import Chart, ProxyGrant
from tests.conftest import make_user
from tests.invites.conftest import Clinics, clinics, outboxes  # noqa: F401


@dataclass
class Family:
    clinics: Clinics
    mary: User
    peter: User
    grace: User
    mary_a: Chart
    mary_b: Chart
    tim: Chart
    peter_a: Chart
    tim_grant: ProxyGrant
    grace_grant: ProxyGrant


@pytest.fixture
def family(clinics) -> Family:  # noqa: F811
    mary = make_user("mary.doe@example.com", User.Role.PATIENT)
    peter = make_user("peter.pan@example.com", User.Role.PATIENT)
    grace = make_user("grace.hopper@example.com", User.Role.PATIENT)
    link_a = ClinicPatient.objects.create(clinic=clinics.a, provider=clinics.prov_alice, user=mary)
    link_b = ClinicPatient.objects.create(clinic=clinics.b, provider=clinics.prov_carol, user=mary)
    link_p = ClinicPatient.objects.create(clinic=clinics.a, provider=clinics.prov_alice, user=peter)
    tim = Chart.objects.create(
        clinic=clinics.a,
        provider=clinics.prov_alice,
        legal_first_name="Tim",
        legal_last_name="Doe",
        date_of_birth=dt.date(2017, 9, 3),
    )
    peter_a = Chart.objects.get(joined_link=link_p)
    return Family(
        clinics=clinics,
        mary=mary,
        peter=peter,
        grace=grace,
        mary_a=Chart.objects.get(joined_link=link_a),
        mary_b=Chart.objects.get(joined_link=link_b),
        tim=tim,
        peter_a=peter_a,
        tim_grant=ProxyGrant.objects.create(
            chart=tim, grantee=mary, relationship="parent", granted_by=clinics.cadmin
        ),
        grace_grant=ProxyGrant.objects.create(
            chart=peter_a,
            grantee=grace,
            relationship="carer",
            ends_on=timezone.localdate() + dt.timedelta(days=1),
            granted_by=clinics.cadmin,
        ),
    )
