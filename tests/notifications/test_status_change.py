"""Status changes from the pharmacy's import become notifications: once per actual change."""

import csv
import io

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from notifications.models import Activity, Notification
from prescriptions.importer import REQUIRED_COLUMNS, prescription_status_changed
from prescriptions.models import Prescription, Status

pytestmark = pytest.mark.django_db

HEADER = [*REQUIRED_COLUMNS, "pharmacy"]


def rx_row(rx, status: str) -> dict:
    patient = rx.patient
    return {
        "patient_id": patient.pharmacy_patient_id,
        "patient_first_name": patient.first_name,
        "patient_last_name": patient.last_name,
        "patient_dob": patient.date_of_birth.isoformat(),
        "rx_id": rx.pharmacy_rx_id,
        "rx_number": rx.rx_number,
        "medication_name": rx.medication_name,
        "status": status,
        "prescriber_npi": rx.prescriber.npi,
        "pharmacy": rx.pharmacy.code,
    }


def write_csv(tmp_path, rows, name="rx.csv") -> str:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=HEADER)
    writer.writeheader()
    writer.writerows(rows)
    path = tmp_path / name
    path.write_text(buf.getvalue())
    return str(path)


def import_file(path, capture):
    with capture(execute=True):
        call_command("import_prescriptions", path, stdout=io.StringIO(), stderr=io.StringIO())


def status_notifications():
    return Notification.objects.filter(activity=Activity.STATUS_CHANGE)


def test_it_notifies_once_per_change_and_not_on_reimport(
    cast, tmp_path, django_capture_on_commit_callbacks
):
    path = write_csv(
        tmp_path, [rx_row(cast.rx_alice, "Order Shipped"), rx_row(cast.rx_carol, "Order Scheduled")]
    )
    import_file(path, django_capture_on_commit_callbacks)
    # rx_alice changed (scheduled -> shipped); rx_carol was already "Order Scheduled".
    got = {(n.recipient.email.split(".")[0], n.prescription_id) for n in status_notifications()}
    assert got == {
        ("alice", cast.rx_alice.pk),
        ("bob", cast.rx_alice.pk),
        ("phil", cast.rx_alice.pk),
    }
    first = status_notifications().first()
    assert first.data == {"from_status": Status.ORDER_SCHEDULED, "to_status": Status.ORDER_SHIPPED}
    assert first.title == "Status changed to Order Shipped"

    import_file(path, django_capture_on_commit_callbacks)  # the same file again: idempotent
    assert status_notifications().count() == 3


def test_it_notifies_each_later_change(cast, tmp_path, django_capture_on_commit_callbacks):
    import_file(
        write_csv(tmp_path, [rx_row(cast.rx_alice, "Order Shipped")], "a.csv"),
        django_capture_on_commit_callbacks,
    )
    import_file(
        write_csv(tmp_path, [rx_row(cast.rx_alice, "Delivered")], "b.csv"),
        django_capture_on_commit_callbacks,
    )
    assert status_notifications().filter(recipient=cast.alice).count() == 2
    assert (
        not status_notifications()
        .filter(recipient__in=[cast.carol, cast.mallory, cast.olivia])
        .exists()
    )


def test_it_handles_a_large_batch_in_a_few_queries(cast, django_capture_on_commit_callbacks):
    rxs = [
        Prescription(
            pharmacy_rx_id=f"RXB{i}",
            rx_number=f"B{i}",
            patient=cast.pat_alice,
            prescriber=cast.npi_alice if i % 2 else cast.npi_carol,
            pharmacy=cast.pharmacy,
            medication_name="Humira",
            status=Status.DELIVERED,
        )
        for i in range(600)
    ]
    Prescription.objects.bulk_create(rxs)
    changes = [
        (rx.pk, Status.ORDER_SHIPPED, Status.DELIVERED)
        for rx in Prescription.objects.filter(pharmacy_rx_id__startswith="RXB")
    ]
    with (
        CaptureQueriesContext(connection) as queries,
        django_capture_on_commit_callbacks(execute=True),
    ):
        prescription_status_changed.send(sender=Prescription, changes=changes)
    inserts = [q for q in queries if q["sql"].startswith("INSERT")]
    # Lookups and emails (one per recipient) stay constant; rows go in bulk (SQLite caps a
    # statement's parameters, so about 75 rows per INSERT there, 1000 on PostgreSQL).
    assert len(queries) - len(inserts) <= 25
    assert len(inserts) <= 1200 // 70 + 1
    # 300 of alice's (alice, bob, phil) and 300 of carol's (carol).
    assert status_notifications().count() == 300 * 3 + 300
    assert status_notifications().filter(recipient=cast.alice).count() == 300
