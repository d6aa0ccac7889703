"""Health records: add_health_record (the one way in), the clinic's upload, the patient's list
(filters, pagination), inline view and download — checked, served inert, audited."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from audit.models import AuditEvent
from patient_portal.models import PortalSettings
from records.models import HealthRecord
from records.services import add_health_record
from requests_chat.documents import InvalidDocument
from tests.conftest import sign_in
from tests.records.conftest import act_for, js_pdf, pdf_bytes

pytestmark = pytest.mark.django_db


def add(chart, title="Lab result", kind="lab_result", **extra):
    return add_health_record(
        chart=chart,
        kind=kind,
        title=title,
        pdf_bytes=pdf_bytes(),
        source="clinic",
        created_by=None,
        **extra,
    )


def test_add_health_record_stores_a_checked_pdf(family):
    found = add(family.mary_a, title="  Lipid   panel ")
    assert found.title == "Lipid panel"
    assert found.page_count == 1 and found.size > 0 and len(found.sha256) == 64
    assert found.file.read().startswith(b"%PDF-")
    assert AuditEvent.objects.filter(chart_id=family.mary_a.pk, object_id=str(found.pk)).exists()


def test_add_health_record_takes_a_django_file(family):
    found = add_health_record(
        chart=family.mary_a,
        kind="completed_document",
        title="PHQ-9",
        file=ContentFile(pdf_bytes(), name="phq9.pdf"),
        source="documents:7",
        created_by=family.mary,
    )
    assert found.source == "documents:7"


@pytest.mark.parametrize("data", [b"", b"not a pdf at all", js_pdf()])
def test_add_health_record_refuses_bad_pdfs_and_stores_nothing(family, media, data):
    with pytest.raises(InvalidDocument):
        add_health_record(
            chart=family.mary_a,
            kind="letter",
            title="x",
            pdf_bytes=data,
            source="clinic",
            created_by=None,
        )
    assert not HealthRecord.objects.exists()
    assert not any(p.is_file() for p in media.rglob("*")) if media.exists() else True


def test_add_health_record_refuses_an_unknown_kind(family):
    with pytest.raises(ValueError):
        add(family.mary_a, kind="x-ray")


def test_the_clinic_uploads_a_record_from_the_chart_page(client, family):
    sign_in(client, family.clinics.cadmin)
    page = client.get(reverse("clinic_records:chart", args=[family.mary_a.pk]))
    assert page.status_code == 200
    response = client.post(
        reverse("clinic_records:upload", args=[family.mary_a.pk]),
        {
            "kind": "letter",
            "title": "Referral letter",
            "document": SimpleUploadedFile("letter.pdf", pdf_bytes(), "application/pdf"),
        },
    )
    assert response.status_code == 302
    assert HealthRecord.objects.get().title == "Referral letter"


def test_the_clinic_upload_refuses_a_renamed_file(client, family):
    sign_in(client, family.clinics.cadmin)
    response = client.post(
        reverse("clinic_records:upload", args=[family.mary_a.pk]),
        {
            "kind": "letter",
            "title": "x",
            "document": SimpleUploadedFile("a.pdf", b"GIF89a", "application/pdf"),
        },
    )
    assert response.status_code == 400
    assert "not a PDF" in response.content.decode()
    assert not HealthRecord.objects.exists()


def test_a_patient_lists_filters_and_views_records(client, family):
    old = add(family.mary_a, title="Old letter", kind="letter")
    HealthRecord.objects.filter(pk=old.pk).update(
        created_at=timezone.now() - dt.timedelta(days=400)
    )
    lab = add(family.mary_a, title="<b>Lab</b> result")
    add(family.mary_b, title="Other clinic's record")
    act_for(client, family.mary, family.mary_a)
    body = client.get(reverse("records:health_records")).content.decode()
    assert "Old letter" in body and "&lt;b&gt;Lab&lt;/b&gt; result" in body
    assert "Other clinic" not in body
    body = client.get(reverse("records:health_records"), {"kind": "letter"}).content.decode()
    assert "Old letter" in body and "&lt;b&gt;Lab" not in body
    since = (timezone.localdate() - dt.timedelta(days=30)).isoformat()
    body = client.get(reverse("records:health_records"), {"start": since}).content.decode()
    assert "Old letter" not in body and "&lt;b&gt;Lab" in body
    # htmx asks for the list only.
    part = client.get(
        reverse("records:health_records"),
        {"kind": "lab_result"},
        HTTP_HX_REQUEST="true",
        HTTP_HX_TARGET="record-list",
    )
    assert "<nav" not in part.content.decode() and "Lab" in part.content.decode()
    # Inline view: the PDF, inert; then a download. Both audited.
    view = client.get(reverse("records:health_record", args=[lab.pk]))
    assert view.status_code == 200
    assert view["Content-Type"] == "application/pdf"
    assert view["X-Content-Type-Options"] == "nosniff"
    assert "default-src 'none'" in view["Content-Security-Policy"]
    assert view["Content-Disposition"].startswith("inline")
    download = client.get(reverse("records:health_record", args=[lab.pk]), {"download": "1"})
    assert download["Content-Disposition"].startswith("attachment")
    actions = set(
        AuditEvent.objects.filter(
            object_id=str(lab.pk), object_type="records.HealthRecord"
        ).values_list("action", flat=True)
    )
    assert {"view", "download"} <= actions


def test_a_bad_filter_is_ignored_not_an_error(client, family):
    act_for(client, family.mary, family.mary_a)
    response = client.get(
        reverse("records:health_records"), {"start": "not-a-date", "kind": "x", "page": "99999"}
    )
    assert response.status_code == 200


def test_the_list_pages_at_25(client, family):
    for n in range(30):
        add(family.mary_a, title=f"Record {n}")
    act_for(client, family.mary, family.mary_a)
    body = client.get(reverse("records:health_records")).content.decode()
    assert "Page 1 of 2" in body


def test_the_list_query_count_is_independent_of_size(client, family, django_assert_max_num_queries):
    act_for(client, family.mary, family.mary_a)
    add(family.mary_a)
    client.get(reverse("records:health_records"))
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as few:
        client.get(reverse("records:health_records"))
    for n in range(40):
        add(family.mary_a, title=f"Record {n}")
    with CaptureQueriesContext(connection) as many:
        client.get(reverse("records:health_records"))
    assert len(many) == len(few)


def test_the_section_off_404s(client, family):
    lab = add(family.mary_a)
    PortalSettings.objects.create(clinic=family.clinics.a, health_records=False)
    act_for(client, family.mary, family.mary_a)
    assert client.get(reverse("records:health_records")).status_code == 404
    assert client.get(reverse("records:health_record", args=[lab.pk])).status_code == 404
    assert "Health records</a>" not in client.get(reverse("records:update_info")).content.decode()
