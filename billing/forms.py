"""Billing forms: amounts in dollars typed by people become integer cents here."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone

from patient_portal.forms import no_control_characters

from .models import BillingProfile, Card
from .money import AmountError, parse_amount
from .services import LineData
from .validation import CPT, parse_icd10_codes

DATE_INPUT = forms.DateInput(attrs={"type": "date"})
MAX_LINES = 8
TOKEN = re.compile(r"pm_[A-Za-z0-9_]{6,90}")


def amount_field(label: str, required: bool = True) -> forms.CharField:
    return forms.CharField(
        label=label,
        max_length=16,
        required=required,
        widget=forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off"}),
        error_messages={"required": "Enter an amount, like 25.00."},
    )


def clean_amount(value: str) -> int:
    try:
        return parse_amount(value)
    except AmountError as exc:
        raise ValidationError(str(exc)) from exc


class DateRangeForm(forms.Form):
    """Billing History's filter and the superbill's dates (both optional for the filter)."""

    date_from = forms.DateField(
        label="From",
        required=False,
        widget=DATE_INPUT,
        error_messages={"invalid": "Enter the date as YYYY-MM-DD."},
    )
    date_to = forms.DateField(
        label="To",
        required=False,
        widget=DATE_INPUT,
        error_messages={"invalid": "Enter the date as YYYY-MM-DD."},
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        start, end = data.get("date_from"), data.get("date_to")
        for value in (start, end):
            if value is not None and not dt.date(1900, 1, 1) <= value <= dt.date(2100, 12, 31):
                raise ValidationError("Choose dates between 1900 and 2100.")
        if start and end and start > end:
            raise ValidationError("The “From” date is after the “To” date.")
        return data


class SuperbillForm(DateRangeForm):
    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if not self.errors:
            if not data.get("date_from") or not data.get("date_to"):
                raise ValidationError("Choose both dates of the superbill.")
            if (data["date_to"] - data["date_from"]).days > 3 * 366:
                raise ValidationError("A superbill covers at most three years.")
        return data


class CardTokenForm(forms.Form):
    """What the provider's card form hands back: a payment-method token, never a number."""

    token = forms.CharField(max_length=100)

    def clean_token(self) -> str:
        token = self.cleaned_data["token"]
        if not TOKEN.fullmatch(token):
            raise ValidationError("The card form did not finish. Enter the card again.")
        return token


class PayForm(forms.Form):
    amount = amount_field("Amount to pay ($)")
    card = forms.ModelChoiceField(
        label="Card",
        queryset=Card.objects.none(),
        empty_label=None,
        widget=forms.RadioSelect,
        error_messages={"required": "Choose a card, or add one first."},
    )

    def __init__(self, *args: Any, cards: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["card"].queryset = cards  # type: ignore[attr-defined]
        self.fields["card"].label_from_instance = lambda c: f"{c.label} (expires {c.expiry})"  # type: ignore[attr-defined]

    def clean_amount(self) -> int:
        return clean_amount(self.cleaned_data["amount"])


class InvoiceLineForm(forms.Form):
    service_date = forms.DateField(
        label="Date of service",
        widget=DATE_INPUT,
        error_messages={
            "required": "Enter the date of service.",
            "invalid": "Enter the date as YYYY-MM-DD.",
        },
    )
    description = forms.CharField(
        label="Description",
        max_length=200,
        validators=[no_control_characters],
        error_messages={"required": "Describe the service."},
    )
    cpt_code = forms.CharField(
        label="CPT code",
        max_length=5,
        min_length=5,
        error_messages={
            "required": "Enter the CPT code.",
            "min_length": "A CPT code is five characters.",
        },
    )
    icd10_codes = forms.CharField(
        label="ICD-10 codes",
        max_length=100,
        required=False,
        help_text="Separate several with commas, like E11.9, I10.",
    )
    units = forms.IntegerField(label="Units", min_value=1, max_value=999, initial=1)
    amount = amount_field("Amount ($)")

    def clean_service_date(self) -> dt.date:
        value: dt.date = self.cleaned_data["service_date"]
        if value > timezone.localdate() + dt.timedelta(days=1) or value.year < 1900:
            raise ValidationError("The date of service cannot be in the future.")
        return value

    def clean_cpt_code(self) -> str:
        value = self.cleaned_data["cpt_code"].strip().upper()
        if not CPT.fullmatch(value):
            raise ValidationError(
                "A CPT code is four digits, then a digit or F, T or U (like 99213)."
            )
        return value

    def clean_icd10_codes(self) -> list[str]:
        return parse_icd10_codes(self.cleaned_data.get("icd10_codes", ""))

    def clean_amount(self) -> int:
        return clean_amount(self.cleaned_data["amount"])

    def line(self) -> LineData:
        d = self.cleaned_data
        return LineData(
            service_date=d["service_date"],
            description=d["description"].strip(),
            cpt_code=d["cpt_code"],
            icd10_codes=d["icd10_codes"],
            units=d["units"],
            amount_cents=d["amount"],
        )


InvoiceLineFormSet = forms.formset_factory(
    InvoiceLineForm, extra=1, max_num=MAX_LINES, validate_max=True, min_num=1, validate_min=True
)


class InvoiceForm(forms.Form):
    memo = forms.CharField(
        label="Note to the patient (optional)",
        max_length=300,
        required=False,
        validators=[no_control_characters],
    )
    issue = forms.BooleanField(
        label="Issue it now (the patient sees it and can pay)", required=False, initial=True
    )


class AdjustmentForm(forms.Form):
    direction = forms.ChoiceField(
        label="Kind",
        choices=[("credit", "Credit (lowers the balance)"), ("debit", "Debit (raises it)")],
    )
    amount = amount_field("Amount ($)")
    description = forms.CharField(
        label="Reason",
        max_length=200,
        validators=[no_control_characters],
        error_messages={"required": "Say why (the patient sees it)."},
    )

    def clean_amount(self) -> int:
        return clean_amount(self.cleaned_data["amount"])

    def signed_cents(self) -> int:
        amount: int = self.cleaned_data["amount"]
        return -amount if self.cleaned_data["direction"] == "credit" else amount


class RefundForm(forms.Form):
    amount = amount_field("Refund amount ($)")

    def clean_amount(self) -> int:
        return clean_amount(self.cleaned_data["amount"])


class BillingProfileForm(forms.ModelForm[BillingProfile]):
    class Meta:
        model = BillingProfile
        fields = [
            "legal_name",
            "address_line1",
            "address_line2",
            "city",
            "state",
            "zip_code",
            "phone",
            "tax_id",
            "npi",
        ]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        for name, value in data.items():
            if isinstance(value, str):
                no_control_characters(value)
                data[name] = value.strip()
        return data

    def clean_tax_id(self) -> str:
        value = self.cleaned_data["tax_id"].strip()
        if value and not re.fullmatch(r"\d{2}-?\d{7}", value):
            raise ValidationError("A tax ID (EIN) is nine digits, like 12-3456789.")
        return value

    def clean_npi(self) -> str:
        from prescriptions.npi import is_valid_npi

        value = self.cleaned_data["npi"].strip()
        if value and not is_valid_npi(value):
            raise ValidationError("That is not a valid NPI (ten digits with a check digit).")
        return value

    def clean_state(self) -> str:
        value = self.cleaned_data["state"].strip().upper()
        if value and not re.fullmatch(r"[A-Z]{2}", value):
            raise ValidationError("Use the two-letter state code, like PA.")
        return value
