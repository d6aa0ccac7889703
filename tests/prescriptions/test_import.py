"""import_prescriptions and the importer: idempotent upsert, per-row errors, file-level errors."""

import csv
import io
import json

import pytest
from django.core.management import CommandError, call_command
from django.db import DataError, IntegrityError

from prescriptions import importer
from prescriptions.importer import ALL_COLUMNS, REQUIRED_COLUMNS, Importer
from prescriptions.models import Patient, Pharmacy, Prescription, Status, StatusChange

pytestmark = pytest.mark.django_db

HEADER = REQUIRED_COLUMNS + ["patient_sex", "last_shipped", "refills_remaining", "pharmacy"]


def row(cast, **overrides):
    base = {
        "patient_id": "P-NEW",
        "patient_first_name": "Nina",
        "patient_last_name": "Novak",
        "patient_dob": "1985-04-12",
        "rx_id": "RX9001",
        "rx_number": "9001",
        "medication_name": "Skyrizi",
        "status": "Due for Fill",
        "prescriber_npi": cast.npi_alice.npi,
        "patient_sex": "F",
        "last_shipped": "01/19/2025",
        "refills_remaining": "3",
        "pharmacy": "main",
    }
    return base | overrides


def write_csv(tmp_path, rows, header=HEADER, name="rx.csv", encoding="utf-8"):
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=header, extrasaction="ignore")
    writer.writeheader()
    writer.writerows(rows)
    path = tmp_path / name
    path.write_bytes(buf.getvalue().encode(encoding))
    return str(path)


def run(path, *args):
    out, err = io.StringIO(), io.StringIO()
    try:
        call_command("import_prescriptions", path, *args, stdout=out, stderr=err)
        code = 0
    except SystemExit as exc:
        code = exc.code
    return code, out.getvalue(), err.getvalue()


def test_it_creates_then_changes_nothing_on_reimport(cast, tmp_path):
    path = write_csv(tmp_path, [row(cast), row(cast, rx_id="RX9002", rx_number="9002")])
    code, out, _ = run(path)
    assert code == 0
    assert "2 created" in out
    rx = Prescription.objects.get(pharmacy_rx_id="RX9001")
    assert rx.status == Status.DUE_FOR_FILL
    assert rx.last_shipped.isoformat() == "2025-01-19"
    assert rx.patient.first_name == "Nina"
    before = list(Prescription.objects.order_by("pk").values())
    changes = StatusChange.objects.count()
    code, out, _ = run(path)
    assert "0 created, 0 updated, 2 unchanged" in out
    assert list(Prescription.objects.order_by("pk").values()) == before
    assert StatusChange.objects.count() == changes


def test_it_records_a_status_change_once(cast, tmp_path, django_capture_on_commit_callbacks):
    run(write_csv(tmp_path, [row(cast)]))
    path = write_csv(tmp_path, [row(cast, status="Order Shipped")], name="second.csv")
    received = []
    from prescriptions.importer import prescription_status_changed

    def handler(sender, changes, **kw):
        received.extend(changes)

    prescription_status_changed.connect(handler)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            run(path)
            run(path)
    finally:
        prescription_status_changed.disconnect(handler)
    rx = Prescription.objects.get(pharmacy_rx_id="RX9001")
    assert rx.status == Status.ORDER_SHIPPED
    assert list(rx.status_changes.values_list("from_status", "to_status")) == [
        ("", Status.DUE_FOR_FILL),
        (Status.DUE_FOR_FILL, Status.ORDER_SHIPPED),
    ]
    assert received == [(rx.pk, Status.DUE_FOR_FILL, Status.ORDER_SHIPPED)]


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"prescriber_npi": "1234567890"}, "is not a valid NPI"),
        ({"prescriber_npi": "1234567893"}, "is not in the prescriber directory"),
        ({"patient_dob": "31/31/1985"}, "patient_dob '31/31/1985' is not a date"),
        ({"last_shipped": "yesterday"}, "last_shipped 'yesterday' is not a date"),
        ({"status": "Lost in space"}, "is not a known status"),
        ({"patient_first_name": ""}, "Missing value for patient_first_name"),
        ({"refills_remaining": "-1"}, "not a whole number"),
        ({"pharmacy": "nowhere"}, "not a known pharmacy"),
    ],
)
def test_it_rejects_a_bad_row_and_writes_nothing_of_it(cast, tmp_path, overrides, message):
    good = row(cast, rx_id="RX9100", patient_id="P-GOOD")
    bad = row(cast, **overrides)
    code, out, err = run(write_csv(tmp_path, [good, bad]))
    assert code == 2
    assert "1 created" in out and "1 rejected" in out
    assert any(line.startswith("row 3: ") and message in line for line in err.splitlines()), err
    assert not Prescription.objects.filter(pharmacy_rx_id="RX9001").exists()
    assert not Patient.objects.filter(pharmacy_patient_id="P-NEW").exists()


def test_it_rejects_a_duplicate_rx_id_in_the_file(cast, tmp_path):
    code, out, err = run(write_csv(tmp_path, [row(cast), row(cast, medication_name="Other")]))
    assert "appears more than once" in err
    assert Prescription.objects.get(pharmacy_rx_id="RX9001").medication_name == "Skyrizi"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "The file is empty"),
        (",".join(REQUIRED_COLUMNS).encode() + b"\n", "no data rows"),
        (b"patient_id,rx_id\nP1,R1\n", "Missing required columns"),
        (",".join(REQUIRED_COLUMNS + ["shoe_size"]).encode() + b"\n", "Unknown columns: shoe_size"),
    ],
)
def test_it_refuses_a_malformed_file_and_changes_nothing(cast, tmp_path, content, message):
    path = tmp_path / "bad.csv"
    path.write_bytes(content)
    before = Prescription.objects.count()
    with pytest.raises(CommandError, match=message):
        call_command("import_prescriptions", str(path))
    assert Prescription.objects.count() == before


def test_it_refuses_a_non_utf8_file_before_writing_anything(cast, tmp_path):
    rows = [row(cast, rx_id=f"RX{n}", rx_number=str(n)) for n in range(5)]
    rows.append(row(cast, rx_id="RX-LATIN", patient_last_name="Muñoz"))
    path = write_csv(tmp_path, rows, encoding="latin-1")
    with pytest.raises(CommandError, match="not UTF-8"):
        call_command("import_prescriptions", path)
    assert not Prescription.objects.filter(pharmacy_rx_id__startswith="RX0").exists()
    assert Prescription.objects.count() == 5  # the cast's


def test_it_reads_excel_csv_with_bom_crlf_and_blank_trailing_rows(cast, tmp_path):
    path = write_csv(tmp_path, [row(cast)])
    with open(path, encoding="utf-8") as fh:
        data = fh.read().replace("\n", "\r\n")
    (tmp_path / "excel.csv").write_bytes(b"\xef\xbb\xbf" + data.encode() + b",,,,\r\n\r\n")
    code, out, _ = run(str(tmp_path / "excel.csv"))
    assert code == 0 and "1 created" in out


def test_it_imports_json(cast, tmp_path):
    path = tmp_path / "rx.json"
    path.write_text(json.dumps({"records": [row(cast)]}))
    code, out, _ = run(str(path))
    assert code == 0 and "1 created" in out
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(CommandError, match="not valid JSON"):
        call_command("import_prescriptions", str(bad))
    empty = tmp_path / "empty.json"
    empty.write_text("[]")
    with pytest.raises(CommandError, match="no records"):
        call_command("import_prescriptions", str(empty))


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (
            {"patient_first_name": "Ni\x00na"},
            "patient_first_name contains a control character (U+0000)",
        ),
        ({"patient_id": "P-\x00"}, "patient_id contains a control character (U+0000)"),
        (
            {"medication_name": "Sky\x1brizi"},
            "medication_name contains a control character (U+001B)",
        ),
        (
            {"patient_address": "1 Main St\n2nd floor"},
            "patient_address contains a control character (U+000A)",
        ),
        (
            {"patient_last_name": "\u202eNovak"},
            "patient_last_name contains a control character (U+202E)",
        ),
        ({"refills_remaining": "\u00b2"}, "refills_remaining '\u00b2' is not a whole number"),
        ({"refills_remaining": "\u0663"}, "refills_remaining '\u0663' is not a whole number"),
        ({"prescriber_npi": "\u00b2" * 10}, "is not a valid NPI"),
        ({"patient_state": "\u00df\u00df"}, "patient_state '\u00df\u00df' is not a US state code"),
        ({"patient_state": "ZZ"}, "patient_state 'ZZ' is not a US state code"),
        ({"patient_zip": "ABCDE"}, "patient_zip 'ABCDE' is not a ZIP code"),
        ({"patient_phone": "call me"}, "patient_phone 'call me' is not a phone number"),
        ({"patient_dob": "1850-01-01"}, "patient_dob '1850-01-01' is out of range"),
        ({"patient_dob": "2999-01-01"}, "patient_dob '2999-01-01' is out of range"),
        ({"last_shipped": "0001-01-01"}, "last_shipped '0001-01-01' is out of range"),
        ({"next_fill": "\u0662\u0660\u0662\u0665-01-01"}, "is not a date"),
        ({"status_date": "2999-01-01"}, "status_date '2999-01-01' is out of range"),
        ({"medication_name": "x" * 201}, "medication_name is longer than 200 characters"),
        ({"rx_id": "R" * 65}, "rx_id is longer than 64 characters"),
        ({"patient_city": "c" * 101}, "patient_city is longer than 100 characters"),
    ],
)
def test_it_refuses_unwritable_values_by_row_and_field(cast, tmp_path, overrides, message):
    good = row(cast, rx_id="RX9100", patient_id="P-GOOD")
    bad = row(cast, **overrides)
    patients, prescriptions = Patient.objects.count(), Prescription.objects.count()
    code, out, err = run(write_csv(tmp_path, [good, bad], header=ALL_COLUMNS))
    assert code == 2
    assert "1 created" in out and "1 rejected" in out
    assert any(line.startswith("row 3: ") and message in line for line in err.splitlines()), err
    # Only the good row's patient and prescription (PostgreSQL cannot even look up a NUL).
    assert Patient.objects.count() == patients + 1
    assert Prescription.objects.count() == prescriptions + 1


def test_a_bad_row_after_the_first_batch_is_reported_and_the_rest_imported(
    cast, tmp_path, monkeypatch
):
    monkeypatch.setattr(importer, "BATCH_SIZE", 2)
    rows = [row(cast, rx_id=f"RX95{n}", patient_id=f"P-95{n}") for n in range(5)]
    rows[3]["patient_state"] = "\u00df\u00df"  # row 5 of the file, in the second batch
    code, out, err = run(write_csv(tmp_path, rows, header=ALL_COLUMNS))
    assert code == 2
    assert "4 created" in out and "1 rejected" in out
    assert err.splitlines() == [
        "row 5: patient_state '\u00df\u00df' is not a US state code (PA, NY, \u2026)."
    ]
    assert Prescription.objects.filter(pharmacy_rx_id__startswith="RX95").count() == 4


@pytest.mark.parametrize("error", [IntegrityError, DataError])
def test_a_database_failure_in_a_later_batch_imports_nothing(cast, tmp_path, monkeypatch, error):
    monkeypatch.setattr(importer, "BATCH_SIZE", 2)
    calls = []
    upsert = Importer._upsert_patients

    def failing_second_batch(self, batch):
        calls.append(1)
        if len(calls) == 2:
            raise error("refused")
        return upsert(self, batch)

    monkeypatch.setattr(Importer, "_upsert_patients", failing_second_batch)
    rows = [row(cast, rx_id=f"RX96{n}", patient_id=f"P-96{n}") for n in range(5)]
    with pytest.raises(CommandError, match=r"Nothing imported: .*rows 4-5"):
        run(write_csv(tmp_path, rows))
    assert not Prescription.objects.filter(pharmacy_rx_id__startswith="RX96").exists()
    assert not Patient.objects.filter(pharmacy_patient_id__startswith="P-96").exists()


def test_an_unreadable_line_after_the_first_batch_imports_nothing(cast, tmp_path, monkeypatch):
    monkeypatch.setattr(importer, "BATCH_SIZE", 2)
    rows = [row(cast, rx_id=f"RX97{n}", patient_id=f"P-97{n}") for n in range(5)]
    rows[3]["strength"] = "9" * 200_000  # beyond the csv module's field limit
    with pytest.raises(CommandError, match="Nothing imported: Row 5 cannot be read"):
        run(write_csv(tmp_path, rows, header=ALL_COLUMNS))
    assert not Prescription.objects.filter(pharmacy_rx_id__startswith="RX97").exists()


def test_it_requires_the_pharmacy_when_several_exist(cast, tmp_path):
    other = Pharmacy.objects.create(code="other", name="Other")
    header = [h for h in HEADER if h != "pharmacy"]
    path = write_csv(tmp_path, [row(cast)], header=header)
    with pytest.raises(CommandError, match="--pharmacy"):
        run(path)
    assert not Prescription.objects.filter(pharmacy_rx_id="RX9001").exists()
    json_path = tmp_path / "rx.json"
    json_path.write_text(json.dumps([{k: row(cast)[k] for k in header}]))
    with pytest.raises(CommandError, match="--pharmacy"):
        run(str(json_path))
    code, out, _ = run(path, "--pharmacy", "other")
    assert code == 0 and "1 created" in out
    assert Prescription.objects.get(pharmacy_rx_id="RX9001").pharmacy == other


def test_pharmacy_fixes_whose_records_are_written(cast, tmp_path):
    """The same ids under --pharmacy B are B's own rows; A's are untouched; a row naming A is
    refused."""
    other = Pharmacy.objects.create(code="other", name="Other")
    before = Prescription.objects.filter(pk=cast.rx_alice.pk).values().get()
    same_ids = row(
        cast, rx_id="RX1001", patient_id="P-A", status="Discontinued", pharmacy="", rx_number="1"
    )
    code, out, _ = run(write_csv(tmp_path, [same_ids]), "--pharmacy", "other")
    assert code == 0 and "1 created" in out
    assert Prescription.objects.filter(pk=cast.rx_alice.pk).values().get() == before
    assert (
        Prescription.objects.get(pharmacy=other, pharmacy_rx_id="RX1001").patient.pharmacy == other
    )
    naming_a = row(cast, rx_id="RX1001", patient_id="P-A", status="Discontinued")
    code, _, err = run(write_csv(tmp_path, [naming_a], name="a.csv"), "--pharmacy", "other")
    assert code == 2 and "does not match" in err
    assert Prescription.objects.filter(pk=cast.rx_alice.pk).values().get() == before


def test_an_update_writes_exactly_the_new_values_and_keeps_the_rest(cast, tmp_path):
    """The same decisions on both write paths (ORM on SQLite; COPY, INSERT … SELECT and
    UPDATE … FROM on PostgreSQL): a changed patient and prescription are updated in place,
    an untouched row stays as it was, a new one is created; one status change is recorded."""
    first = [row(cast), row(cast, rx_id="RX9002", rx_number="9002", patient_id="P-TWO")]
    run(write_csv(tmp_path, first))
    untouched = Prescription.objects.values().get(pharmacy_rx_id="RX9002")
    rx_before = Prescription.objects.get(pharmacy_rx_id="RX9001")
    second = [
        row(cast, patient_first_name="Nora", status="Order Shipped", refills_remaining=""),
        first[1],
        row(cast, rx_id="RX9003", rx_number="9003", patient_id="P-THREE"),
    ]
    code, out, _ = run(write_csv(tmp_path, second, name="second.csv"))
    assert code == 0
    assert "1 created, 1 updated, 1 unchanged" in out
    rx = Prescription.objects.select_related("patient").get(pharmacy_rx_id="RX9001")
    assert (rx.pk, rx.patient_id) == (rx_before.pk, rx_before.patient_id)
    assert rx.patient.first_name == "Nora" and rx.patient.last_name == "Novak"
    assert rx.status == Status.ORDER_SHIPPED and rx.refills_remaining is None
    assert rx.status_changed_at > rx_before.status_changed_at
    assert rx.updated_at > rx_before.updated_at and rx.created_at == rx_before.created_at
    assert Prescription.objects.values().get(pharmacy_rx_id="RX9002") == untouched
    new = Prescription.objects.get(pharmacy_rx_id="RX9003")
    assert new.patient.pharmacy_patient_id == "P-THREE" and new.pharmacy.code == "main"
    assert list(new.status_changes.values_list("from_status", "to_status")) == [
        ("", Status.DUE_FOR_FILL)
    ]
    assert rx.status_changes.count() == 2


def test_a_large_import_analyzes_the_tables_it_wrote_only(cast, tmp_path, monkeypatch):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    monkeypatch.setattr(
        "prescriptions.management.commands.import_prescriptions.import_file",
        lambda path, pharmacy=None: importer.ImportResult(created=1001),
    )
    with CaptureQueriesContext(connection) as queries:
        run(write_csv(tmp_path, [row(cast)]))
    analyzed = [q["sql"] for q in queries.captured_queries if q["sql"].startswith("ANALYZE")]
    assert analyzed == [
        'ANALYZE "prescriptions_patient"',
        'ANALYZE "prescriptions_prescription"',
        'ANALYZE "prescriptions_statuschange"',
    ]
