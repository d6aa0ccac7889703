"""The appointments part of the health-records export: PDF table and FHIR Appointment."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from django.utils import timezone
from pypdf import PdfReader

from patient_portal.exports import export_parts
from portal.pdf import PortalPDF
from scheduling import services

pytestmark = pytest.mark.django_db


def test_the_part_is_registered_and_writes_pdf_and_fhir(sched, django_assert_max_num_queries):
    f = sched.family
    at = (timezone.now() + dt.timedelta(days=3)).replace(minute=0, second=0, microsecond=0)
    for i in range(3):
        services.book(
            chart=f.mary_a,
            provider=f.clinics.prov_alice,
            appointment_type=sched.video,
            starts_at=at + dt.timedelta(hours=i),
            by=f.clinics.cadmin,
            as_patient=False,
        )
    services.book(
        chart=f.peter_a,
        provider=f.clinics.prov_alice,
        appointment_type=sched.video,
        starts_at=at + dt.timedelta(hours=5),
        by=f.clinics.cadmin,
        as_patient=False,
    )
    part = next(p for p in export_parts() if p.key == "appointments")
    assert part.count and part.count(f.mary_a) == 3
    doc = PortalPDF(title="Export")
    with django_assert_max_num_queries(3):
        part.write_pdf(doc, f.mary_a)
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(doc.bytes())).pages)
    assert text.count("Follow-up") == 3 and "America/New_York" in text
    resources = part.fhir_resources(f.mary_a)
    assert len(resources) == 3
    from fhir.resources.R4B.appointment import Appointment as FhirAppointment

    for resource in resources:
        FhirAppointment.model_validate(resource)
        assert resource["status"] == "booked"
