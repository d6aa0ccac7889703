"""Forms of the clinic's schedule: appointment types, hours, time off, rules, staff bookings."""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

from django import forms

from invites.models import Clinic, ClinicMembership
from patient_portal.models import Chart
from portal.timezones import zone_choices

from .models import AppointmentType, BookingRules, TimeOff, WorkingHours


class ProviderField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        return str(obj.display_name)


class ChartField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        return str(obj.full_name)


def _no_controls(value: str) -> str:
    if any(not ch.isprintable() for ch in value):
        raise forms.ValidationError("Remove control characters.")
    return value


class AppointmentTypeForm(forms.ModelForm):
    class Meta:
        model = AppointmentType
        fields = ["name", "duration_minutes", "mode", "visit_link", "bookable_online"]

    visit_link = forms.URLField(
        label="Visit link", max_length=300, required=False, assume_scheme="https"
    )

    def clean_name(self) -> str:
        return _no_controls(self.cleaned_data["name"].strip())

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("mode") == AppointmentType.Mode.VIDEO and not data.get("visit_link"):
            self.add_error("visit_link", "A video visit needs a visit link (https://…).")
        return data


class HoursForm(forms.ModelForm):
    provider = ProviderField(queryset=ClinicMembership.objects.none())

    class Meta:
        model = WorkingHours
        fields = ["provider", "weekday", "start", "end"]
        widgets = {
            "start": forms.TimeInput(attrs={"type": "time"}),
            "end": forms.TimeInput(attrs={"type": "time"}),
        }

    def __init__(self, *args: Any, providers: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["provider"]
        assert isinstance(field, forms.ModelChoiceField)
        field.queryset = providers

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("start") and data.get("end") and data["end"] <= data["start"]:
            self.add_error("end", "The end must be after the start.")
        return data


class TimeOffForm(forms.Form):
    provider = ProviderField(queryset=ClinicMembership.objects.none())
    first_day = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}))
    last_day = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}))
    note = forms.CharField(max_length=200, required=False)

    def __init__(self, *args: Any, providers: Any, zone: ZoneInfo, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["provider"]
        assert isinstance(field, forms.ModelChoiceField)
        field.queryset = providers
        self.zone = zone

    def clean_note(self) -> str:
        return _no_controls(self.cleaned_data["note"])

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        first, last = data.get("first_day"), data.get("last_day")
        if first and last and last < first:
            self.add_error("last_day", "The last day must not be before the first.")
        return data

    def time_off(self) -> TimeOff:
        """Whole days on the clinic's clock: from the first day's midnight to the day after."""
        data = self.cleaned_data
        start = dt.datetime.combine(data["first_day"], dt.time(0), tzinfo=self.zone)
        end = dt.datetime.combine(
            data["last_day"] + dt.timedelta(days=1), dt.time(0), tzinfo=self.zone
        )
        return TimeOff(provider=data["provider"], starts_at=start, ends_at=end, note=data["note"])


class RulesForm(forms.ModelForm):
    time_zone = forms.ChoiceField(label="Clinic time zone", choices=())

    class Meta:
        model = BookingRules
        fields = ["min_notice_hours", "horizon_days", "cancel_cutoff_hours"]

    def __init__(self, *args: Any, clinic: Clinic, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["time_zone"]
        assert isinstance(field, forms.ChoiceField)
        field.choices = [c for c in zone_choices() if c[0]]
        field.initial = clinic.time_zone


class StaffBookingForm(forms.Form):
    """Staff book for a chart of the clinic, any active type, at a time on the clinic's clock."""

    chart = ChartField(queryset=Chart.objects.none())
    type = forms.ModelChoiceField(queryset=AppointmentType.objects.none(), label="Appointment type")
    day = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}))
    time = forms.TimeField(widget=forms.TimeInput(attrs={"type": "time", "step": 300}))

    def __init__(self, *args: Any, charts: Any, types: Any, zone: ZoneInfo, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        chart_field = self.fields["chart"]
        type_field = self.fields["type"]
        assert isinstance(chart_field, forms.ModelChoiceField)
        assert isinstance(type_field, forms.ModelChoiceField)
        chart_field.queryset = charts
        type_field.queryset = types
        self.zone = zone

    def starts_at(self) -> dt.datetime:
        return local_moment(self.cleaned_data["day"], self.cleaned_data["time"], self.zone)


class MoveForm(forms.Form):
    day = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}))
    time = forms.TimeField(widget=forms.TimeInput(attrs={"type": "time", "step": 300}))


def local_moment(day: dt.date, at: dt.time, zone: ZoneInfo) -> dt.datetime:
    """A wall-clock time at the clinic as a UTC moment (a skipped time moves forward)."""
    local = dt.datetime.combine(day, at, tzinfo=zone)
    return local.astimezone(dt.UTC)
