"""Upsert patients and prescriptions from the pharmacy's records (CSV/JSON files, ingest API).

Records are keyed by the pharmacy and its ids, (pharmacy, `patient_id`) and (pharmacy, `rx_id`):
two pharmacies may use the same ids without touching each other's records, and importing the same
data twice changes nothing. An import with a fixed pharmacy (the ingest token's, or the command's
`--pharmacy`) writes only that pharmacy's records; a record naming another is refused.

Per-row results, nothing half-done: every value of a record is validated (types, control
characters, lengths against the model, ASCII digits, dates, states) before that record reaches
the database, and a bad record is reported by its row number and field and skipped while the good
ones are written. The whole call runs in one transaction, so a failure the validation could not
foresee (a concurrent import, a lost connection, an unreadable line further down the file) rolls
every batch back and is reported as `ImportAborted`: the database is as it was. Work is done in
batches with a handful of queries each, so memory stays flat and 100,000 rows take seconds.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import io
import json
import operator
import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from functools import lru_cache, partial
from itertools import islice, repeat
from operator import gt
from typing import IO, Any

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import DatabaseError, IntegrityError, connection, models, transaction
from django.db.models import Q
from django.dispatch import Signal
from django.utils import timezone

from .models import (
    Patient,
    Pharmacy,
    Prescriber,
    Prescription,
    Status,
    StatusChange,
    parse_day,
)
from .npi import is_valid_npi

# Sent after commit with `changes=[(prescription_id, from_status, to_status), ...]`.
prescription_status_changed = Signal()

REQUIRED_COLUMNS = [
    "patient_id",
    "patient_first_name",
    "patient_last_name",
    "patient_dob",
    "rx_id",
    "rx_number",
    "medication_name",
    "status",
    "prescriber_npi",
]
OPTIONAL_COLUMNS = [
    "patient_sex",
    "patient_phone",
    "patient_email",
    "patient_address",
    "patient_city",
    "patient_state",
    "patient_zip",
    "strength",
    "form",
    "last_shipped",
    "next_fill",
    "priority",
    "refills_remaining",
    "written_date",
    "pharmacy",
    "status_date",
]
ALL_COLUMNS = REQUIRED_COLUMNS + OPTIONAL_COLUMNS
_COLUMNS = frozenset(ALL_COLUMNS)
BATCH_SIZE = 2000
MAX_ERRORS_KEPT = 1000


def _max_length(model: type[models.Model], name: str) -> int:
    model_field = model._meta.get_field(name)
    assert isinstance(model_field, models.Field) and model_field.max_length is not None
    return model_field.max_length


# The longest value each column may hold: the model field's own max_length where the column is
# stored as given, so the database never sees a value it would refuse (PostgreSQL) or silently
# keep longer than declared (SQLite). Columns that are looked up or normalised get a bound on
# the raw text.
COLUMN_MAX_LENGTH = {
    "patient_id": _max_length(Patient, "pharmacy_patient_id"),
    "patient_first_name": _max_length(Patient, "first_name"),
    "patient_last_name": _max_length(Patient, "last_name"),
    "patient_dob": 10,
    "rx_id": _max_length(Prescription, "pharmacy_rx_id"),
    "rx_number": _max_length(Prescription, "rx_number"),
    "medication_name": _max_length(Prescription, "medication_name"),
    "status": 60,
    "prescriber_npi": _max_length(Prescriber, "npi"),
    "patient_sex": 10,
    "patient_phone": 30,
    "patient_email": _max_length(Patient, "email"),
    "patient_address": _max_length(Patient, "address_line1"),
    "patient_city": _max_length(Patient, "city"),
    "patient_state": _max_length(Patient, "state"),
    "patient_zip": _max_length(Patient, "zip_code"),
    "strength": _max_length(Prescription, "strength"),
    "form": _max_length(Prescription, "dosage_form"),
    "last_shipped": 10,
    "next_fill": 10,
    "priority": _max_length(Prescription, "priority"),
    "refills_remaining": 6,
    "written_date": 10,
    "pharmacy": _max_length(Pharmacy, "code"),
    "status_date": 10,
}
assert set(COLUMN_MAX_LENGTH) == set(ALL_COLUMNS)

# No field here is free text over several lines: every C0/C1 control character is refused (NUL,
# tab and newline included), as are lone surrogates (PostgreSQL cannot store them), the Unicode
# line and paragraph separators, and the bidirectional overrides that can disguise a name.
_FORBIDDEN = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff]")
_ASCII_DIGITS = re.compile(r"[0-9]+", re.ASCII)
_DATE_SHAPE = re.compile(r"[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}|[0-9]{1,2}/[0-9]{1,2}/[0-9]{4}", re.ASCII)
_ZIP = re.compile(r"[0-9]{5}(-?[0-9]{4})?", re.ASCII)
_PHONE_PUNCTUATION = re.compile(r"[ ()+./-]")
# Any date outside this range is a typo or a placeholder (0001-01-01, 9999-12-31).
EARLIEST_DATE = dt.date(1900, 1, 1)
LATEST_DATE = dt.date(2100, 12, 31)
# USPS codes: the states, DC, the territories and the armed forces' "states".
# fmt: off
US_STATES = frozenset({
    "AL", "AK", "AZ", "AR", "CA", "CO", "CT", "DE", "DC", "FL", "GA", "HI", "ID", "IL",
    "IN", "IA", "KS", "KY", "LA", "ME", "MD", "MA", "MI", "MN", "MS", "MO", "MT", "NE",
    "NV", "NH", "NJ", "NM", "NY", "NC", "ND", "OH", "OK", "OR", "PA", "RI", "SC", "SD",
    "TN", "TX", "UT", "VT", "VA", "WA", "WV", "WI", "WY", "AS", "GU", "MP", "PR", "VI",
    "UM", "FM", "MH", "PW", "AA", "AE", "AP",
})
# fmt: on

_STATUS_LOOKUP = {s.value: s.value for s in Status} | {s.label.lower(): s.value for s in Status}
_SEX_LOOKUP = {
    "f": "F",
    "female": "F",
    "m": "M",
    "male": "M",
    "x": "X",
    "other": "X",
    "u": "U",
    "unknown": "U",
    "": "U",
}
_PATIENT_FIELDS = [
    "first_name",
    "last_name",
    "date_of_birth",
    "sex",
    "phone",
    "email",
    "address_line1",
    "city",
    "state",
    "zip_code",
]
# The pharmacy is part of a prescription's key, not a value: it never changes on update.
_RX_FIELDS = [
    "rx_number",
    "patient_id",
    "prescriber_id",
    "medication_name",
    "strength",
    "dosage_form",
    "status",
    "last_shipped",
    "next_fill",
    "priority",
    "refills_remaining",
    "written_date",
]


# The PostgreSQL path (Importer._stage_batch and the two upserts): a temporary staging table of
# validated, resolved rows, written to the real tables by set-based statements.
_STAGED_RX_FIELDS = [f for f in _RX_FIELDS if f != "patient_id"]  # joined from the patients
_STAGE = "import_stage"
_STAGE_COLUMNS = {
    "row": "integer",
    "pharmacy_id": "bigint",
    "patient_key": "text",
    **dict.fromkeys(_PATIENT_FIELDS, "text"),
    "date_of_birth": "date",
    "rx_key": "text",
    **dict.fromkeys(_STAGED_RX_FIELDS, "text"),
    "prescriber_id": "bigint",
    "last_shipped": "date",
    "next_fill": "date",
    "refills_remaining": "integer",
    "written_date": "date",
    "status_at": "timestamptz",
}
_STAGE_ORDER = [
    "row", "pharmacy_id", "patient_key", *_PATIENT_FIELDS, "rx_key", *_STAGED_RX_FIELDS,
    "status_at",
]  # fmt: skip
assert set(_STAGE_ORDER) == set(_STAGE_COLUMNS)
_STAGE_CREATE = (
    f"CREATE TEMP TABLE IF NOT EXISTS {_STAGE} ("
    + ", ".join(f"{name} {_STAGE_COLUMNS[name]}" for name in _STAGE_ORDER)
    + ") ON COMMIT DROP"
)
_STAGE_COPY = f"COPY {_STAGE} ({', '.join(_STAGE_ORDER)}) FROM STDIN"


def _columns(alias: str, names: list[str]) -> str:
    return ", ".join(f"{alias}.{name}" for name in names)


def _differ(old: str, new: str, names: list[str]) -> str:
    """SQL: some of the columns `names` of row `old` differ from those of `new` (NULL compares
    as a value)."""
    return f"({_columns(old, names)}) IS DISTINCT FROM ({_columns(new, names)})"


# The batch's patients, the last row of each winning; only the new and the changed ones reach
# the INSERT (an unchanged patient takes no id from the sequence and is not locked).
_PATIENT_UPSERT = f"""
WITH latest AS (
    SELECT DISTINCT ON (pharmacy_id, patient_key) pharmacy_id, patient_key,
        {", ".join(_PATIENT_FIELDS)}
    FROM {_STAGE}
    ORDER BY pharmacy_id, patient_key, row DESC
), written AS (
    INSERT INTO {Patient._meta.db_table} AS t
        (pharmacy_id, pharmacy_patient_id, {", ".join(_PATIENT_FIELDS)}, updated_at)
    SELECT l.pharmacy_id, l.patient_key, {_columns("l", _PATIENT_FIELDS)}, %(now)s
    FROM latest l
    LEFT JOIN LATERAL (
        SELECT * FROM {Patient._meta.db_table}
        WHERE pharmacy_id = l.pharmacy_id AND pharmacy_patient_id = l.patient_key
        LIMIT 1
    ) p ON true
    WHERE p.id IS NULL OR {_differ("p", "l", _PATIENT_FIELDS)}
    ON CONFLICT (pharmacy_id, pharmacy_patient_id) DO UPDATE
    SET {", ".join(f"{f} = EXCLUDED.{f}" for f in _PATIENT_FIELDS)}
    WHERE {_differ("t", "EXCLUDED", _PATIENT_FIELDS)}
    RETURNING t.xmax = 0 AS created
)
SELECT count(*) FILTER (WHERE created), count(*) FILTER (WHERE NOT created) FROM written
"""

# The batch's prescriptions: the new and the changed ones (compared with the patient's id
# joined in) are upserted; a status that differs moves status_changed_at and is recorded in
# the timeline (a new prescription's first status too), in the same statement. The status
# changes of existing prescriptions come back, in file order, for the signal. The previous
# status is read from the statement's snapshot: should another transaction insert the same
# key in between, its from_status is NULL and the timeline's NOT NULL refuses the statement
# (an IntegrityError: the import is rolled back and may be run again).
_MOVED = "NOT created AND from_status IS DISTINCT FROM to_status"
_PRESCRIPTION_UPSERT = f"""
WITH src AS (
    SELECT s.row, s.pharmacy_id, s.rx_key, p.id AS patient_id, {_columns("s", _STAGED_RX_FIELDS)},
        COALESCE(s.status_at, %(now)s) AS status_at, t.status AS old_status
    FROM {_STAGE} s
    CROSS JOIN LATERAL (
        SELECT id FROM {Patient._meta.db_table}
        WHERE pharmacy_id = s.pharmacy_id AND pharmacy_patient_id = s.patient_key
        LIMIT 1
    ) p
    LEFT JOIN LATERAL (
        SELECT * FROM {Prescription._meta.db_table}
        WHERE pharmacy_id = s.pharmacy_id AND pharmacy_rx_id = s.rx_key
        LIMIT 1
    ) t ON true
    WHERE t.id IS NULL OR t.patient_id <> p.id OR {_differ("t", "s", _STAGED_RX_FIELDS)}
), written AS (
    INSERT INTO {Prescription._meta.db_table} AS t
        (pharmacy_id, pharmacy_rx_id, {", ".join(_RX_FIELDS)}, status_changed_at, created_at,
        updated_at)
    SELECT pharmacy_id, rx_key, {", ".join(_RX_FIELDS)}, status_at, %(now)s, %(now)s FROM src
    ON CONFLICT (pharmacy_id, pharmacy_rx_id) DO UPDATE
    SET {", ".join(f"{f} = EXCLUDED.{f}" for f in _RX_FIELDS)},
        status_changed_at = CASE WHEN t.status = EXCLUDED.status THEN t.status_changed_at
            ELSE EXCLUDED.status_changed_at END,
        updated_at = EXCLUDED.updated_at
    WHERE {_differ("t", "EXCLUDED", _RX_FIELDS)}
    RETURNING t.id, t.pharmacy_id, t.pharmacy_rx_id, t.status, t.status_changed_at,
        t.xmax = 0 AS created
), changes AS (
    SELECT w.id, w.created, s.row, w.status AS to_status, w.status_changed_at,
        CASE WHEN w.created THEN '' ELSE s.old_status END AS from_status
    FROM written w JOIN src s ON s.pharmacy_id = w.pharmacy_id AND s.rx_key = w.pharmacy_rx_id
), recorded AS (
    INSERT INTO {StatusChange._meta.db_table} (prescription_id, from_status, to_status, changed_at)
    SELECT id, from_status, to_status, status_changed_at FROM changes
    WHERE from_status IS DISTINCT FROM to_status
)
SELECT count(*) FILTER (WHERE created), count(*) FILTER (WHERE NOT created),
    array_agg(id ORDER BY row) FILTER (WHERE {_MOVED}),
    array_agg(from_status ORDER BY row) FILTER (WHERE {_MOVED}),
    array_agg(to_status ORDER BY row) FILTER (WHERE {_MOVED})
FROM changes
"""


class ImportFileError(Exception):
    """The file or body as a whole cannot be imported (nothing was changed)."""


class ImportAborted(ImportFileError):
    """The database refused a batch: the whole import was rolled back (nothing was changed).

    `retry` is true when sending the same data again should work (a concurrent import).
    """

    def __init__(self, message: str, *, retry: bool) -> None:
        super().__init__(message)
        self.retry = retry


@dataclass
class ImportResult:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    patients_created: int = 0
    patients_updated: int = 0
    errors: list[tuple[int, str]] = field(default_factory=list)
    error_count: int = 0
    status_changes: int = 0

    @property
    def rows(self) -> int:
        return self.created + self.updated + self.unchanged + self.error_count

    def add_error(self, row: int, message: str) -> None:
        self.error_count += 1
        if len(self.errors) < MAX_ERRORS_KEPT:
            self.errors.append((row, message))

    def as_dict(self) -> dict[str, Any]:
        return {
            "rows": self.rows,
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "patients_created": self.patients_created,
            "patients_updated": self.patients_updated,
            "status_changes": self.status_changes,
            "error_count": self.error_count,
            "errors": [{"row": r, "error": m} for r, m in self.errors],
        }


class RowError(Exception):
    pass


@dataclass(frozen=True)
class BadRow:
    """A row the file reader could not turn into a record (reported by clean_record)."""

    message: str


def _json_type(value: Any) -> str:
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, float):
        return "a decimal number"
    return type(value).__name__


def _text(record: dict[str, Any], key: str) -> str:
    """The column's value as clean text: a string (or a whole number, from JSON), stripped of
    surrounding spaces, no longer than COLUMN_MAX_LENGTH, without control characters."""
    max_length = COLUMN_MAX_LENGTH[key]
    value = record.get(key)
    if value is None:
        return ""
    if isinstance(value, int) and not isinstance(value, bool):
        if abs(value) >= 10**max_length:
            raise RowError(f"{key} is longer than {max_length} characters.")
        value = str(value)
    if not isinstance(value, str):
        raise RowError(f"{key} must be text, not {_json_type(value)}.")
    value = value.strip(" \t\r\n")
    if len(value) > max_length:
        raise RowError(f"{key} is longer than {max_length} characters ({len(value)} given).")
    if bad := _FORBIDDEN.search(value):
        raise RowError(
            f"{key} contains a control character (U+{ord(bad.group()):04X}) "
            f"at position {bad.start() + 1}."
        )
    return value


_EMPTY_VALUES = dict.fromkeys(ALL_COLUMNS, "")
_SPACE = " \t\r\n"


def _texts(record: dict[str, Any]) -> dict[str, str]:
    """Every column through `_text`. A record of plain, short, clean strings (a CSV row) is
    checked a column at a time by C loops (strip, len, one scan of all the values for
    forbidden characters) instead of a Python loop per value; anything else takes the
    per-value path, which raises the same error for the same first bad column. The caller has
    checked that every key is a known column."""
    try:
        stripped = list(map(str.strip, record.values(), repeat(_SPACE)))
    except TypeError:  # None (a short CSV row), a number or a list (JSON): one at a time
        pass
    else:
        too_long = any(map(gt, map(len, stripped), map(COLUMN_MAX_LENGTH.__getitem__, record)))
        if not too_long and not _FORBIDDEN.search("".join(stripped)):
            values = _EMPTY_VALUES.copy()
            values.update(zip(record, stripped, strict=True))
            return values
    return {key: _text(record, key) for key in ALL_COLUMNS}


@lru_cache(maxsize=8192)
def _parse_day(value: str) -> dt.date | None:
    """A date of the accepted shapes (parse_day), remembered: a file repeats the same few
    thousand dates (births, shipments)."""
    return parse_day(value) if _DATE_SHAPE.fullmatch(value) else None


# A file names the same few prescribers again and again: each NPI's check digit is computed once.
_valid_npi = lru_cache(maxsize=8192)(is_valid_npi)


@lru_cache(maxsize=65536)
def _parse_date(
    value: str, key: str, *, required: bool = False, latest: dt.date = LATEST_DATE
) -> dt.date | None:
    """A date from already clean text (see _text): ISO or US, within a sane range (remembered:
    a RowError is raised again each time, only results are kept)."""
    if not value:
        if required:
            raise RowError(f"{key} is required.")
        return None
    day = _parse_day(value)
    if day is None:
        raise RowError(f"{key} '{value}' is not a date (use YYYY-MM-DD).")
    if not EARLIEST_DATE <= day <= latest:
        raise RowError(
            f"{key} '{value}' is out of range ({EARLIEST_DATE.isoformat()} to {latest.isoformat()})."
        )
    return day


@lru_cache(maxsize=4096)
def _whole_number(value: str, key: str) -> int | None:
    if not value:
        return None
    # str.isdigit() accepts "²" and "٣"; a count in a pharmacy file is written with 0-9.
    if not _ASCII_DIGITS.fullmatch(value):
        raise RowError(f"{key} '{value}' is not a whole number (digits 0-9 only).")
    return int(value)


@dataclass(slots=True)
class CleanRow:
    row: int
    patient: dict[str, Any]
    patient_key: str
    rx: dict[str, Any]
    rx_key: str
    npi: str
    pharmacy_code: str
    status_at: dt.datetime | None
    pharmacy_id: int = 0  # set by Importer._resolve


def clean_record(row: int, record: Any, *, today: dt.date | None = None) -> CleanRow:
    """Validate one record completely, or raise RowError with a message for the report.

    Whatever passes here can be written as is: the database is never the validator. `today`
    (the local date, for the latest birth and status dates) may be given by a caller that
    validates many records.
    """
    if isinstance(record, BadRow):
        raise RowError(record.message)
    if not isinstance(record, dict):
        raise RowError(f"Each record must be an object, not {_json_type(record)}.")
    if not _COLUMNS.issuperset(record):
        unknown = [k for k in record if k not in COLUMN_MAX_LENGTH]
        shown = ", ".join(repr(k)[:40] if isinstance(k, str) else "?" for k in unknown[:5])
        raise RowError(f"Unknown fields: {shown}.")
    # Every field's type, length and characters first, so messages below may quote values.
    values = _texts(record)
    if not all(map(values.__getitem__, REQUIRED_COLUMNS)):
        missing = [c for c in REQUIRED_COLUMNS if not values[c]]
        raise RowError("Missing value for " + ", ".join(missing) + ".")
    npi = values["prescriber_npi"]
    if not _valid_npi(npi):
        raise RowError(f"prescriber_npi '{npi}' is not a valid NPI.")
    status = _STATUS_LOOKUP.get(values["status"].lower())
    if status is None:
        raise RowError(f"status '{values['status']}' is not a known status.")
    sex = _SEX_LOOKUP.get(values["patient_sex"].lower())
    if sex is None:
        raise RowError(f"patient_sex '{values['patient_sex']}' is not F, M, X or U.")
    email = values["patient_email"]
    if email:
        try:
            validate_email(email)
        except ValidationError:
            raise RowError(f"patient_email '{email}' is not an email address.") from None
    phone = values["patient_phone"] and _PHONE_PUNCTUATION.sub("", values["patient_phone"])
    if phone and not (_ASCII_DIGITS.fullmatch(phone) and len(phone) <= 20):
        raise RowError(f"patient_phone '{values['patient_phone']}' is not a phone number.")
    state = values["patient_state"]
    if state and state.upper() not in US_STATES:
        raise RowError(f"patient_state '{state}' is not a US state code (PA, NY, …).")
    zip_code = values["patient_zip"]
    if zip_code and not _ZIP.fullmatch(zip_code):
        raise RowError(f"patient_zip '{zip_code}' is not a ZIP code (12345 or 12345-6789).")
    refills = _whole_number(values["refills_remaining"], "refills_remaining")
    today = today or timezone.localdate()
    dob = _parse_date(values["patient_dob"], "patient_dob", required=True, latest=today)
    assert dob is not None
    # A status is reported when it happens; a day of slack for the sender's time zone.
    status_date = _parse_date(
        values["status_date"], "status_date", latest=today + dt.timedelta(days=1)
    )
    return CleanRow(
        row=row,
        patient_key=values["patient_id"],
        patient={
            "first_name": values["patient_first_name"],
            "last_name": values["patient_last_name"],
            "date_of_birth": dob,
            "sex": sex,
            "phone": phone,
            "email": email,
            "address_line1": values["patient_address"],
            "city": values["patient_city"],
            "state": state.upper(),
            "zip_code": zip_code,
        },
        rx_key=values["rx_id"],
        rx={
            "rx_number": values["rx_number"],
            "medication_name": values["medication_name"],
            "strength": values["strength"],
            "dosage_form": values["form"],
            "status": status,
            "last_shipped": _parse_date(values["last_shipped"], "last_shipped"),
            "next_fill": _parse_date(values["next_fill"], "next_fill"),
            "priority": values["priority"],
            "refills_remaining": refills,
            "written_date": _parse_date(values["written_date"], "written_date"),
        },
        npi=npi,
        pharmacy_code=values["pharmacy"],
        status_at=_noon(status_date) if status_date else None,
    )


@lru_cache(maxsize=4096)
def _noon(day: dt.date) -> dt.datetime:
    """When a status reported for `day` happened: its noon, local time."""
    return timezone.make_aware(dt.datetime.combine(day, dt.time(12)))


def _cleaned(
    records: Iterable[tuple[int, Any]], today: dt.date
) -> Iterator[tuple[int, CleanRow | str]]:
    """Each record through clean_record: the clean row, or the message of its error."""
    for row, record in records:
        try:
            yield row, clean_record(row, record, today=today)
        except RowError as exc:
            yield row, str(exc)


# The CSV fast path -----------------------------------------------------------------------------
#
# clean_record takes a record at a time: ~20 µs of Python per row. A CSV file's rows all have
# the same columns, so CsvCleaner takes a batch of rows a column at a time instead: each
# column's values stripped, measured and scanned for forbidden characters by C loops, and each
# value that must be parsed or looked up (dates, statuses, NPIs, …) converted once per distinct
# value (a file repeats the same few statuses, prescribers and dates). It only ever vouches for
# a row that passes every check: a row with anything doubtful in any column (too long, a
# control character, a missing, unknown or malformed value, a short or long row) is handed to
# clean_record whole, which accepts or refuses it with its own message, so what is accepted,
# refused and reported is clean_record's by construction (tests/prescriptions/
# test_import_fast.py compares the two on tricky files).

_BAD = object()  # the fast path does not vouch for this value: its row goes to clean_record
_MEMO_MAX = 65536  # distinct values remembered per column (then forgotten: memory stays flat)


class _Memo(dict[str, Any]):
    """A column's converted values by raw (stripped) value, each computed once; a value the
    conversion refuses maps to _BAD."""

    def __init__(self, convert: Callable[[str], Any]) -> None:
        super().__init__()
        self.convert = convert

    def __missing__(self, value: str) -> Any:
        if len(self) >= _MEMO_MAX:
            self.clear()
        try:
            result = self.convert(value)
        except RowError:
            result = _BAD
        self[value] = result
        return result


def _check(test: Callable[[str], Any]) -> Callable[[str], Any]:
    """A conversion keeping the value as it is when `test` passes (else _BAD)."""
    return lambda value: value if test(value) else _BAD


def _phone(value: str) -> Any:
    phone = value and _PHONE_PUNCTUATION.sub("", value)
    return phone if not phone or (_ASCII_DIGITS.fullmatch(phone) and len(phone) <= 20) else _BAD


def _email(value: str) -> Any:
    if value:
        try:
            validate_email(value)
        except ValidationError:
            return _BAD
    return value


def _state(value: str) -> Any:
    upper = value.upper()
    return upper if not value or upper in US_STATES else _BAD


def _converters(today: dt.date) -> dict[str, Callable[[str], Any]]:
    """The columns clean_record parses or looks up, as one-value conversions giving the same
    values (or _BAD where clean_record raises)."""

    def status_at(value: str) -> dt.datetime | None:
        day = _parse_date(value, "status_date", latest=today + dt.timedelta(days=1))
        return _noon(day) if day else None

    return {
        "patient_dob": partial(_parse_date, key="patient_dob", required=True, latest=today),
        "status": lambda value: _STATUS_LOOKUP.get(value.lower(), _BAD),
        "prescriber_npi": _check(lambda value: value and _valid_npi(value)),
        "patient_sex": lambda value: _SEX_LOOKUP.get(value.lower(), _BAD),
        "patient_email": _email,
        "patient_phone": _phone,
        "patient_state": _state,
        "patient_zip": _check(lambda value: not value or _ZIP.fullmatch(value)),
        "refills_remaining": partial(_whole_number, key="refills_remaining"),
        "last_shipped": partial(_parse_date, key="last_shipped"),
        "next_fill": partial(_parse_date, key="next_fill"),
        "written_date": partial(_parse_date, key="written_date"),
        "status_date": status_at,
    }


# CleanRow's values in the order CsvCleaner zips them.
_FAST_ORDER = [
    "patient_id", "patient_first_name", "patient_last_name", "patient_dob", "patient_sex",
    "patient_phone", "patient_email", "patient_address", "patient_city", "patient_state",
    "patient_zip", "rx_id", "rx_number", "medication_name", "strength", "form", "status",
    "last_shipped", "next_fill", "priority", "refills_remaining", "written_date",
    "prescriber_npi", "pharmacy", "status_date",
]  # fmt: skip
assert sorted(_FAST_ORDER) == sorted(ALL_COLUMNS)


class CsvCleaner:
    """clean_record for the rows of one CSV file (its checked header), a batch at a time."""

    def __init__(self, header: list[str], today: dt.date) -> None:
        self.header = header
        self.width = len(header)
        self.today = today
        converters = _converters(today)
        self.memos = {name: _Memo(converters[name]) for name in header if name in converters}
        # A column the file does not have is "" in every record.
        self.absent = {
            name: converters[name]("") if name in converters else ""
            for name in ALL_COLUMNS
            if name not in header
        }
        assert _BAD not in self.absent.values()  # the required columns are in the header

    def read(
        self, reader: csv.DictReader[str], first: tuple[int, Any]
    ) -> Iterator[tuple[int, CleanRow | str]]:
        """(row, CleanRow or the row's error message) for each record of a DictReader whose
        header was read and whose first record `_csv_cells` gave (`first`), in order, read and
        numbered as `_csv_cells` reads and numbers them, BATCH_SIZE lines at a time (by C
        loops: csv.reader, islice, list.extend)."""
        row_number = first[0]
        chunk = [first]
        while True:
            lines: list[list[str]] = []
            failed = None
            try:
                lines.extend(islice(reader.reader, BATCH_SIZE))
            except csv.Error as exc:  # the lines before the broken one are kept by extend
                failed = exc
            cells = [line for line in lines if line]  # an empty line is not counted
            chunk.extend(
                zip(range(row_number + 1, row_number + 1 + len(cells)), cells, strict=True)
            )
            row_number += len(cells)
            yield from self._clean(chunk)
            if failed is not None:
                # The reader cannot go on past a broken line: the file as a whole is refused
                # (and the import's transaction rolls back what earlier batches wrote).
                raise ImportFileError(f"Row {row_number + 1} cannot be read ({failed}).")
            if len(lines) < BATCH_SIZE:
                return
            chunk = []

    def cleaned(self, rows: Iterable[tuple[int, Any]]) -> Iterator[tuple[int, CleanRow | str]]:
        """The same from rows as `_csv_cells` gives them."""
        rows = iter(rows)
        while chunk := list(islice(rows, BATCH_SIZE)):
            yield from self._clean(chunk)

    def _slow(self, row: int, item: Any) -> CleanRow | str | None:
        """A row through clean_record, as `_csv_cells` would have made it a record (None: a
        row of blank cells, which is no record)."""
        if type(item) is list:
            if not "".join(item[: self.width]).strip():
                return None  # blank cells only (Excel leaves these at the end)
            if len(item) > self.width:
                item = BadRow("This row has more cells than the header.")
            else:  # a short row's missing cells are None (DictReader's restval)
                record: dict[str, str | None] = dict.fromkeys(self.header)
                record.update(zip(self.header, item, strict=False))
                item = record
        try:
            return clean_record(row, item, today=self.today)
        except RowError as exc:
            return str(exc)

    def _clean(self, chunk: list[tuple[int, Any]]) -> list[tuple[int, CleanRow | str]]:
        width = self.width
        # Full rows (a list of `width` cells) a column at a time; the rest go the slow way.
        # A row of blank cells has a blank patient_dob (a required column, always there), which
        # is not a date: the fast path never vouches for it.
        full = [i for i, (_, item) in enumerate(chunk) if type(item) is list and len(item) == width]
        results: list[tuple[int, CleanRow | str | None] | None] = [None] * len(chunk)
        if full:
            self._clean_full(chunk, full, results)
        skipped = False
        for i, result in enumerate(results):
            if result is None:
                row, item = chunk[i]
                slow = self._slow(row, item)
                results[i] = (row, slow)
                skipped = skipped or slow is None
        if skipped:
            results = [r for r in results if r and r[1] is not None]
        return results  # type: ignore[return-value]  # every None replaced or dropped

    def _clean_full(
        self,
        chunk: list[tuple[int, Any]],
        full: list[int],
        results: list[tuple[int, CleanRow | str | None] | None],
    ) -> None:
        columns = list(zip(*(chunk[i][1] for i in full), strict=True))
        bad: set[int] = set()  # positions in `full` of rows for clean_record
        values: dict[str, Any] = {}
        plain: dict[str, list[str]] = {}  # stripped (of a repeated column, the last: as a dict)
        for name, column in zip(self.header, columns, strict=True):
            plain[name] = stripped = list(map(str.strip, column, repeat(_SPACE)))
            limit = COLUMN_MAX_LENGTH[name]
            if max(map(len, stripped)) > limit:
                bad.update(j for j, value in enumerate(stripped) if len(value) > limit)
            joined = "".join(stripped)
            # Printable ASCII has none of the forbidden characters (two C scans; else the regex).
            if not (joined.isascii() and joined.isprintable()) and _FORBIDDEN.search(joined):
                bad.update(j for j, value in enumerate(stripped) if _FORBIDDEN.search(value))
            memo = self.memos.get(name)
            if memo is not None:
                converted = list(map(memo.__getitem__, stripped))
                if _BAD in converted:
                    bad.update(j for j, value in enumerate(converted) if value is _BAD)
                values[name] = converted
            else:
                values[name] = stripped
        for name in REQUIRED_COLUMNS:
            given = plain[name]
            if not all(given):
                bad.update(j for j, value in enumerate(given) if not value)
        ordered = [
            values[name] if name in values else repeat(self.absent[name]) for name in _FAST_ORDER
        ]
        for (
            j,
            (
                patient_key,
                first_name,
                last_name,
                dob,
                sex,
                phone,
                email,
                address,
                city,
                state,
                zip_code,
                rx_key,
                rx_number,
                medication,
                strength,
                dosage_form,
                status,
                last_shipped,
                next_fill,
                priority,
                refills,
                written_date,
                npi,
                pharmacy_code,
                status_at,
            ),
        ) in enumerate(zip(*ordered, strict=False)):  # fmt: skip (repeat() for absent columns)
            if j in bad:
                continue
            row = chunk[full[j]][0]
            results[full[j]] = (
                row,
                CleanRow(
                    row=row,
                    patient_key=patient_key,
                    patient={
                        "first_name": first_name,
                        "last_name": last_name,
                        "date_of_birth": dob,
                        "sex": sex,
                        "phone": phone,
                        "email": email,
                        "address_line1": address,
                        "city": city,
                        "state": state,
                        "zip_code": zip_code,
                    },
                    rx_key=rx_key,
                    rx={
                        "rx_number": rx_number,
                        "medication_name": medication,
                        "strength": strength,
                        "dosage_form": dosage_form,
                        "status": status,
                        "last_shipped": last_shipped,
                        "next_fill": next_fill,
                        "priority": priority,
                        "refills_remaining": refills,
                        "written_date": written_date,
                    },
                    npi=npi,
                    pharmacy_code=pharmacy_code,
                    status_at=status_at,
                ),
            )


def _keyed(field_name: str, keys: Iterable[tuple[int, str]]) -> Q:
    """A filter matching (pharmacy_id, external id) pairs: one IN list per pharmacy."""
    by_pharmacy: dict[int, list[str]] = defaultdict(list)
    for pharmacy_id, key in keys:
        by_pharmacy[pharmacy_id].append(key)
    query = Q(pk__in=[])
    for pharmacy_id, ids in by_pharmacy.items():
        query |= Q(pharmacy_id=pharmacy_id, **{f"{field_name}__in": ids})
    return query


class Importer:
    """Runs batches of records through validation and a bulk upsert, in one transaction."""

    def __init__(self, *, pharmacy: Pharmacy | None = None) -> None:
        # A fixed pharmacy (the ingest token's, the command's --pharmacy) is the only one this
        # import may write: a record naming another pharmacy is refused.
        self.fixed_pharmacy = pharmacy
        self.result = ImportResult()
        self._prescribers: dict[str, int | None] = {}
        self._pharmacies: dict[str, int | None] = {}
        self._seen_rx: set[tuple[int, str]] = set()
        self._default_pharmacy_id: int | None = pharmacy.pk if pharmacy else None
        self._batch_rows = (0, 0)

    def run(self, records: Iterable[tuple[int, Any]]) -> ImportResult:
        """Import every record; raise ImportAborted (nothing written) if the database fails."""
        return self._run_cleaned(partial(_cleaned, records))

    def run_csv(
        self, reader: csv.DictReader[str], header: list[str], first: tuple[int, Any]
    ) -> ImportResult:
        """Import the rows of a CSV file whose `header` was read and checked and whose first
        record `_csv_cells` gave: the same results as `run` on the records `_csv_rows` makes
        of them, read and validated a batch's column at a time (see CsvCleaner)."""
        return self._run_cleaned(lambda today: CsvCleaner(header, today).read(reader, first))

    def _run_cleaned(
        self, clean: Callable[[dt.date], Iterator[tuple[int, CleanRow | str]]]
    ) -> ImportResult:
        try:
            with transaction.atomic():
                self._run(clean(timezone.localdate()))
        except IntegrityError:
            first, last = self._batch_rows
            raise ImportAborted(
                f"another import changed the same records while rows {first}-{last} were "
                "written; run it again.",
                retry=True,
            ) from None
        except DatabaseError as exc:
            first, last = self._batch_rows
            raise ImportAborted(
                f"the database refused rows {first}-{last} ({type(exc).__name__}).",
                retry=False,
            ) from None
        return self.result

    def _run(self, cleaned: Iterable[tuple[int, CleanRow | str]]) -> None:
        batch: list[CleanRow] = []
        for row, clean in cleaned:
            if isinstance(clean, str):  # the row's error
                self.result.add_error(row, clean)
                continue
            batch.append(clean)
            if len(batch) >= BATCH_SIZE:
                self._write(batch)
                batch = []
        if batch:
            self._write(batch)

    def _resolve(self, batch: list[CleanRow]) -> list[CleanRow]:
        """Look up prescribers and pharmacies (cached across batches); drop rows that fail."""
        npis = {c.npi for c in batch} - self._prescribers.keys()
        if npis:
            found = dict(Prescriber.objects.filter(npi__in=npis).values_list("npi", "pk"))
            self._prescribers.update({n: found.get(n) for n in npis})
        codes = {c.pharmacy_code for c in batch if c.pharmacy_code} - self._pharmacies.keys()
        if codes:
            found = dict(Pharmacy.objects.filter(code__in=codes).values_list("code", "pk"))
            self._pharmacies.update({c: found.get(c) for c in codes})
        if self._default_pharmacy_id is None:
            only = list(Pharmacy.objects.values_list("pk", flat=True)[:2])
            self._default_pharmacy_id = only[0] if len(only) == 1 else 0
        good = []
        prescribers, pharmacies, seen = self._prescribers, self._pharmacies, self._seen_rx
        fixed = self.fixed_pharmacy
        for c in batch:
            prescriber_id = prescribers.get(c.npi)
            if prescriber_id is None:
                self.result.add_error(
                    c.row, f"prescriber_npi {c.npi} is not in the prescriber directory."
                )
                continue
            if c.pharmacy_code:
                pharmacy_id = pharmacies.get(c.pharmacy_code)
                if pharmacy_id is None:
                    self.result.add_error(
                        c.row, f"pharmacy '{c.pharmacy_code}' is not a known pharmacy."
                    )
                    continue
                if fixed and pharmacy_id != fixed.pk:
                    self.result.add_error(
                        c.row,
                        f"pharmacy '{c.pharmacy_code}' does not match this import's pharmacy "
                        f"('{fixed.code}').",
                    )
                    continue
            else:
                pharmacy_id = self._default_pharmacy_id
                if not pharmacy_id:
                    self.result.add_error(
                        c.row, "pharmacy is required (several pharmacies exist): name it."
                    )
                    continue
            # Keyed by pharmacy: two pharmacies may both send an "RX1".
            key = (pharmacy_id, c.rx_key)
            if key in seen:
                self.result.add_error(
                    c.row, f"rx_id '{c.rx_key}' appears more than once in this import."
                )
                continue
            seen.add(key)
            c.pharmacy_id = pharmacy_id
            c.rx["prescriber_id"] = prescriber_id
            good.append(c)
        return good

    def _write(self, batch: list[CleanRow]) -> None:
        self._batch_rows = (batch[0].row, batch[-1].row)
        batch = self._resolve(batch)
        if not batch:
            return
        if connection.vendor == "postgresql":
            with transaction.atomic(), connection.cursor() as cursor:
                self._stage_batch(cursor, batch)
                self._upsert_patients(batch)
                self._upsert_prescriptions_staged(cursor, len(batch))
            return
        now = timezone.now()
        status_events: list[tuple[int, str, str]] = []
        with transaction.atomic():
            patients = self._upsert_patients(batch)
            existing = {
                (p.pharmacy_id, p.pharmacy_rx_id): p
                for p in Prescription.objects.filter(
                    _keyed("pharmacy_rx_id", ((c.pharmacy_id, c.rx_key) for c in batch))
                )
            }
            to_create: list[Prescription] = []
            to_update: list[Prescription] = []
            changes: list[StatusChange] = []
            for c in batch:
                values = {**c.rx, "patient_id": patients[(c.pharmacy_id, c.patient_key)]}
                current = existing.get((c.pharmacy_id, c.rx_key))
                if current is None:
                    to_create.append(
                        Prescription(
                            pharmacy_id=c.pharmacy_id,
                            pharmacy_rx_id=c.rx_key,
                            status_changed_at=c.status_at or now,
                            created_at=now,
                            updated_at=now,
                            **values,
                        )
                    )
                    continue
                diff = {k: v for k, v in values.items() if getattr(current, k) != v}
                if not diff:
                    self.result.unchanged += 1
                    continue
                if "status" in diff:
                    changes.append(
                        StatusChange(
                            prescription=current,
                            from_status=current.status,
                            to_status=diff["status"],
                            changed_at=c.status_at or now,
                        )
                    )
                    status_events.append((current.pk, current.status, diff["status"]))
                    current.status_changed_at = c.status_at or now
                for k, v in diff.items():
                    setattr(current, k, v)
                current.updated_at = now
                to_update.append(current)
            created = Prescription.objects.bulk_create(to_create, batch_size=500)
            # The first status of a new prescription starts its timeline.
            changes.extend(
                StatusChange(
                    prescription=p,
                    from_status="",
                    to_status=p.status,
                    changed_at=p.status_changed_at,
                )
                for p in created
                if p.pk
            )
            if not all(p.pk for p in created):  # backends without RETURNING
                keys = [(p.pharmacy_id, p.pharmacy_rx_id) for p in created]
                for p in Prescription.objects.filter(_keyed("pharmacy_rx_id", keys)):
                    changes.append(
                        StatusChange(
                            prescription=p,
                            from_status="",
                            to_status=p.status,
                            changed_at=p.status_changed_at,
                        )
                    )
            if to_update:
                Prescription.objects.bulk_update(
                    to_update, [*_RX_FIELDS, "status_changed_at", "updated_at"], batch_size=500
                )
            StatusChange.objects.bulk_create(changes, batch_size=1000)
            self.result.created += len(to_create)
            self.result.updated += len(to_update)
            self.result.status_changes += len(status_events)
            if status_events:
                # Inside run()'s transaction: sent once, when the whole import commits.
                transaction.on_commit(
                    partial(
                        prescription_status_changed.send, sender=Prescription, changes=status_events
                    )
                )

    def _upsert_patients(self, batch: list[CleanRow]) -> dict[tuple[int, str], int]:
        """Create or update the batch's patients; their ids by (pharmacy, patient_id).

        On PostgreSQL the batch is already staged (see _stage_batch): one statement writes the
        patients, and the prescriptions' statement joins their ids itself (an empty dict back).
        """
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                self._upsert_patients_staged(cursor)
            return {}
        latest: dict[tuple[int, str], dict[str, Any]] = {}
        for c in batch:
            latest[(c.pharmacy_id, c.patient_key)] = c.patient  # the last row of a patient wins
        existing = {
            (p.pharmacy_id, p.pharmacy_patient_id): p
            for p in Patient.objects.filter(_keyed("pharmacy_patient_id", latest))
        }
        new = [
            Patient(pharmacy_id=key[0], pharmacy_patient_id=key[1], **v)
            for key, v in latest.items()
            if key not in existing
        ]
        changed = []
        for key, values in latest.items():
            patient = existing.get(key)
            if patient and any(getattr(patient, f) != v for f, v in values.items()):
                for f, v in values.items():
                    setattr(patient, f, v)
                changed.append(patient)
        if new:
            Patient.objects.bulk_create(new, batch_size=500)
            if not all(p.pk for p in new):
                ids = {
                    (pharmacy_id, key): pk
                    for pharmacy_id, key, pk in Patient.objects.filter(
                        _keyed("pharmacy_patient_id", [k for k in latest if k not in existing])
                    ).values_list("pharmacy_id", "pharmacy_patient_id", "pk")
                }
                for p in new:
                    p.pk = ids[(p.pharmacy_id, p.pharmacy_patient_id)]
        if changed:
            Patient.objects.bulk_update(changed, _PATIENT_FIELDS, batch_size=500)
        self.result.patients_created += len(new)
        self.result.patients_updated += len(changed)
        return {k: p.pk for k, p in existing.items()} | {
            (p.pharmacy_id, p.pharmacy_patient_id): p.pk for p in new
        }

    # PostgreSQL: COPY into a staging table and set-based upserts ---------------------------
    #
    # The same decisions as the ORM path above, taken by the database in three statements per
    # batch instead of a model instance (or a lookup) per row: the validated, resolved rows go
    # to a temporary staging table with psycopg 3's COPY; one INSERT … ON CONFLICT DO UPDATE
    # writes the batch's patients (the last row of a patient wins), and one more writes its
    # prescriptions and their status changes. Both only touch rows whose values differ
    # (IS DISTINCT FROM, so NULLs compare as values): an unchanged row is neither written nor
    # locked, nor does it take an id from the sequence, and a re-import of an unchanged file
    # costs its validation, its COPY and two joins. The staging table lives until the
    # import's transaction ends (ON COMMIT DROP); the run's single transaction still holds
    # every batch, so a failure anywhere leaves nothing written.

    def _stage_batch(self, cursor: Any, batch: list[CleanRow]) -> None:
        """COPY the batch's rows into the (emptied) staging table."""
        cursor.execute(_STAGE_CREATE)
        cursor.execute(f"TRUNCATE {_STAGE}")
        patient_values = operator.itemgetter(*_PATIENT_FIELDS)
        rx_values = operator.itemgetter(*_STAGED_RX_FIELDS)
        with connection.wrap_database_errors, cursor.copy(_STAGE_COPY) as copy:
            for c in batch:
                copy.write_row(
                    (
                        c.row,
                        c.pharmacy_id,
                        c.patient_key,
                        *patient_values(c.patient),
                        c.rx_key,
                        *rx_values(c.rx),
                        c.status_at,
                    )
                )
        # Row counts for the planner: without them it guesses the size of a temporary table.
        cursor.execute(f"ANALYZE {_STAGE}")

    def _upsert_patients_staged(self, cursor: Any) -> None:
        cursor.execute(_PATIENT_UPSERT, {"now": timezone.now()})
        created, updated = cursor.fetchone()
        self.result.patients_created += created
        self.result.patients_updated += updated

    def _upsert_prescriptions_staged(self, cursor: Any, staged: int) -> None:
        cursor.execute(_PRESCRIPTION_UPSERT, {"now": timezone.now()})
        created, updated, ids, from_statuses, to_statuses = cursor.fetchone()
        status_events = list(zip(ids or [], from_statuses or [], to_statuses or [], strict=True))
        self.result.created += created
        self.result.updated += updated
        self.result.unchanged += staged - created - updated
        self.result.status_changes += len(status_events)
        if status_events:
            # Inside run()'s transaction: sent once, when the whole import commits.
            transaction.on_commit(
                partial(
                    prescription_status_changed.send, sender=Prescription, changes=status_events
                )
            )


# File readers -------------------------------------------------------------------------------


def _check_utf8(binary: IO[bytes]) -> None:
    """Fail on a non-UTF-8 file before anything is written (streaming, constant memory)."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    offset = 0
    try:
        while chunk := binary.read(1 << 20):
            decoder.decode(chunk)
            offset += len(chunk)
        decoder.decode(b"", final=True)
    except UnicodeDecodeError as exc:
        raise ImportFileError(
            f"The file is not UTF-8 text (invalid byte near position {offset + exc.start}). "
            "Save it as UTF-8 and try again."
        ) from None
    binary.seek(0)


def _csv_header(binary: IO[bytes]) -> tuple[csv.DictReader[str], list[str]]:
    _check_utf8(binary)
    text = io.TextIOWrapper(binary, encoding="utf-8-sig", newline="")
    reader = csv.DictReader(text)
    try:
        header = [h.strip() for h in (reader.fieldnames or [])]
    except csv.Error as exc:
        raise ImportFileError(f"The header row cannot be read ({exc}).") from None
    if not header:
        raise ImportFileError("The file is empty: expected a header row and data rows.")
    missing = [c for c in REQUIRED_COLUMNS if c not in header]
    if missing:
        raise ImportFileError("Missing required columns: " + ", ".join(missing) + ".")
    unknown = [h for h in header if h not in ALL_COLUMNS]
    if unknown:
        shown = ", ".join(repr(h)[1:-1][:40] for h in unknown[:5])
        raise ImportFileError("Unknown columns: " + shown + ".")
    reader.fieldnames = header
    return reader, header


def _csv_cells(reader: csv.DictReader[str]) -> Iterator[tuple[int, Any]]:
    """The records of a DictReader whose header was read, numbered by row of the file as the
    DictReader counts them (a record is a row; empty lines are not counted), from its
    underlying csv.reader: a row of as many cells as the header is its list of cells (what
    DictReader would zip with the header), a shorter one its record (the missing cells None,
    DictReader's restval), a longer one a BadRow."""
    width = len(reader.fieldnames or [])
    row_number = 1
    try:
        for cells in reader.reader:
            if not cells:
                continue  # an empty line: DictReader skips it without counting it
            row_number += 1
            if len(cells) == width:
                if not "".join(cells).strip():
                    continue  # blank cells only (Excel leaves these at the end)
                yield row_number, cells
                continue
            if not "".join(cells[:width]).strip():
                continue
            if len(cells) > width:
                yield row_number, BadRow("This row has more cells than the header.")
                continue
            record: dict[str, str | None] = dict.fromkeys(reader.fieldnames or [])
            record.update(zip(reader.fieldnames or [], cells, strict=False))
            yield row_number, record
    except csv.Error as exc:
        # The reader cannot go on past a broken line: the file as a whole is refused (and the
        # import's transaction rolls back what earlier batches wrote).
        raise ImportFileError(f"Row {row_number + 1} cannot be read ({exc}).") from None


def _csv_rows(reader: csv.DictReader[str]) -> Iterator[tuple[int, Any]]:
    """The records of a DictReader whose header was read (see _csv_cells), each as a dict."""
    header = list(reader.fieldnames or [])
    for row_number, item in _csv_cells(reader):
        yield row_number, dict(zip(header, item, strict=True)) if type(item) is list else item


def iter_csv(binary: IO[bytes]) -> Iterator[tuple[int, Any]]:
    reader, _ = _csv_header(binary)
    yield from _csv_rows(reader)


def load_json(source: IO[bytes] | bytes, *, what: str = "The file") -> Any:
    """Parse a JSON document; any failure (syntax, encoding, depth, size) is an ImportFileError."""
    try:
        if isinstance(source, bytes):
            return json.loads(source)
        _check_utf8(source)
        return json.load(io.TextIOWrapper(source, encoding="utf-8-sig"))
    except json.JSONDecodeError as exc:
        detail = f"{exc.msg}, line {exc.lineno}"
    except UnicodeDecodeError:
        detail = "the text is not UTF-8"
    except ValueError as exc:  # an integer of more than 4,300 digits
        detail = str(exc)
    except RecursionError:
        detail = "nested too deeply"
    raise ImportFileError(f"{what} is not valid JSON ({detail}).")


def iter_json(binary: IO[bytes]) -> Iterator[tuple[int, Any]]:
    yield from iter_records(load_json(binary))


def iter_records(data: Any) -> Iterator[tuple[int, Any]]:
    if isinstance(data, dict) and "records" in data:
        data = data["records"]
    if not isinstance(data, list):
        raise ImportFileError('Expected a list of records (or {"records": [...]}).')
    if not data:
        raise ImportFileError("The file contains no records.")
    yield from enumerate(data, start=1)


def _several_pharmacies() -> bool:
    return Pharmacy.objects.count() > 1


AMBIGUOUS_PHARMACY = (
    "Several pharmacies exist and the file does not say whose records these are: "
    "name the pharmacy (--pharmacy CODE) or add a pharmacy column."
)


def import_file(path: str, *, pharmacy: Pharmacy | None = None) -> ImportResult:
    """Import a .csv or .json file of prescription records.

    Without a fixed pharmacy, the rows must name theirs when several pharmacies exist: a file
    with no pharmacy column (or JSON records with no pharmacy field) is refused as a whole.
    """
    with open(path, "rb") as binary:
        if path.lower().endswith(".json"):
            records = list(iter_json(binary))  # JSON is parsed whole; validate shape first
            named = any(isinstance(r, dict) and r.get("pharmacy") for _, r in records)
            if pharmacy is None and not named and _several_pharmacies():
                raise ImportFileError(AMBIGUOUS_PHARMACY)
            return Importer(pharmacy=pharmacy).run(records)
        reader, header = _csv_header(binary)
        if pharmacy is None and "pharmacy" not in header and _several_pharmacies():
            raise ImportFileError(AMBIGUOUS_PHARMACY)
        rows = _csv_cells(reader)
        first = next(rows, None)
        if first is None:
            raise ImportFileError("The file has a header but no data rows.")
        return Importer(pharmacy=pharmacy).run_csv(reader, header, first)
