"""Upsert patients and prescriptions from the pharmacy's records (CSV/JSON files, ingest API).

Records are keyed by the pharmacy's ids (`patient_id`, `rx_id`): importing the same data twice
changes nothing. Each record is validated in full before anything is written, so a bad record is
reported and skipped, never half-written. Work is done in batches with a handful of queries each,
so memory stays flat and 100,000 rows take seconds.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import io
import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import IO, Any

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
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
BATCH_SIZE = 2000
MAX_ERRORS_KEPT = 1000

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
_RX_FIELDS = [
    "rx_number",
    "patient_id",
    "prescriber_id",
    "pharmacy_id",
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


class ImportFileError(Exception):
    """The file as a whole cannot be imported (nothing was changed)."""


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


def _parse_date(value: str, column: str, *, required: bool = False) -> dt.date | None:
    value = (value or "").strip()
    if not value:
        if required:
            raise RowError(f"{column} is required.")
        return None
    day = parse_day(value)
    if day:
        return day
    raise RowError(f"{column} '{value}' is not a date (use YYYY-MM-DD).")


def _text(record: dict[str, Any], key: str, max_length: int) -> str:
    value = record.get(key)
    value = "" if value is None else str(value).strip()
    if len(value) > max_length:
        raise RowError(f"{key} is longer than {max_length} characters.")
    return value


@dataclass
class CleanRow:
    row: int
    patient: dict[str, Any]
    patient_key: str
    rx: dict[str, Any]
    rx_key: str
    npi: str
    pharmacy_code: str
    status_at: dt.datetime | None


def clean_record(row: int, record: dict[str, Any]) -> CleanRow:
    """Validate one record completely, or raise RowError with a message for the report."""
    if not isinstance(record, dict):
        raise RowError("Each record must be an object.")
    if "__error__" in record:
        raise RowError(record["__error__"])
    missing = [c for c in REQUIRED_COLUMNS if not str(record.get(c) or "").strip()]
    if missing:
        raise RowError("Missing value for " + ", ".join(missing) + ".")
    npi = _text(record, "prescriber_npi", 10)
    if not is_valid_npi(npi):
        raise RowError(f"prescriber_npi '{npi}' is not a valid NPI.")
    status = _STATUS_LOOKUP.get(_text(record, "status", 60).lower())
    if status is None:
        raise RowError(f"status '{record.get('status')}' is not a known status.")
    sex = _SEX_LOOKUP.get(_text(record, "patient_sex", 10).lower())
    if sex is None:
        raise RowError(f"patient_sex '{record.get('patient_sex')}' is not F, M, X or U.")
    email = _text(record, "patient_email", 254)
    if email:
        try:
            validate_email(email)
        except ValidationError:
            raise RowError(f"patient_email '{email}' is not an email address.") from None
    phone = re.sub(r"[^0-9]", "", _text(record, "patient_phone", 30))
    refills_raw = _text(record, "refills_remaining", 6)
    refills = None
    if refills_raw:
        if not refills_raw.isdigit():
            raise RowError(f"refills_remaining '{refills_raw}' is not a whole number.")
        refills = int(refills_raw)
    status_date = _parse_date(_text(record, "status_date", 20), "status_date")
    dob = _parse_date(_text(record, "patient_dob", 20), "patient_dob", required=True)
    assert dob is not None
    if dob > timezone.localdate():
        raise RowError("patient_dob is in the future.")
    return CleanRow(
        row=row,
        patient_key=_text(record, "patient_id", 64),
        patient={
            "first_name": _text(record, "patient_first_name", 100),
            "last_name": _text(record, "patient_last_name", 100),
            "date_of_birth": dob,
            "sex": sex,
            "phone": phone[:20],
            "email": email,
            "address_line1": _text(record, "patient_address", 200),
            "city": _text(record, "patient_city", 100),
            "state": _text(record, "patient_state", 2).upper(),
            "zip_code": _text(record, "patient_zip", 10),
        },
        rx_key=_text(record, "rx_id", 64),
        rx={
            "rx_number": _text(record, "rx_number", 32),
            "medication_name": _text(record, "medication_name", 200),
            "strength": _text(record, "strength", 100),
            "dosage_form": _text(record, "form", 100),
            "status": status,
            "last_shipped": _parse_date(_text(record, "last_shipped", 20), "last_shipped"),
            "next_fill": _parse_date(_text(record, "next_fill", 20), "next_fill"),
            "priority": _text(record, "priority", 40),
            "refills_remaining": refills,
            "written_date": _parse_date(_text(record, "written_date", 20), "written_date"),
        },
        npi=npi,
        pharmacy_code=_text(record, "pharmacy", 30),
        status_at=(
            timezone.make_aware(dt.datetime.combine(status_date, dt.time(12)))
            if status_date
            else None
        ),
    )


class Importer:
    """Runs batches of records through validation and a bulk upsert."""

    def __init__(self, *, pharmacy: Pharmacy | None = None) -> None:
        # A fixed pharmacy (the ingest token's) overrides and constrains the `pharmacy` column.
        self.fixed_pharmacy = pharmacy
        self.result = ImportResult()
        self._prescribers: dict[str, int | None] = {}
        self._pharmacies: dict[str, int | None] = {}
        self._seen_rx: set[str] = set()
        self._default_pharmacy_id: int | None = pharmacy.pk if pharmacy else None

    def run(self, records: Iterable[tuple[int, dict[str, Any]]]) -> ImportResult:
        batch: list[CleanRow] = []
        for row, record in records:
            try:
                clean = clean_record(row, record)
                self._check_duplicate(clean)
            except RowError as exc:
                self.result.add_error(row, str(exc))
                continue
            batch.append(clean)
            if len(batch) >= BATCH_SIZE:
                self._write(batch)
                batch = []
        if batch:
            self._write(batch)
        return self.result

    def _check_duplicate(self, clean: CleanRow) -> None:
        if clean.rx_key in self._seen_rx:
            raise RowError(f"rx_id '{clean.rx_key}' appears more than once in this file.")
        self._seen_rx.add(clean.rx_key)

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
        for c in batch:
            if self._prescribers.get(c.npi) is None:
                self.result.add_error(
                    c.row, f"prescriber_npi {c.npi} is not in the prescriber directory."
                )
                continue
            if c.pharmacy_code:
                pharmacy_id = self._pharmacies.get(c.pharmacy_code)
                if pharmacy_id is None:
                    self.result.add_error(
                        c.row, f"pharmacy '{c.pharmacy_code}' is not a known pharmacy."
                    )
                    continue
                if self.fixed_pharmacy and pharmacy_id != self.fixed_pharmacy.pk:
                    self.result.add_error(
                        c.row, "pharmacy does not match this ingest token's pharmacy."
                    )
                    continue
            else:
                pharmacy_id = self._default_pharmacy_id
                if not pharmacy_id:
                    self.result.add_error(c.row, "pharmacy is required (several pharmacies exist).")
                    continue
            c.rx["prescriber_id"] = self._prescribers[c.npi]
            c.rx["pharmacy_id"] = pharmacy_id
            good.append(c)
        return good

    def _write(self, batch: list[CleanRow]) -> None:
        batch = self._resolve(batch)
        if not batch:
            return
        now = timezone.now()
        status_events: list[tuple[int, str, str]] = []
        with transaction.atomic():
            patients = self._upsert_patients(batch)
            existing = {
                p.pharmacy_rx_id: p
                for p in Prescription.objects.filter(pharmacy_rx_id__in=[c.rx_key for c in batch])
            }
            to_create: list[Prescription] = []
            to_update: list[Prescription] = []
            changes: list[StatusChange] = []
            for c in batch:
                values = {**c.rx, "patient_id": patients[c.patient_key]}
                current = existing.get(c.rx_key)
                if current is None:
                    to_create.append(
                        Prescription(
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
                keys = [p.pharmacy_rx_id for p in created]
                for p in Prescription.objects.filter(pharmacy_rx_id__in=keys):
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
                transaction.on_commit(
                    lambda events=status_events: prescription_status_changed.send(
                        sender=Prescription, changes=events
                    )
                )

    def _upsert_patients(self, batch: list[CleanRow]) -> dict[str, int]:
        latest: dict[str, dict[str, Any]] = {}
        for c in batch:
            latest[c.patient_key] = c.patient  # the last row of a patient wins
        existing = {
            p.pharmacy_patient_id: p
            for p in Patient.objects.filter(pharmacy_patient_id__in=list(latest))
        }
        new = [Patient(pharmacy_patient_id=k, **v) for k, v in latest.items() if k not in existing]
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
                ids = dict(
                    Patient.objects.filter(
                        pharmacy_patient_id__in=[p.pharmacy_patient_id for p in new]
                    ).values_list("pharmacy_patient_id", "pk")
                )
                for p in new:
                    p.pk = ids[p.pharmacy_patient_id]
        if changed:
            Patient.objects.bulk_update(changed, _PATIENT_FIELDS, batch_size=500)
        self.result.patients_created += len(new)
        self.result.patients_updated += len(changed)
        return {k: p.pk for k, p in existing.items()} | {p.pharmacy_patient_id: p.pk for p in new}


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


def iter_csv(binary: IO[bytes]) -> Iterator[tuple[int, dict[str, Any]]]:
    _check_utf8(binary)
    text = io.TextIOWrapper(binary, encoding="utf-8-sig", newline="")
    reader = csv.DictReader(text)
    header = [h.strip() for h in (reader.fieldnames or [])]
    if not header:
        raise ImportFileError("The file is empty: expected a header row and data rows.")
    missing = [c for c in REQUIRED_COLUMNS if c not in header]
    if missing:
        raise ImportFileError("Missing required columns: " + ", ".join(missing) + ".")
    unknown = [h for h in header if h not in ALL_COLUMNS]
    if unknown:
        raise ImportFileError("Unknown columns: " + ", ".join(unknown) + ".")
    reader.fieldnames = header
    for row_number, record in enumerate(reader, start=2):
        if not any((v or "").strip() for v in record.values() if isinstance(v, str)):
            continue  # blank line (Excel leaves these at the end)
        if None in record:
            yield row_number, {"__error__": "This row has more cells than the header."}
            continue
        yield row_number, record


def iter_json(binary: IO[bytes]) -> Iterator[tuple[int, dict[str, Any]]]:
    _check_utf8(binary)
    try:
        data = json.load(io.TextIOWrapper(binary, encoding="utf-8-sig"))
    except json.JSONDecodeError as exc:
        raise ImportFileError(
            f"The file is not valid JSON ({exc.msg}, line {exc.lineno})."
        ) from None
    yield from iter_records(data)


def iter_records(data: Any) -> Iterator[tuple[int, dict[str, Any]]]:
    if isinstance(data, dict) and "records" in data:
        data = data["records"]
    if not isinstance(data, list):
        raise ImportFileError('Expected a list of records (or {"records": [...]}).')
    if not data:
        raise ImportFileError("The file contains no records.")
    yield from enumerate(data, start=1)


def import_file(path: str, *, pharmacy: Pharmacy | None = None) -> ImportResult:
    """Import a .csv or .json file of prescription records."""
    with open(path, "rb") as binary:
        if path.lower().endswith(".json"):
            records = list(iter_json(binary))  # JSON is parsed whole; validate shape first
            return Importer(pharmacy=pharmacy).run(records)
        rows = iter_csv(binary)
        first = next(rows, None)  # raises ImportFileError on a bad header before any write
        if first is None:
            raise ImportFileError("The file has a header but no data rows.")
        return Importer(pharmacy=pharmacy).run(_with_first(first, rows))


def _with_first(first, rest):
    yield first
    yield from rest
