"""Export health records: one paginated PDF (cover, every registered part in order) and a FHIR
R4 Bundle, built in the background, downloadable once ready by whoever asked, then purged."""

from __future__ import annotations

import datetime as dt
import io
import json

import pytest
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone
from fhir.resources.R4B.bundle import Bundle
from pypdf import PdfReader

from audit.models import AuditEvent
from patient_portal import exports as registry
from patient_portal.exports import ExportPart
from records.exports import build_export
from records.models import Coverage, Demographics, EmergencyContact, HealthExport
from records.services import add_health_record
from tests.records.conftest import act_for, pdf_bytes, pdf_text

pytestmark = pytest.mark.django_db

XSS = "<script>alert('x')</script>"


@pytest.fixture
def full_chart(family):
    chart = family.mary_a
    Demographics.objects.create(
        chart=chart,
        preferred_name="Mimi",
        sex="Female",
        pronouns="she/her",
        address_line1="12 Elm Street",
        city=XSS,
        phone="+1 555 0100",
        email="mary@example.com",
        preferred_language="English",
        gender_identity="Woman",
    )
    EmergencyContact.objects.create(
        chart=chart, name="John Doe", relationship="Spouse", phone="555"
    )
    EmergencyContact.objects.create(
        chart=chart, name="Zoë Łukasiewicz", relationship="Friend", email="z@example.com"
    )
    Coverage.objects.create(
        chart=chart,
        rank="primary",
        payer="Acme Health",
        member_id="M-1",
        group_number="G-9",
        subscriber_name="Mary Doe",
        subscriber_relationship="Self",
    )
    for n in range(3):
        add_health_record(
            chart=chart,
            kind="lab_result",
            title=f"Lab {n} {XSS}",
            pdf_bytes=pdf_bytes(),
            source="clinic",
            created_by=None,
        )
    return chart


def start(client, django_capture_on_commit_callbacks) -> HealthExport:
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("records:export_start"))
    assert response.status_code == 302
    export = HealthExport.objects.get()
    assert response.url == reverse("records:export", args=[export.public_id])
    return export


def test_the_export_pdf_has_a_cover_every_part_and_page_numbers(
    client, family, full_chart, django_capture_on_commit_callbacks
):
    act_for(client, family.mary, full_chart)
    export = start(client, django_capture_on_commit_callbacks)
    export.refresh_from_db()
    assert export.status == "ready" and export.progress == 100
    assert export.expires_at - export.finished_at == dt.timedelta(hours=24)
    page = client.get(reverse("records:export", args=[export.public_id]))
    assert "Download PDF" in page.content.decode()
    response = client.get(reverse("records:export_file", args=[export.public_id, "pdf"]))
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment")
    data = b"".join(response.streaming_content)
    reader = PdfReader(io.BytesIO(data))
    pages = len(reader.pages)
    assert pages == export.page_count >= 5
    text = pdf_text(data)
    cover = reader.pages[0].extract_text()
    assert (
        "Mary Doe" in cover and "Riverside Family Clinic" in cover and f"Page 1 of {pages}" in cover
    )
    assert f"Page {pages} of {pages}" in reader.pages[-1].extract_text()
    for expected in (
        "Demographics",
        "Emergency contacts",
        "Insurance",
        "Health records",
        "Mimi",
        "12 Elm Street",
        "John Doe",
        "Zoë Łukasiewicz",
        "Acme Health",
        "M-1",
        "Lab 2",
    ):
        assert expected in text, expected
    # Typed markup is printed literally.
    assert "<script>alert('x')</script>" in text.replace("\n", "")
    # Parts in order.
    assert (
        text.index("Emergency contacts\n")
        < text.index("Insurance\n")
        < text.rindex("Health records\n")
    )
    assert AuditEvent.objects.filter(action="download", object_id=str(export.pk)).exists()


def test_the_fhir_bundle_validates(client, family, full_chart, django_capture_on_commit_callbacks):
    act_for(client, family.mary, full_chart)
    export = start(client, django_capture_on_commit_callbacks)
    response = client.get(reverse("records:export_file", args=[export.public_id, "json"]))
    assert response["Content-Type"] == "application/fhir+json"
    bundle = json.loads(b"".join(response.streaming_content))
    Bundle.model_validate(bundle)
    kinds = [e["resource"]["resourceType"] for e in bundle["entry"]]
    assert kinds.count("Patient") == 1
    assert kinds.count("RelatedPerson") == 2
    assert kinds.count("Coverage") == 1
    assert kinds.count("DocumentReference") == 3
    patient = bundle["entry"][0]["resource"]
    assert patient["name"][0]["family"] == "Doe"
    assert patient["gender"] == "female"
    assert patient["address"][0]["city"] == XSS  # data, not markup: JSON carries it as typed


def test_other_apps_parts_are_included_in_order(family, full_chart):
    def write(doc, chart) -> None:
        doc.paragraph("Appointment with Dr. Alice on 2026-01-02")

    registry.register_export_part(
        ExportPart(
            key="test_appointments",
            title="Appointments",
            order=60,
            write_pdf=write,
            fhir_resources=lambda chart: [
                {
                    "resourceType": "Appointment",
                    "status": "booked",
                    "participant": [{"status": "accepted", "actor": {"display": "Dr. Alice"}}],
                }
            ],
        )
    )
    try:
        export = HealthExport.objects.create(chart=full_chart, requested_by=family.mary)
        build_export(export)
        text = pdf_text(export.pdf.read())
        assert "Appointment with Dr. Alice" in text
        # Parts are written in their order (every page's header names the export "Health
        # records — <person>", so the order is read from the registry the exporter walks).
        keys = [part.key for part in registry.export_parts()]
        assert keys.index("health_records") < keys.index("test_appointments")
        bundle = json.loads(export.fhir_json.read())
        displays = [
            p["actor"].get("display")
            for e in bundle["entry"]
            if e["resource"]["resourceType"] == "Appointment"
            for p in e["resource"].get("participant", [])
        ]
        assert "Dr. Alice" in displays
        assert bundle["entry"][0]["resource"]["resourceType"] == "Patient"
    finally:
        registry._PARTS.pop("test_appointments", None)


def test_an_invalid_fhir_resource_fails_the_export(
    family, full_chart, django_capture_on_commit_callbacks
):
    registry.register_export_part(
        ExportPart(
            key="test_broken",
            title="Broken",
            order=99,
            write_pdf=lambda doc, chart: None,
            fhir_resources=lambda chart: [{"resourceType": "Coverage", "status": "not-a-status"}],
        )
    )
    try:
        from records.tasks import build_health_export

        export = HealthExport.objects.create(chart=full_chart, requested_by=family.mary)
        build_health_export.call(export.pk)
        export.refresh_from_db()
        assert export.status == "failed"
    finally:
        registry._PARTS.pop("test_broken", None)


def test_the_status_block_polls_until_ready(client, family, full_chart):
    export = HealthExport.objects.create(
        chart=full_chart, requested_by=family.mary, status="running", progress=40, step="Insurance"
    )
    act_for(client, family.mary, full_chart)
    part = client.get(
        reverse("records:export", args=[export.public_id]),
        HTTP_HX_REQUEST="true",
        HTTP_HX_TARGET="export-status",
    ).content.decode()
    assert 'hx-trigger="every 1s"' in part and 'value="40"' in part and "<nav" not in part
    assert (
        client.get(reverse("records:export_file", args=[export.public_id, "pdf"])).status_code
        == 404
    )


def test_only_the_requester_downloads_and_expired_exports_go(
    client, family, full_chart, django_capture_on_commit_callbacks
):
    act_for(client, family.mary, full_chart)
    export = start(client, django_capture_on_commit_callbacks)
    url = reverse("records:export_file", args=[export.public_id, "pdf"])
    client.force_login(family.peter)
    assert client.get(url).status_code == 404
    assert client.get(reverse("records:export", args=[export.public_id])).status_code == 404
    act_for(client, family.mary, family.mary_b)  # another chart chosen: not this chart's export
    assert client.get(url).status_code == 404
    act_for(client, family.mary, full_chart)
    assert (
        client.get(reverse("records:export_file", args=[export.public_id, "exe"])).status_code
        == 404
    )
    HealthExport.objects.filter(pk=export.pk).update(
        expires_at=timezone.now() - dt.timedelta(seconds=1)
    )
    assert client.get(url).status_code == 404
    pdf_name = export.pdf.name
    call_command("purge_health_exports", stdout=io.StringIO())
    assert not HealthExport.objects.exists()
    from django.core.files.storage import default_storage

    assert not default_storage.exists(pdf_name)


def test_a_proxy_exports_the_childs_chart_and_loses_it_when_revoked(
    client, family, django_capture_on_commit_callbacks
):
    act_for(client, family.mary, family.tim)
    export = start(client, django_capture_on_commit_callbacks)
    url = reverse("records:export_file", args=[export.public_id, "pdf"])
    data = b"".join(client.get(url).streaming_content)
    assert "Tim Doe" in pdf_text(data)
    event = AuditEvent.objects.filter(action="download", object_id=str(export.pk)).get()
    assert "for Tim Doe" in event.description
    family.tim_grant.revoke(by=family.clinics.cadmin)
    assert client.get(url).status_code == 404


def test_asking_again_while_building_gets_the_same_export(client, family):
    busy = HealthExport.objects.create(
        chart=family.mary_a, requested_by=family.mary, status="running"
    )
    act_for(client, family.mary, family.mary_a)
    response = client.post(reverse("records:export_start"))
    assert response.url == reverse("records:export", args=[busy.public_id])
    assert HealthExport.objects.count() == 1


def test_the_account_page_has_the_export_button(client, family):
    act_for(client, family.mary, family.mary_a)
    body = client.get(reverse("patient_portal:account")).content.decode()
    assert reverse("records:export_start") in body and "Export health records" in body
