"""Health records and exports on S3 (moto_server on 127.0.0.1): private objects, and the
access-checked views answer with a short-lived presigned URL."""

from __future__ import annotations

import urllib.request

import pytest
from django.urls import reverse

from records.exports import build_export
from records.models import HealthExport
from records.services import add_health_record
from tests.records.conftest import act_for, pdf_bytes
from tests.requests_chat.test_s3 import BUCKET, s3_endpoint, s3_storage  # noqa: F401

pytestmark = pytest.mark.django_db


def test_a_health_record_and_an_export_are_served_by_presigned_urls(client, family, s3_storage):  # noqa: F811
    data = pdf_bytes("Stored on S3")
    health = add_health_record(
        chart=family.mary_a,
        kind="letter",
        title="Letter",
        pdf_bytes=data,
        source="clinic",
        created_by=None,
    )
    assert s3_storage.get_object(Bucket=BUCKET, Key=health.file.name)["Body"].read() == data
    act_for(client, family.mary, family.mary_a)
    response = client.get(reverse("records:health_record", args=[health.pk]), {"download": "1"})
    assert response.status_code == 302
    with urllib.request.urlopen(response["Location"], timeout=5) as presigned:
        assert presigned.read() == data
        assert presigned.headers["Content-Disposition"].startswith("attachment")
    export = HealthExport.objects.create(chart=family.mary_a, requested_by=family.mary)
    build_export(export)
    response = client.get(reverse("records:export_file", args=[export.public_id, "json"]))
    assert response.status_code == 302
    with urllib.request.urlopen(response["Location"], timeout=5) as presigned:
        assert presigned.headers["Content-Type"] == "application/fhir+json"
        assert b'"resourceType": "Bundle"' in presigned.read()
    # Not for anyone else.
    client.force_login(family.peter)
    assert client.get(reverse("records:health_record", args=[health.pk])).status_code == 404
