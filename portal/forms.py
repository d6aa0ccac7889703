from __future__ import annotations

from django import forms

from accounts.models import User

from .timezones import validate_time_zone, zone_choices


class TimeZoneForm(forms.ModelForm):
    """The profile's time zone: an IANA name from the list, or empty for the browser's zone."""

    time_zone = forms.ChoiceField(
        label="Time zone",
        required=False,
        choices=zone_choices,
        validators=[validate_time_zone],
        help_text="Dates and times in the portal, its exports and the admin are shown in this zone.",
    )

    class Meta:
        model = User
        fields = ["time_zone"]
