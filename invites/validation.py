"""Rules for one invited patient's details, shared by the form rows and the CSV import."""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.core.validators import validate_email

PHONE_RE = re.compile(r"^\d{10,15}$")
NAME_MAX = 100

MSG_FIRST = "Enter the first name."
MSG_LAST = "Enter the last name."
MSG_EMAIL = "Enter a valid email address, like name@example.com."
MSG_PHONE = (
    "Enter the mobile number as digits only (10 to 15 digits), without spaces, dashes or brackets."
)
MSG_NAME_LONG = f"Names can be at most {NAME_MAX} characters."


def clean_email(value: str) -> str:
    value = value.strip()
    if not value:
        return ""
    try:
        validate_email(value)
    except ValidationError:
        raise ValidationError(MSG_EMAIL) from None
    return value.lower()


def clean_mobile(value: str) -> str:
    value = value.strip()
    if value and not PHONE_RE.match(value):
        raise ValidationError(MSG_PHONE)
    return value


def validate_patient(first: str, last: str, email: str, mobile: str) -> tuple[dict, dict[str, str]]:
    """Return (cleaned values, errors by field name) for one patient row."""
    cleaned: dict[str, str] = {}
    errors: dict[str, str] = {}
    for field, value, missing in (("first_name", first, MSG_FIRST), ("last_name", last, MSG_LAST)):
        value = (value or "").strip()
        if not value:
            errors[field] = missing
        elif len(value) > NAME_MAX:
            errors[field] = MSG_NAME_LONG
        cleaned[field] = value
    for field, value, cleaner in (("email", email, clean_email), ("mobile", mobile, clean_mobile)):
        try:
            cleaned[field] = cleaner(value or "")
        except ValidationError as exc:
            errors[field] = exc.messages[0]
            cleaned[field] = (value or "").strip()
    return cleaned, errors


def name_key(first: str, last: str) -> str:
    """A patient's name compared case- and spacing-insensitively."""
    return " ".join(f"{first} {last}".split()).casefold()


@dataclass(frozen=True)
class KnownPatient:
    """What identifies one invited or joined patient, with a tag saying where it came from."""

    tag: object
    email: str = ""
    date_of_birth: dt.date | None = None
    mobile: str = ""


def same_person(a: KnownPatient, b: KnownPatient) -> bool:
    """Two records with the same name: the same person unless what both know disagrees.

    A phone number is not an identity (a parent and child, a couple share one), so it only
    tells two namesakes apart when neither an email nor a date of birth is known on both sides.
    """
    both_email = bool(a.email and b.email)
    both_dob = bool(a.date_of_birth and b.date_of_birth)
    if both_email and a.email.lower() != b.email.lower():
        return False
    if both_dob and a.date_of_birth != b.date_of_birth:
        return False
    if not both_email and not both_dob and a.mobile and b.mobile:
        return a.mobile == b.mobile
    return True


@dataclass
class PatientIndex:
    """Patients already known (of a clinic, or of earlier rows), looked up by name."""

    by_name: dict[str, list[KnownPatient]] = dataclasses.field(default_factory=dict)

    def add(
        self,
        tag: object,
        *,
        first: str,
        last: str,
        email: str = "",
        mobile: str = "",
        date_of_birth: dt.date | None = None,
    ) -> None:
        record = KnownPatient(tag, email or "", date_of_birth, mobile or "")
        self.by_name.setdefault(name_key(first, last), []).append(record)

    def find(
        self,
        *,
        first: str,
        last: str,
        email: str = "",
        mobile: str = "",
        date_of_birth: dt.date | None = None,
    ) -> object | None:
        """The tag of the first known record of the same person, or None."""
        probe = KnownPatient(None, email or "", date_of_birth, mobile or "")
        for known in self.by_name.get(name_key(first, last), []):
            if same_person(known, probe):
                return known.tag
        return None
