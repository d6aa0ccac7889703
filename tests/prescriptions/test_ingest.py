"""The pharmacy system's authenticated, idempotent JSON ingest endpoint."""

import json

import pytest
from django.db import IntegrityError
from django.urls import reverse

from audit.models import AuditEvent
from prescriptions import importer
from prescriptions.importer import Importer, prescription_status_changed
from prescriptions.models import IngestToken, Patient, Pharmacy, Prescription, StatusChange
from requests_chat.models import Request

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
    assert bad.status_code == 422 and bad.json()["error_count"] == 1


def test_it_stores_only_a_hash_of_the_token(cast):
    token_obj, token = IngestToken.issue(pharmacy=cast.pharmacy)
    assert token not in token_obj.digest
    assert IngestToken.authenticate(token) == token_obj


def test_a_token_cannot_alter_another_pharmacys_patient_or_rx(client, cast):
    """Ids are the pharmacy's own: another pharmacy's token sending the same patient_id and
    rx_id gets rows of its own, and the first pharmacy's patient, prescription and chat stay."""
    chat = Request.objects.create(prescription=cast.rx_alice, created_by=cast.alice)
    rx_before = Prescription.objects.filter(pk=cast.rx_alice.pk).values().get()
    patient_before = Patient.objects.filter(pk=cast.pat_alice.pk).values().get()
    other = Pharmacy.objects.create(code="other", name="Other")
    _, token = IngestToken.issue(pharmacy=other)
    attack = record(
        cast,
        patient_id=cast.pat_alice.pharmacy_patient_id,
        rx_id=cast.rx_alice.pharmacy_rx_id,
        patient_first_name="Mallory",
        patient_dob="1999-09-09",
        status="Discontinued",
        prescriber_npi=cast.npi_carol.npi,
    )
    response = post(client, [attack], token)
    assert response.status_code == 200
    assert response.json()["created"] == 1 and response.json()["patients_created"] == 1
    assert Prescription.objects.filter(pk=cast.rx_alice.pk).values().get() == rx_before
    assert Patient.objects.filter(pk=cast.pat_alice.pk).values().get() == patient_before
    own = Prescription.objects.get(pharmacy=other, pharmacy_rx_id=cast.rx_alice.pharmacy_rx_id)
    assert own.pk != cast.rx_alice.pk and own.prescriber == cast.npi_carol
    assert own.patient.pharmacy == other and own.patient.first_name == "Mallory"
    assert list(Request.objects.visible_to(cast.alice)) == [chat]
    assert list(Request.objects.visible_to(cast.carol)) == []
    # Naming the first pharmacy outright is refused.
    named = post(client, [attack | {"pharmacy": cast.pharmacy.code}], token)
    assert named.status_code == 422
    assert "does not match" in named.json()["errors"][0]["error"]
    assert Prescription.objects.filter(pk=cast.rx_alice.pk).values().get() == rx_before


def test_it_answers_json_for_an_oversized_body(client, cast):
    _, token = IngestToken.issue(pharmacy=cast.pharmacy)
    body = json.dumps([record(cast, medication_name="x" * 6_000_000)])
    response = post(client, body, token)
    assert response.status_code == 413
    assert response["Content-Type"] == "application/json"
    assert "too large" in response.json()["error"]


def test_it_answers_json_for_malformed_json(client, cast):
    _, token = IngestToken.issue(pharmacy=cast.pharmacy)
    response = post(client, b'{"records": [', token)
    assert response.status_code == 400
    assert "not valid JSON" in response.json()["error"]


def _counts():
    return (Patient.objects.count(), Prescription.objects.count(), StatusChange.objects.count())


HOSTILE_BODIES = [
    # NUL and other control characters, escaped in JSON and raw in the body
    '[{"patient_first_name": "In\\u0000es"}]',
    '[{"patient_last_name": "Ortega\\u001b[2J"}]',
    '[{"rx_id": "RX\\u0000-1"}]',
    '[{"medication_name": "Cosentyx\\u202e"}]',
    '[{"patient_last_name": "\\ud800"}]',
    b"[\x00]",
    # numbers that are not plain whole numbers
    '[{"refills_remaining": "\u00b2"}]',
    '[{"refills_remaining": "\u0663"}]',
    '[{"prescriber_npi": "\u00b2\u00b2\u00b2\u00b2\u00b2\u00b2\u00b2\u00b2\u00b2\u00b2"}]',
    '[{"refills_remaining": 1000000000000000000000000000000}]',
    '[{"refills_remaining": 3.5}]',
    '[{"refills_remaining": NaN}]',
    '{"records": [{"refills_remaining": 1' + "0" * 5000 + "}]}",
    # states, dates
    '[{"patient_state": "\u00df\u00df"}]',
    '[{"patient_state": "ZZ"}]',
    '[{"patient_dob": "0001-01-01"}]',
    '[{"last_shipped": "9999-12-31"}]',
    '[{"patient_dob": "\u0662\u0660\u0662\u0660-01-01"}]',
    # wrong JSON types, nested objects
    "5",
    "null",
    '"records"',
    '{"records": {"a": 1}}',
    "[1]",
    '[{"patient_first_name": ["Ines"]}]',
    '[{"status": true}]',
    '[{"prescriber_npi": {"npi": {"npi": "1"}}}]',
    '[{"patient_first_name": {"$gt": ""}}]',
    "[" * 100_000 + "]" * 100_000,
    # very long strings, unknown fields
    '[{"medication_name": "' + "x" * 100_000 + '"}]',
    '[{"patient_id": "' + "P" * 65 + '"}]',
    '[{"' + "k" * 10_000 + '": 1}]',
    '[{"__error__": "boom"}]',
]


@pytest.mark.parametrize("hostile", HOSTILE_BODIES, ids=range(len(HOSTILE_BODIES)))
def test_hostile_bodies_get_a_json_4xx_and_write_nothing(client, cast, hostile):
    _, token = IngestToken.issue(pharmacy=cast.pharmacy)
    if isinstance(hostile, str) and hostile.startswith("[{"):
        # Each field on top of an otherwise valid record, so that field alone is at fault.
        overrides = json.loads(hostile)[0] if len(hostile) < 200_000 else {}
        if overrides and all(isinstance(k, str) for k in overrides):
            hostile = json.dumps([record(cast) | overrides])
    before = _counts()
    response = post(client, hostile, token)
    assert 400 <= response.status_code < 500, response.content[:300]
    assert response["Content-Type"] == "application/json"
    assert response.json()["error"]
    assert _counts() == before


def test_a_bad_record_after_the_first_batch_is_reported_and_the_rest_applied(
    client, cast, monkeypatch
):
    monkeypatch.setattr(importer, "BATCH_SIZE", 2)
    _, token = IngestToken.issue(pharmacy=cast.pharmacy)
    records = [record(cast, rx_id=f"RX-B{n}", patient_id=f"P-B{n}") for n in range(1, 6)]
    records[3]["patient_last_name"] = "Ort\x00ega"
    records[4]["refills_remaining"] = "\u00b2"
    response = post(client, records, token)
    assert response.status_code == 422
    assert response.json()["created"] == 3
    assert response.json()["errors"] == [
        {
            "row": 4,
            "error": "patient_last_name contains a control character (U+0000) at position 4.",
        },
        {"row": 5, "error": "refills_remaining '\u00b2' is not a whole number (digits 0-9 only)."},
    ]
    assert set(
        Prescription.objects.filter(pharmacy_rx_id__startswith="RX-B").values_list(
            "pharmacy_rx_id", flat=True
        )
    ) == {"RX-B1", "RX-B2", "RX-B3"}


def test_a_database_failure_in_a_later_batch_rolls_back_every_batch(client, cast, monkeypatch):
    monkeypatch.setattr(importer, "BATCH_SIZE", 2)
    calls = []
    upsert = Importer._upsert_patients

    def failing_second_batch(self, batch):
        calls.append(1)
        if len(calls) == 2:
            raise IntegrityError("duplicate key value violates unique constraint")
        return upsert(self, batch)

    monkeypatch.setattr(Importer, "_upsert_patients", failing_second_batch)
    sent = []
    prescription_status_changed.connect(receiver := lambda sender, changes, **kw: sent.append(1))
    _, token = IngestToken.issue(pharmacy=cast.pharmacy)
    records = [record(cast, rx_id=f"RX-C{n}", patient_id=f"P-C{n}") for n in range(1, 6)]
    records[0] = record(cast, rx_id="RX1001", patient_id="P-A", status="Delivered")
    before = _counts()
    try:
        response = post(client, records, token)
    finally:
        prescription_status_changed.disconnect(receiver)
    assert response.status_code == 409
    assert response.json()["error"].startswith("Nothing was imported: another import")
    assert "rows 3-4" in response.json()["error"]
    assert _counts() == before
    assert Prescription.objects.get(pk=cast.rx_alice.pk).status == cast.rx_alice.status
    assert sent == []
