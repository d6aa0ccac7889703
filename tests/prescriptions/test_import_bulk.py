"""import_prescriptions at scale: a later failure writes nothing, a re-import writes nothing,
status changes are recorded and signalled once in file order, and on PostgreSQL the batch's
rows go through a staging table and a fixed number of set-based statements."""

import pytest
from django.core.management import CommandError
from django.db import connection
from django.test.utils import CaptureQueriesContext

from prescriptions import importer
from prescriptions.importer import ALL_COLUMNS, prescription_status_changed
from prescriptions.models import Patient, Prescription, Status, StatusChange
from tests.conftest import require
from tests.prescriptions.test_import import row, run, write_csv

pytestmark = pytest.mark.django_db

STATUS_LABELS = ["Due for Fill", "Order Shipped", "Delivered", "On Hold"]


def many(cast, count, *, prefix="BK", status=lambda n: "Due for Fill"):
    """`count` rows, five prescriptions per patient."""
    return [
        row(
            cast,
            rx_id=f"{prefix}RX{n}",
            rx_number=str(70_000 + n),
            patient_id=f"{prefix}P{n // 5}",
            patient_last_name=f"Last{n // 5}",
            status=status(n),
        )
        for n in range(count)
    ]


@pytest.fixture
def signals():
    received = []

    def handler(sender, changes, **kwargs):
        received.append(list(changes))

    prescription_status_changed.connect(handler)
    yield received
    prescription_status_changed.disconnect(handler)


def snapshot():
    return (
        list(Prescription.objects.order_by("pk").values()),
        list(Patient.objects.order_by("pk").values()),
        StatusChange.objects.count(),
    )


def test_an_unreadable_line_deep_in_a_large_file_writes_nothing(
    cast, tmp_path, monkeypatch, django_capture_on_commit_callbacks, signals
):
    """Several batches are written before row 2,501 turns out to be unreadable: all of them
    are rolled back and nothing is signalled."""
    monkeypatch.setattr(importer, "BATCH_SIZE", 500)
    rows = many(cast, 3000, status=lambda n: STATUS_LABELS[n % 4])
    rows[2499]["strength"] = "9" * 200_000  # row 2,501 of the file: beyond csv's field limit
    before = snapshot()
    with (
        django_capture_on_commit_callbacks(execute=True),
        pytest.raises(CommandError, match="Nothing imported: Row 2501 cannot be read"),
    ):
        run(write_csv(tmp_path, rows, header=ALL_COLUMNS))
    assert snapshot() == before
    assert signals == []


def test_a_bad_row_deep_in_a_large_file_is_reported_by_number_and_the_rest_written(
    cast, tmp_path, monkeypatch
):
    monkeypatch.setattr(importer, "BATCH_SIZE", 500)
    rows = many(cast, 1500)
    rows[1233]["patient_dob"] = "1985-13-40"  # row 1,235 of the file
    code, out, err = run(write_csv(tmp_path, rows, header=ALL_COLUMNS))
    assert code == 2
    assert "1499 created, 0 updated, 0 unchanged, 1 rejected" in out
    assert err.splitlines() == [
        "row 1235: patient_dob '1985-13-40' is not a date (use YYYY-MM-DD)."
    ]
    assert not Prescription.objects.filter(pharmacy_rx_id="BKRX1233").exists()
    assert Prescription.objects.filter(pharmacy_rx_id__startswith="BKRX").count() == 1499


def test_a_reimport_changes_and_signals_nothing(
    cast, tmp_path, monkeypatch, django_capture_on_commit_callbacks, signals
):
    monkeypatch.setattr(importer, "BATCH_SIZE", 200)
    path = write_csv(tmp_path, many(cast, 1000, status=lambda n: STATUS_LABELS[n % 4]))
    with django_capture_on_commit_callbacks(execute=True):
        code, out, _ = run(path)
    assert code == 0 and "1000 created" in out and "200 new patients" in out
    assert signals == []  # a new prescription's first status is its timeline, not a change
    before = snapshot()
    with django_capture_on_commit_callbacks(execute=True):
        code, out, _ = run(path)
    assert code == 0
    assert "0 created, 0 updated, 1000 unchanged, 0 rejected; 0 new patients" in out
    assert snapshot() == before
    assert signals == []


def test_status_changes_are_recorded_and_signalled_once_in_file_order(
    cast, tmp_path, monkeypatch, django_capture_on_commit_callbacks, signals
):
    monkeypatch.setattr(importer, "BATCH_SIZE", 7)
    first = many(cast, 30)
    run(write_csv(tmp_path, first))
    second = many(cast, 30, status=lambda n: "Order Shipped" if n % 3 == 0 else "Due for Fill")
    second[4]["medication_name"] = "Other"  # an update that keeps the status
    second.append(row(cast, rx_id="BKRX-NEW", patient_id="BKP-NEW", status="Delivered"))
    path = write_csv(tmp_path, second, name="second.csv")
    with django_capture_on_commit_callbacks(execute=True):
        code, out, _ = run(path)
        code_again, out_again, _ = run(path)
    assert code == code_again == 0
    assert "1 created, 11 updated, 19 unchanged" in out and "10 status changes" in out
    assert "0 created, 0 updated, 31 unchanged" in out_again and "0 status changes" in out_again
    moved = [
        Prescription.objects.get(pharmacy_rx_id=f"BKRX{n}").pk for n in range(30) if n % 3 == 0
    ]
    assert [change for batch in signals for change in batch] == [
        (pk, Status.DUE_FOR_FILL, Status.ORDER_SHIPPED) for pk in moved
    ]
    assert StatusChange.objects.filter(
        prescription_id__in=moved, from_status=Status.DUE_FOR_FILL
    ).count() == len(moved)
    unmoved = Prescription.objects.get(pharmacy_rx_id="BKRX4")
    assert unmoved.medication_name == "Other" and unmoved.status_changes.count() == 1
    new = Prescription.objects.get(pharmacy_rx_id="BKRX-NEW")
    assert list(new.status_changes.values_list("from_status", "to_status")) == [
        ("", Status.DELIVERED)
    ]


def test_the_last_row_of_a_patient_in_a_batch_wins(cast, tmp_path):
    rows = [
        row(cast, rx_id="BKRX1", patient_id="BKP", patient_first_name="First"),
        row(cast, rx_id="BKRX2", patient_id="BKP", patient_first_name="Second"),
    ]
    code, out, _ = run(write_csv(tmp_path, rows))
    assert code == 0 and "1 new patients" in out
    patient = Patient.objects.get(pharmacy_patient_id="BKP")
    assert patient.first_name == "Second"
    assert set(patient.prescriptions.values_list("pharmacy_rx_id", flat=True)) == {
        "BKRX1",
        "BKRX2",
    }


def test_postgresql_writes_a_batch_with_copy_and_a_fixed_number_of_statements(
    cast, tmp_path, monkeypatch
):
    require(connection.vendor == "postgresql", "PostgreSQL (DATABASE_URL)")

    def statements(count, prefix):
        path = write_csv(tmp_path, many(cast, count, prefix=prefix), name=f"{prefix}.csv")
        with CaptureQueriesContext(connection) as queries:
            assert run(path)[0] == 0
        return [q["sql"].split()[0].upper() for q in queries.captured_queries]

    monkeypatch.setattr(importer, "BATCH_SIZE", 10_000)
    small, large = statements(10, "S"), statements(900, "L")
    assert small == large  # per batch, not per row (below the size that ANALYZEs afterwards)
    # The COPY itself is not a captured query; what is: the staging table made and emptied,
    # its statistics, one statement for the patients and one for the prescriptions and their
    # timeline (and the import's audit event, savepoints, the lookups of the prescribers).
    assert large.count("WITH") == 2
    assert not {"UPDATE", "DELETE"} & set(large)


def test_postgresql_reimport_rewrites_no_row_and_takes_no_id(cast, tmp_path):
    """Unchanged rows are filtered out before the upsert: no new row version (xmin), no id
    taken from a sequence."""
    require(connection.vendor == "postgresql", "PostgreSQL (DATABASE_URL)")
    path = write_csv(tmp_path, many(cast, 50))
    run(path)

    def versions():
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT (SELECT array_agg(xmin::text ORDER BY id) FROM prescriptions_prescription),"
                " (SELECT array_agg(xmin::text ORDER BY id) FROM prescriptions_patient),"
                " nextval(pg_get_serial_sequence('prescriptions_prescription', 'id')),"
                " nextval(pg_get_serial_sequence('prescriptions_patient', 'id'))"
            )
            return cursor.fetchone()

    before = versions()
    code, out, _ = run(path)
    assert code == 0 and "50 unchanged" in out
    after = versions()
    assert after[:2] == before[:2]
    # nextval() above took one id of each: the re-import took none.
    assert (after[2], after[3]) == (before[2] + 1, before[3] + 1)
