"""Reads of the schedule: free slots (loading what `slots.free_slots` needs), a chart's
appointments, a provider's week. Every appointment read goes through `visible_to`."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from django.utils import timezone

from invites.models import ClinicMembership
from patient_portal.models import Chart

from . import slots
from .models import Appointment, AppointmentType, BookingRules, TimeOff, WorkingHours

if TYPE_CHECKING:
    from accounts.models import User


def clinic_zone(provider: ClinicMembership) -> ZoneInfo:
    """The clinic's wall clock (a bad stored name falls back to New York, never a 500)."""
    try:
        return ZoneInfo(provider.clinic.time_zone)
    except (ValueError, KeyError, OSError):
        return ZoneInfo("America/New_York")


@dataclass(frozen=True)
class Inputs:
    """What the slot computation needs of one provider over a window (three queries)."""

    hours: list[slots.WeeklyBlock]
    busy: list[slots.Interval]
    time_off: list[slots.Interval]
    zone: ZoneInfo


def load_inputs(
    provider: ClinicMembership, *, start: dt.datetime, end: dt.datetime, exclude: int | None = None
) -> Inputs:
    """The provider's hours, and their live appointments and time off that touch the window."""
    hours = [
        slots.WeeklyBlock(w, s, e)
        for w, s, e in WorkingHours.objects.filter(provider=provider).values_list(
            "weekday", "start", "end"
        )
    ]
    taken = Appointment.objects.live().filter(provider=provider).overlapping(start, end)
    if exclude is not None:
        taken = taken.exclude(pk=exclude)
    busy = [slots.Interval(s, e) for s, e in taken.values_list("starts_at", "ends_at")]
    away = [
        slots.Interval(s, e)
        for s, e in TimeOff.objects.filter(
            provider=provider, starts_at__lt=end, ends_at__gt=start
        ).values_list("starts_at", "ends_at")
    ]
    return Inputs(hours=hours, busy=busy, time_off=away, zone=clinic_zone(provider))


def free_slots_for(
    provider: ClinicMembership,
    appointment_type: AppointmentType,
    *,
    now: dt.datetime | None = None,
    weeks: int = 4,
    exclude: int | None = None,
) -> list[dt.datetime]:
    """Free starts (UTC) of `provider` for a visit of this type, within the clinic's rules
    (minimum notice, horizon) and at most `weeks` ahead. `exclude`: an appointment being
    rescheduled, whose own time counts as free."""
    now = now or timezone.now()
    rules = BookingRules.for_clinic(provider.clinic_id)
    horizon = min(rules.horizon, dt.timedelta(weeks=weeks))
    inputs = load_inputs(
        provider, start=now, end=now + horizon + dt.timedelta(days=1), exclude=exclude
    )
    return slots.free_slots(
        hours=inputs.hours,
        zone=inputs.zone,
        duration=appointment_type.duration,
        now=now,
        min_notice=rules.min_notice,
        horizon=horizon,
        busy=inputs.busy,
        time_off=inputs.time_off,
    )


def bookable_providers(chart: Chart) -> list[ClinicMembership]:
    """Providers of the chart's clinic, the chart's own clinician first."""
    found = list(
        ClinicMembership.objects.providers()
        .filter(clinic_id=chart.clinic_id, user__is_active=True)
        .select_related("user", "clinic")
    )
    return sorted(found, key=lambda m: (m.pk != chart.provider_id, m.display_name))


def chart_appointments(user: User, chart: Chart) -> tuple[list[Appointment], list[Appointment]]:
    """(upcoming, past) appointments of the chosen chart; past newest first, at most 50."""
    now = timezone.now()
    mine = (
        Appointment.objects.visible_to(user)
        .filter(chart=chart)
        .select_related("type", "provider__user", "chart__clinic")
    )
    upcoming = list(mine.filter(status=Appointment.Status.BOOKED, ends_at__gt=now)[:50])
    past = list(
        mine.exclude(status=Appointment.Status.BOOKED, ends_at__gt=now).order_by(
            "-starts_at", "-pk"
        )[:50]
    )
    return upcoming, past


def next_appointment(user: User, chart: Chart) -> Appointment | None:
    return (
        Appointment.objects.visible_to(user)
        .filter(chart=chart, status=Appointment.Status.BOOKED, ends_at__gt=timezone.now())
        .select_related("type", "provider__user")
        .first()
    )


def week_appointments(
    user: User, provider: ClinicMembership, start: dt.datetime, end: dt.datetime
) -> list[Appointment]:
    """A provider's appointments (cancelled ones too, greyed) in [start, end), for staff."""
    return list(
        Appointment.objects.visible_to(user)
        .filter(provider=provider)
        .overlapping(start, end)
        .select_related("type", "chart")
        .order_by("starts_at", "pk")
    )
