"""The CSV fast path (importer.CsvCleaner, a batch validated a column at a time) gives exactly
what clean_record gives record by record: the same clean rows, the same errors for the same row
numbers, on files made to trip it."""

import csv
import datetime as dt
import io

import pytest
from django.core.management import call_command
from django.db import transaction

from prescriptions import importer
from prescriptions.importer import ALL_COLUMNS, REQUIRED_COLUMNS, Importer
from prescriptions.models import Prescription, StatusChange
from prescriptions.npi import make_npi

NPI = make_npi("123456789")
OTHER_NPI = make_npi("987654321")
TODAY = dt.date(2026, 12, 1)
HEADER = REQUIRED_COLUMNS + ["patient_sex", "last_shipped", "refills_remaining", "status_date"]


class RolledBack(Exception):
    pass


def good(n, **overrides):
    base = {
        "patient_id": f"P{n // 3}",
        "patient_first_name": "Nina",
        "patient_last_name": f"Novak{n // 3}",
        "patient_dob": "1985-04-12",
        "rx_id": f"RX{n}",
        "rx_number": str(9000 + n),
        "medication_name": "Skyrizi",
        "status": "Due for Fill",
        "prescriber_npi": NPI,
        "patient_sex": "F",
        "last_shipped": "01/19/2025",
        "refills_remaining": "3",
        "status_date": "",
        "patient_phone": "(215) 555-0100",
        "patient_email": "nina@example.com",
        "patient_state": "pa",
        "patient_zip": "19104",
        "patient_address": "1 Main St",
        "patient_city": "Philadelphia",
        "strength": "150 MG/ML",
        "form": "PEN",
        "next_fill": "2026-1-5",
        "priority": "",
        "written_date": "2025-12-31",
        "pharmacy": "main",
    }
    return base | overrides


# Each is one row's changes, among good rows: what clean_record refuses (or accepts) in them.
TRICKY = [
    {"patient_first_name": "  Nina  "},  # surrounding spaces, stripped
    {"patient_first_name": "\tNina\r"},  # tab and CR at the ends: stripped too
    {"patient_first_name": "Ni\tna"},  # inside: a control character
    {"patient_last_name": "Novak, Jr."},  # a quoted comma
    {"patient_last_name": 'O"Brien'},  # a quoted quote
    {"patient_last_name": "Line\nbreak"},  # a newline in a quoted cell
    {"patient_last_name": "Zoë Ångström"},  # non-ASCII letters
    {"patient_last_name": "Bidi\u202eevil"},
    {"patient_last_name": "sep\u2028x"},
    {"patient_last_name": "del\x7f"},
    {"patient_last_name": "c1\x85"},
    {"patient_last_name": "x" * 101},
    {"patient_last_name": "  " + "x" * 100 + "  "},  # 100 after stripping: fine
    {"patient_first_name": ""},
    {"patient_first_name": "   "},  # blank after stripping: missing
    {"rx_id": ""},
    {"patient_dob": ""},
    {"patient_dob": "4/12/1985"},  # US, one-digit month
    {"patient_dob": "1985-4-2"},
    {"patient_dob": "31/31/1985"},
    {"patient_dob": "1850-01-01"},
    {"patient_dob": "2026-12-02"},  # after today
    {"patient_dob": "2026-12-01"},  # today
    {"patient_dob": "1985-02-30"},
    {"patient_dob": "85-04-12"},
    {"patient_dob": "\u0661985-04-12"},
    {"status": ""},
    {"status": "due for fill"},
    {"status": "DUE FOR FILL"},
    {"status": "Lost in space"},
    {"status": "on_hold"},
    {"prescriber_npi": ""},
    {"prescriber_npi": "1234567890"},
    {"prescriber_npi": OTHER_NPI},
    {"prescriber_npi": "\u00b2" * 10},
    {"patient_sex": ""},
    {"patient_sex": "female"},
    {"patient_sex": "Q"},
    {"patient_email": ""},
    {"patient_email": "not an email"},
    {"patient_phone": ""},
    {"patient_phone": "call me"},
    {"patient_phone": "+1 215.555.0100"},
    {"patient_phone": "1" * 21},
    {"patient_state": ""},
    {"patient_state": "ZZ"},
    {"patient_state": "\u00df\u00df"},
    {"patient_zip": "19104-1234"},
    {"patient_zip": "ABCDE"},
    {"refills_remaining": ""},
    {"refills_remaining": "-1"},
    {"refills_remaining": "\u0663"},
    {"refills_remaining": "1234567"},
    {"last_shipped": "yesterday"},
    {"last_shipped": "0001-01-01"},
    {"next_fill": "2100-12-31"},
    {"next_fill": "2101-01-01"},
    {"written_date": "12/31/2025"},
    {"status_date": "2026-12-02"},  # a day of slack
    {"status_date": "2026-12-03"},
    {"status_date": "11/30/2026"},
    {"pharmacy": ""},
    {"priority": "p" * 60},
    {"medication_name": "x" * 201},
]


def csv_bytes(rows, header, *, bom=False, newline="\n"):
    buf = io.StringIO(newline="")
    writer = csv.DictWriter(buf, fieldnames=header, extrasaction="ignore", lineterminator=newline)
    writer.writeheader()
    writer.writerows(rows)
    return (b"\xef\xbb\xbf" if bom else b"") + buf.getvalue().encode()


def both_ways(content):
    """The file as import_file reads it (CsvCleaner.read after the first record), and record
    by record through clean_record. Also checks the fast path on already numbered rows."""
    reader, header = importer._csv_header(io.BytesIO(content))
    rows = importer._csv_cells(reader)
    fast = list(importer.CsvCleaner(header, TODAY).read(reader, next(rows)))
    reader, _ = importer._csv_header(io.BytesIO(content))
    numbered = list(importer.CsvCleaner(header, TODAY).cleaned(importer._csv_cells(reader)))
    reader, _ = importer._csv_header(io.BytesIO(content))
    slow = list(importer._cleaned(importer._csv_rows(reader), TODAY))
    assert numbered == slow
    return fast, slow


def tricky_rows():
    rows = []
    for n, changes in enumerate(TRICKY):
        rows += [good(2 * n), good(2 * n + 1, **changes)]
    return rows


@pytest.mark.parametrize("header", [HEADER, ALL_COLUMNS, list(reversed(ALL_COLUMNS))])
@pytest.mark.parametrize("batch_size", [1, 3, 2000])
def test_the_fast_path_gives_what_clean_record_gives(header, batch_size, monkeypatch):
    monkeypatch.setattr(importer, "BATCH_SIZE", batch_size)
    fast, slow = both_ways(csv_bytes(tricky_rows(), header))
    assert fast == slow
    assert len(fast) >= 2 * len(TRICKY)  # a bare CR in a cell (unquoted) ends a row
    errors = [result for _, result in fast if isinstance(result, str)]
    assert len(errors) > 30  # the file does trip the checks (and most rows are fine)


@pytest.mark.parametrize("batch_size", [1, 2, 4, 2000])
def test_bom_crlf_spaces_blank_short_and_long_rows_give_the_same_results(batch_size, monkeypatch):
    monkeypatch.setattr(importer, "BATCH_SIZE", batch_size)
    header = " , ".join(HEADER).split(",")  # spaces around the header's names
    text = csv_bytes([], header).decode()
    body = csv_bytes([good(1), good(2, patient_last_name="Smith, Jr.")], HEADER).decode()
    lines = body.splitlines()[1:]
    cells = lines[0].split(",")
    content = (
        "\ufeff"
        + text.strip("\n")
        + "\r\n"
        + "\r\n".join(
            [
                lines[0],
                "",  # an empty line: not counted
                ",".join(cells[:5]),  # a short row
                ",".join(cells + ["extra"]),  # a long row
                ",,,,",  # blank cells only
                " , ,\t, ",  # blank after stripping
                "\u00a0,\u2003, ,\x0c",  # blank to str.strip() too
                lines[1],
                ",".join(cells[:-1] + ["", "surplus"]),  # long, but only by an empty cell
                ",".join(cells).replace("RX1", "RX1b"),
                ",".join(cells + [""]),  # long by an empty cell
            ]
        )
        + "\r\n"
    ).encode()
    fast, slow = both_ways(content)
    assert fast == slow
    assert [row for row, _ in fast] == [row for row, _ in slow]
    assert any(r == "This row has more cells than the header." for _, r in fast)
    assert any(isinstance(r, str) and r.startswith("Missing value") for _, r in fast)
    assert len(fast) == 7  # 10 rows of cells, 3 of them blank; the empty line not counted


@pytest.mark.parametrize("batch_size", [1, 3, 2000])
def test_an_unreadable_line_is_reported_by_the_same_row_number(batch_size, monkeypatch):
    monkeypatch.setattr(importer, "BATCH_SIZE", batch_size)
    lines = csv_bytes([good(n) for n in range(5)], HEADER).decode().splitlines()
    lines.insert(3, "")  # an empty line before it: not counted
    lines.insert(5, ",".join(["x" * 200_000] * len(HEADER)))  # beyond csv's field limit
    content = "\n".join(lines).encode()
    messages = []
    for read in ("fast", "slow"):
        reader, header = importer._csv_header(io.BytesIO(content))
        rows = importer._csv_cells(reader)
        with pytest.raises(importer.ImportFileError) as raised:
            if read == "fast":
                list(importer.CsvCleaner(header, TODAY).read(reader, next(rows)))
            else:
                list(importer._cleaned(importer._csv_rows(reader), TODAY))
        messages.append(str(raised.value))
    assert messages[0] == messages[1]
    assert messages[0].startswith("Row 5 cannot be read")


def test_a_repeated_column_counts_as_dict_would_count_it():
    header = HEADER + ["patient_first_name"]
    # The last of the two wins: empty (missing) in the first row, "Ada" in the second.
    rows = [[good(1)[h] for h in HEADER] + [""], [good(2)[h] for h in HEADER] + ["Ada"]]
    buf = io.StringIO(newline="")
    writer = csv.writer(buf)
    writer.writerow(header)
    writer.writerows(rows)
    fast, slow = both_ways(buf.getvalue().encode())
    assert fast == slow
    assert isinstance(fast[0][1], str) and isinstance(fast[1][1], importer.CleanRow)
    assert fast[1][1].patient["first_name"] == "Ada"


@pytest.mark.django_db
def test_the_command_reports_what_the_record_by_record_import_reports(cast, tmp_path, monkeypatch):
    """The command (fast path) and Importer.run on the same records (clean_record): the same
    rows written, the same errors by row, in the same order, across several batches."""
    monkeypatch.setattr(importer, "BATCH_SIZE", 7)
    rows = [
        r | {"prescriber_npi": cast.npi_alice.npi}
        if r["prescriber_npi"] == NPI
        else r | {"prescriber_npi": OTHER_NPI}
        for r in tricky_rows()
    ]
    rows.append(good(999, prescriber_npi=cast.npi_alice.npi, rx_id="RX0"))  # a repeated rx_id
    path = tmp_path / "rx.csv"
    path.write_bytes(csv_bytes(rows, ALL_COLUMNS))

    def outcome():
        return sorted(
            Prescription.objects.values_list(
                "pharmacy_rx_id", "status", "patient__first_name", "patient__phone", "last_shipped"
            )
        ), StatusChange.objects.count()

    with pytest.raises(RolledBack), transaction.atomic():  # each run on the same database
        fast = importer.import_file(str(path))
        written = outcome()
        raise RolledBack
    with path.open("rb") as binary:
        reader, _ = importer._csv_header(binary)
        slow = Importer().run(list(importer._csv_rows(reader)))
    assert fast.as_dict() == slow.as_dict()
    assert fast.error_count > 30
    assert any("not in the prescriber directory" in m for _, m in fast.errors)
    assert any("more than once" in m for _, m in fast.errors)
    assert outcome() == written


@pytest.mark.django_db
def test_good_rows_do_not_go_through_clean_record(cast, tmp_path, monkeypatch):
    calls = []
    real = importer.clean_record

    def counting(row, record, **kwargs):
        calls.append(row)
        return real(row, record, **kwargs)

    monkeypatch.setattr(importer, "clean_record", counting)
    rows = [good(n, prescriber_npi=cast.npi_alice.npi) for n in range(20)]
    rows[4]["status"] = "Lost in space"
    path = tmp_path / "rx.csv"
    path.write_bytes(csv_bytes(rows, HEADER + ["pharmacy"]))
    out = io.StringIO()
    with pytest.raises(SystemExit):
        call_command("import_prescriptions", str(path), stdout=out, stderr=io.StringIO())
    assert "19 created" in out.getvalue()
    assert calls == [6]  # the bad row only (row 1 is the header)
