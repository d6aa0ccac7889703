"""Rules for one invited patient's details, shared by the form rows and the CSV import."""

from __future__ import annotations

import re

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


def dedupe_keys(email: str, mobile: str, first: str = "", last: str = "") -> set[str]:
    """Keys that identify the same patient within a clinic: email, mobile, else the name."""
    keys = set()
    if email:
        keys.add(f"e:{email.lower()}")
    if mobile:
        keys.add(f"m:{mobile}")
    if not keys:
        keys.add(f"n:{first.strip().lower()}|{last.strip().lower()}")
    return keys
