from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone

from accounts.models import User
from invites.validation import clean_email, clean_mobile
from portal.http import CONTROL_CHARACTERS, CONTROL_CHARACTERS_IN_TEXT

from .models import Chart, DashboardMessage, PatientPreferences, PortalSettings, ProxyGrant

NAME_MAX = 100
MESSAGE_MAX = 2000


def no_control_characters(value: str) -> None:
    if CONTROL_CHARACTERS.search(value or ""):
        raise ValidationError("Remove the invisible control characters from this field.")


def no_control_characters_in_text(value: str) -> None:
    if CONTROL_CHARACTERS_IN_TEXT.search(value or ""):
        raise ValidationError("Remove the invisible control characters from this text.")


def name_field(label: str, required: bool = True) -> forms.CharField:
    return forms.CharField(
        label=label,
        max_length=NAME_MAX,
        required=required,
        validators=[no_control_characters],
        error_messages={
            "required": f"Enter the {label.lower()}.",
            "max_length": f"The {label.lower()} can be at most {NAME_MAX} characters.",
        },
    )


class GrantFieldsMixin(forms.Form):
    relationship = forms.ChoiceField(
        label="Relationship to the patient", choices=ProxyGrant.Relationship.choices
    )
    ends_on = forms.DateField(
        label="End date (optional)",
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text="Access stops after this day (for example a child's 18th birthday).",
        error_messages={"invalid": "Enter the end date as YYYY-MM-DD."},
    )

    def clean_ends_on(self) -> dt.date | None:
        value = self.cleaned_data.get("ends_on")
        if value is not None:
            if value < timezone.localdate():
                raise ValidationError("The end date is in the past.")
            if value.year > 2100:
                raise ValidationError("Enter an end date before 2100.")
        return value


class LinkAccountForm(GrantFieldsMixin):
    """Give proxy access to an account that already exists (found by its email)."""

    email = forms.CharField(
        label="Their account's email",
        max_length=254,
        widget=forms.EmailInput(attrs={"autocomplete": "off"}),
        error_messages={"required": "Enter the email of their account."},
    )
    field_order = ["email", "relationship", "ends_on"]

    def clean_email(self) -> str:
        email = clean_email(self.cleaned_data.get("email", ""))
        self.grantee = User.objects.filter(email__iexact=email, is_active=True).first()
        if self.grantee is None:
            raise ValidationError(
                "No active account uses this email. Invite them instead, by email or text message."
            )
        return email


class GuardianInviteForm(GrantFieldsMixin):
    """Invite a guardian (by email and/or text message, with the 6-digit code)."""

    first_name = name_field("First name")
    last_name = name_field("Last name")
    email = forms.CharField(
        label="Email",
        required=False,
        max_length=254,
        widget=forms.EmailInput(attrs={"autocomplete": "off"}),
    )
    mobile = forms.CharField(
        label="Mobile number",
        required=False,
        max_length=30,
        widget=forms.TextInput(attrs={"inputmode": "tel", "autocomplete": "off"}),
    )
    field_order = ["first_name", "last_name", "email", "mobile", "relationship", "ends_on"]

    def clean_email(self) -> str:
        return clean_email(self.cleaned_data.get("email", ""))

    def clean_mobile(self) -> str:
        return clean_mobile(self.cleaned_data.get("mobile", ""))

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if not self.errors and not data.get("email") and not data.get("mobile"):
            raise ValidationError("Enter an email or a mobile number to send the invitation to.")
        return data


class ChartPersonForm(forms.ModelForm):
    """The chart's own person fields, as the clinic keeps them (the Clinic area's chart page)."""

    legal_first_name = name_field("Legal first name")
    legal_last_name = name_field("Legal last name")
    date_of_birth = forms.DateField(
        label="Date of birth",
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        error_messages={"invalid": "Enter the date of birth as YYYY-MM-DD."},
    )

    class Meta:
        model = Chart
        fields = ["legal_first_name", "legal_last_name", "date_of_birth"]

    def clean_legal_first_name(self) -> str:
        return " ".join(self.cleaned_data["legal_first_name"].split())

    def clean_legal_last_name(self) -> str:
        return " ".join(self.cleaned_data["legal_last_name"].split())

    def clean_date_of_birth(self) -> dt.date | None:
        value = self.cleaned_data.get("date_of_birth")
        if value is not None:
            if value > timezone.localdate():
                raise ValidationError("The date of birth is in the future.")
            if value.year < 1900:
                raise ValidationError("Enter a date of birth after 1900.")
        return value


class PortalSettingsForm(forms.ModelForm):
    class Meta:
        model = PortalSettings
        fields = [
            "messages",
            "online_booking",
            "billing",
            "documents",
            "health_records",
            "instructions",
        ]


class DashboardMessageForm(forms.ModelForm):
    text = forms.CharField(
        label="Portal Dashboard message",
        required=False,
        max_length=MESSAGE_MAX,
        widget=forms.Textarea(attrs={"rows": 6, "maxlength": MESSAGE_MAX}),
        validators=[no_control_characters_in_text],
        help_text="Shown to your patients on their Home page under Clinician Information. "
        "No patient information: every patient of yours at this clinic sees it.",
        error_messages={
            "max_length": f"The message can be at most {MESSAGE_MAX:,} characters "
            "(it has %(show_value)d)."
        },
    )

    class Meta:
        model = DashboardMessage
        fields = ["text"]


# Account -------------------------------------------------------------------------------------


class ProfileForm(forms.ModelForm):
    first_name = name_field("First name")
    last_name = name_field("Last name")
    phone = forms.CharField(
        label="Mobile number",
        required=False,
        max_length=30,
        widget=forms.TextInput(attrs={"inputmode": "tel", "autocomplete": "tel"}),
    )

    class Meta:
        model = User
        fields = ["first_name", "last_name", "phone"]

    def clean_phone(self) -> str:
        return clean_mobile(self.cleaned_data.get("phone", ""))


class NotificationsForm(forms.ModelForm):
    class Meta:
        model = PatientPreferences
        fields = [
            "email_consent",
            "email_new_messages",
            "sms_new_messages",
            "email_appointment_reminders",
            "sms_appointment_reminders",
            "email_new_documents",
            "sms_new_documents",
        ]
