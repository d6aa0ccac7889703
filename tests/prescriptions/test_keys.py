"""Patient and prescription ids are the pharmacy's own: unique per pharmacy, in the database."""

import datetime as dt

import pytest
from django.db import IntegrityError, connection, transaction
from django.db.migrations.executor import MigrationExecutor
from django.db.models import F

from prescriptions.models import Patient, Pharmacy, Prescription, Status
from prescriptions.npi import make_npi

BEFORE = [("prescriptions", "0004_patient_prescriber_index")]


@pytest.mark.django_db
def test_the_database_keeps_patient_ids_unique_per_pharmacy(cast):
    other = Pharmacy.objects.create(code="other", name="Other")
    details = {"first_name": "A", "last_name": "B", "date_of_birth": dt.date(1980, 1, 1)}
    with pytest.raises(IntegrityError), transaction.atomic():
        Patient.objects.create(pharmacy=cast.pharmacy, pharmacy_patient_id="P-A", **details)
    twin = Patient.objects.create(pharmacy=other, pharmacy_patient_id="P-A", **details)
    assert twin.pk != cast.pat_alice.pk


@pytest.mark.django_db
def test_the_database_keeps_rx_ids_unique_per_pharmacy(cast):
    other = Pharmacy.objects.create(code="other", name="Other")
    details = {
        "rx_number": "1",
        "patient": cast.pat_alice,
        "prescriber": cast.npi_alice,
        "medication_name": "X",
        "status": Status.DELIVERED,
    }
    with pytest.raises(IntegrityError), transaction.atomic():
        Prescription.objects.create(pharmacy=cast.pharmacy, pharmacy_rx_id="RX1001", **details)
    twin = Prescription.objects.create(pharmacy=other, pharmacy_rx_id="RX1001", **details)
    assert twin.pk != cast.rx_alice.pk


@pytest.mark.django_db(transaction=True)
def test_the_migration_keeps_existing_data():
    """Patients get their prescriptions' pharmacy; one with prescriptions at two pharmacies
    (what the old global ids allowed) is copied, so each pharmacy's prescriptions keep a patient
    of their own; a patient without prescriptions goes to the oldest pharmacy."""
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)
    old = executor.loader.project_state(BEFORE).apps
    pharmacy = old.get_model("prescriptions", "Pharmacy")
    patient = old.get_model("prescriptions", "Patient")
    prescriber = old.get_model("prescriptions", "Prescriber")
    prescription = old.get_model("prescriptions", "Prescription")
    main = pharmacy.objects.create(code="main", name="Main")
    north = pharmacy.objects.create(code="north", name="North")
    doctor = prescriber.objects.create(npi=make_npi("100000001"), first_name="A", last_name="B")
    born = dt.date(1980, 1, 1)
    solo, shared, lonely = (
        patient.objects.create(
            pharmacy_patient_id=key, first_name=key, last_name="X", date_of_birth=born
        )
        for key in ("P-1", "P-2", "P-3")
    )
    rx = {}
    for key, owner, where in [
        ("RX1", solo, north),
        ("RX2", shared, main),
        ("RX3", shared, north),
        ("RX4", shared, north),
    ]:
        rx[key] = prescription.objects.create(
            pharmacy_rx_id=key,
            rx_number=key,
            patient=owner,
            prescriber=doctor,
            pharmacy=where,
            medication_name="M",
            status="delivered",
        ).pk

    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())

    assert Patient.objects.get(pk=solo.pk).pharmacy_id == north.pk
    assert Patient.objects.get(pk=shared.pk).pharmacy_id == main.pk
    assert Patient.objects.get(pk=lonely.pk).pharmacy_id == main.pk
    assert Prescription.objects.get(pk=rx["RX2"]).patient_id == shared.pk
    copy = Prescription.objects.get(pk=rx["RX3"]).patient
    assert copy.pk != shared.pk and Prescription.objects.get(pk=rx["RX4"]).patient == copy
    assert (copy.pharmacy_id, copy.pharmacy_patient_id, copy.first_name) == (north.pk, "P-2", "P-2")
    assert Patient.objects.count() == 4 and Prescription.objects.count() == 4
    assert not Prescription.objects.exclude(pharmacy_id=F("patient__pharmacy_id")).exists()
