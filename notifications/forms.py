from typing import Any, cast

from django import forms
from django.conf import settings
from django.forms import BoundField

from accounts.models import User

from .models import US_TIME_ZONES, Activity, NotificationPreference, NotificationSettings


class PreferencesForm(forms.Form):
    """Every activity's in-app and email switch, plus quiet hours and the digest choice."""

    quiet_hours_start = forms.TimeField(
        label="Quiet hours start",
        required=False,
        widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
    )
    quiet_hours_end = forms.TimeField(
        label="Quiet hours end",
        required=False,
        widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
    )
    time_zone = forms.ChoiceField(label="Time zone", required=False)
    digest = forms.ChoiceField(
        label="Email delivery",
        choices=NotificationSettings.Digest.choices,
        widget=forms.RadioSelect,
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        default_zone = dict(US_TIME_ZONES).get(settings.TIME_ZONE, settings.TIME_ZONE)
        cast(forms.ChoiceField, self.fields["time_zone"]).choices = [
            ("", f"The portal's time zone ({default_zone})"),
            *US_TIME_ZONES,
        ]
        self.fields["time_zone"].help_text = "Quiet hours follow this clock."
        for activity in Activity:
            self.fields[f"{activity.value}__in_app"] = forms.BooleanField(
                label=f"{activity.label}: in-app", required=False
            )
            self.fields[f"{activity.value}__email"] = forms.BooleanField(
                label=f"{activity.label}: email", required=False
            )

    def clean(self) -> dict[str, Any]:
        # Form.clean returns cleaned_data; the stubs allow None for overrides that return nothing.
        data = cast(dict[str, Any], super().clean())
        start, end = data.get("quiet_hours_start"), data.get("quiet_hours_end")
        if (start is None) != (end is None) and not self.errors:
            raise forms.ValidationError(
                "Enter both a start and an end time for quiet hours, or leave both empty."
            )
        if start is not None and start == end:
            raise forms.ValidationError("Quiet hours must start and end at different times.")
        return data

    @staticmethod
    def initial_for(user: User) -> dict[str, Any]:
        prefs = {p.activity: p for p in NotificationPreference.objects.filter(user=user)}
        user_settings = (
            NotificationSettings.objects.filter(user=user).first() or NotificationSettings()
        )
        initial: dict[str, Any] = {
            "quiet_hours_start": user_settings.quiet_hours_start,
            "quiet_hours_end": user_settings.quiet_hours_end,
            "time_zone": user_settings.time_zone,
            "digest": user_settings.digest,
        }
        for activity in Activity:
            in_app, email = NotificationPreference.default(activity)
            if pref := prefs.get(activity.value):
                in_app, email = pref.in_app, pref.email
            initial[f"{activity.value}__in_app"] = in_app
            initial[f"{activity.value}__email"] = email
        return initial

    def rows(self) -> list[tuple[str, BoundField, BoundField]]:
        """(activity label, in-app bound field, email bound field) for the table."""
        return [
            (activity.label, self[f"{activity.value}__in_app"], self[f"{activity.value}__email"])
            for activity in Activity
        ]

    def save(self, user: User) -> None:
        data = self.cleaned_data
        for activity in Activity:
            NotificationPreference.objects.update_or_create(
                user=user,
                activity=activity.value,
                defaults={
                    "in_app": data[f"{activity.value}__in_app"],
                    "email": data[f"{activity.value}__email"],
                },
            )
        NotificationSettings.objects.update_or_create(
            user=user,
            defaults={
                "quiet_hours_start": data["quiet_hours_start"],
                "quiet_hours_end": data["quiet_hours_end"],
                "time_zone": data["time_zone"],
                "digest": data["digest"],
            },
        )
