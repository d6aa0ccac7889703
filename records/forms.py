"""Forms of the records app: what a patient proposes, and the clinic's PDF upload.

Every text field has a length limit and refuses control characters; what a person types is
always shown as text (templates escape it; PDFs draw it literally).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone

from patient_portal.forms import no_control_characters
from requests_chat.documents import InvalidDocument, check_pdf

from .files import CheckedFile, InvalidUpload, check_card, read_upload
from .models import HealthRecord


def text(label: str, max_length: int, *, required: bool = False, **extra: Any) -> forms.CharField:
    return forms.CharField(
        label=label,
        max_length=max_length,
        required=required,
        validators=[no_control_characters],
        error_messages={
            "required": f"Enter the {label.lower()}.",
            "max_length": f"The {label.lower()} can be at most {max_length} characters.",
        },
        **extra,
    )


def email(label: str = "Email") -> forms.EmailField:
    return forms.EmailField(
        label=label,
        max_length=254,
        required=False,
        validators=[no_control_characters],
        error_messages={
            "invalid": "Enter a valid email address.",
            "max_length": "The email can be at most 254 characters.",
        },
    )


def phone(label: str = "Phone") -> forms.CharField:
    return forms.RegexField(
        label=label,
        regex=r"^[0-9+()\-. ]{0,30}$",
        max_length=30,
        required=False,
        error_messages={
            "invalid": "Enter a phone number with digits, spaces and + ( ) - . only.",
            "max_length": "The phone number can be at most 30 characters.",
        },
        widget=forms.TextInput(attrs={"type": "tel", "autocomplete": "tel"}),
    )


class DemographicsForm(forms.Form):
    legal_first_name = text("Legal first name", 100, required=True)
    legal_last_name = text("Legal last name", 100, required=True)
    preferred_name = text("Preferred name", 100)
    date_of_birth = forms.DateField(
        label="Date of birth",
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        error_messages={"invalid": "Enter the date of birth as YYYY-MM-DD."},
    )
    sex = text("Sex", 40, help_text="As on your insurance (for example Female, Male).")
    gender_identity = text("Gender identity", 100)
    pronouns = text("Pronouns", 40, help_text="For example she/her, he/him, they/them.")
    address_line1 = text(
        "Address", 200, widget=forms.TextInput(attrs={"autocomplete": "address-line1"})
    )
    address_line2 = text(
        "Address line 2", 200, widget=forms.TextInput(attrs={"autocomplete": "address-line2"})
    )
    city = text("City", 100, widget=forms.TextInput(attrs={"autocomplete": "address-level2"}))
    state = text("State", 100, widget=forms.TextInput(attrs={"autocomplete": "address-level1"}))
    postal_code = text(
        "ZIP code", 20, widget=forms.TextInput(attrs={"autocomplete": "postal-code"})
    )
    country = text("Country", 100, widget=forms.TextInput(attrs={"autocomplete": "country-name"}))
    phone = phone()
    email = email()
    preferred_language = text("Preferred language", 60)

    def clean_date_of_birth(self) -> dt.date | None:
        value: dt.date | None = self.cleaned_data.get("date_of_birth")
        if value is not None and not (dt.date(1900, 1, 1) <= value <= timezone.localdate()):
            raise ValidationError("Enter a date of birth between 1900 and today.")
        return value


class ContactForm(forms.Form):
    name = text("Name", 200, required=True)
    relationship = text("Relationship", 60, help_text="For example spouse, parent, friend.")
    phone = phone()
    email = email()

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if not self.errors and not (data.get("phone") or data.get("email")):
            raise ValidationError("Give a phone number or an email, so the clinic can reach them.")
        return data


class CoverageForm(forms.Form):
    payer = text("Insurance company", 200)
    member_id = text("Member ID", 60)
    group_number = text("Group number", 60)
    subscriber_name = text("Subscriber", 200, help_text="The person who holds the plan.")
    subscriber_relationship = forms.ChoiceField(
        label="Subscriber's relationship to the patient",
        required=False,
        choices=[
            ("", "—"),
            ("Self", "Self"),
            ("Spouse", "Spouse"),
            ("Child", "Child"),
            ("Other", "Other"),
        ],
    )
    card_front = forms.FileField(
        label="Card (front)",
        required=False,
        help_text="A photo (JPEG or PNG) or a PDF, up to the upload limit.",
        widget=forms.ClearableFileInput(attrs={"accept": "image/jpeg,image/png,application/pdf"}),
    )
    card_back = forms.FileField(
        label="Card (back)",
        required=False,
        widget=forms.ClearableFileInput(attrs={"accept": "image/jpeg,image/png,application/pdf"}),
    )

    def _card(self, field: str) -> CheckedFile | None:
        upload = self.cleaned_data.get(field)
        if not upload:
            return None
        try:
            return check_card(read_upload(upload), name=str(getattr(upload, "name", ""))[:100])
        except InvalidUpload as refused:
            raise ValidationError(str(refused)) from None

    def clean_card_front(self) -> CheckedFile | None:
        return self._card("card_front")

    def clean_card_back(self) -> CheckedFile | None:
        return self._card("card_back")


class HealthRecordForm(forms.Form):
    """The clinic shares a PDF with a chart (checked by content, as chat documents are)."""

    kind = forms.ChoiceField(label="Type", choices=HealthRecord.Kind.choices)
    title = text("Title", 200, required=True)
    document = forms.FileField(
        label="PDF document",
        widget=forms.ClearableFileInput(attrs={"accept": "application/pdf"}),
        error_messages={"required": "Choose a PDF document."},
    )

    def clean_document(self) -> bytes:
        upload = self.cleaned_data["document"]
        data = read_upload(upload)
        try:
            check_pdf(data, name=str(getattr(upload, "name", ""))[:100])
        except InvalidDocument as refused:
            raise ValidationError(str(refused)) from None
        return data


class RecordFilterForm(forms.Form):
    kind = forms.ChoiceField(
        label="Type", required=False, choices=[("", "All types"), *HealthRecord.Kind.choices]
    )
    start = forms.DateField(
        label="From", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    end = forms.DateField(
        label="To", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
