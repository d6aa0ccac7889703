"""The pharmacy system's authenticated, idempotent JSON ingest endpoint."""

import json

import pytest
from django.urls import reverse

from audit.models import AuditEvent
from prescriptions.models import IngestToken, Pharmacy, Prescription

pytestmark = pytest.mark.django_db
URL = reverse("prescriptions:ingest")


def record(cast, **overrides):
    return {
        "patient_id": "P-API",
        "patient_first_name": "Ines",
        "patient_last_name": "Ortega",
        "patient_dob": "1970-02-02",
        "rx_id": "RX-API-1",
        "rx_number": "77001",
        "medication_name": "Cosentyx",
        "status": "Prior Authorization Pending",
        "prescriber_npi": cast.npi_alice.npi,
    } | overrides


def post(client, payload, token=None, content_type="application/json"):
    headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"} if token else {}
    body = payload if isinstance(payload, (bytes, str)) else json.dumps(payload)
    return client.post(URL, body, content_type=content_type, **headers)


def test_it_upserts_idempotently(client, cast):
    _, token = IngestToken.issue(pharmacy=cast.pharmacy, label="dispensing")
    response = post(client, {"records": [record(cast)]}, token)
    assert response.status_code == 200
    assert response.json()["created"] == 1
    rx = Prescription.objects.get(pharmacy_rx_id="RX-API-1")
    assert rx.pharmacy == cast.pharmacy
    again = post(client, {"records": [record(cast)]}, token)
    assert again.json() | {"errors": []} == again.json()
    assert again.json()["unchanged"] == 1 and again.json()["created"] == 0
    assert AuditEvent.objects.filter(action="import").count() == 2


def test_it_requires_a_valid_token(client, cast):
    assert post(client, {"records": [record(cast)]}).status_code == 401
    assert post(client, {"records": [record(cast)]}, "forged").status_code == 401
    token_obj, token = IngestToken.issue(pharmacy=cast.pharmacy)
    token_obj.revoked_at = token_obj.created_at
    token_obj.save()
    assert post(client, {"records": [record(cast)]}, token).status_code == 401
    assert not Prescription.objects.filter(pharmacy_rx_id="RX-API-1").exists()


def test_it_refuses_another_pharmacys_records(client, cast):
    Pharmacy.objects.create(code="other", name="Other")
    _, token = IngestToken.issue(pharmacy=cast.pharmacy)
    response = post(client, [record(cast, pharmacy="other")], token)
    assert response.json()["error_count"] == 1
    assert "does not match" in response.json()["errors"][0]["error"]


def test_it_reports_bad_json_and_bad_shape(client, cast):
    _, token = IngestToken.issue(pharmacy=cast.pharmacy)
    assert post(client, b"{nope", token).status_code == 400
    assert post(client, {"rows": []}, token).status_code == 400
    assert post(client, "x=1", token, content_type="text/plain").status_code == 415
    bad = post(client, [record(cast, prescriber_npi="1111111111")], token)
    assert bad.status_code == 200 and bad.json()["error_count"] == 1


def test_it_stores_only_a_hash_of_the_token(cast):
    token_obj, token = IngestToken.issue(pharmacy=cast.pharmacy)
    assert token not in token_obj.digest
    assert IngestToken.authenticate(token) == token_obj
