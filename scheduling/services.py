"""Writes of the schedule: book, reschedule, cancel, mark done / no-show.

The one rule that must hold under any concurrency, a provider never double-booked, is the
database's: on PostgreSQL the exclusion constraint refuses the second of two overlapping live
appointments (the loser gets `SlotTaken`); on SQLite the same transaction first takes the
database's write lock, then checks for an overlap, so two bookings cannot interleave.
Patient actions also follow the clinic's booking rules (`BookingRefused` names the rule) and
tell the clinic's staff through the notification bell.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from django.db import IntegrityError, connection, transaction
from django.urls import reverse
from django.utils import timezone

from invites.models import ClinicMembership

from . import selectors, slots
from .models import Appointment, AppointmentType, BookingRules

if TYPE_CHECKING:
    from accounts.models import User
    from patient_portal.models import Chart

TAKEN_MESSAGE = "That time was just taken — please choose another."


class SlotTaken(Exception):
    """Someone else booked an overlapping time first (the loser of a race)."""

    def __init__(self) -> None:
        super().__init__(TAKEN_MESSAGE)


class BookingRefused(ValueError):
    """A booking, change or cancellation the rules do not allow; the message names the rule."""


def _hours(n: int) -> str:
    return f"{n} hour{'s' if n != 1 else ''}"


# The one write path: saving an appointment's time ------------------------------------------


def _take_write_lock() -> None:
    """SQLite: start the write transaction now, so that the overlap check below and the insert
    run under the database's single write lock (SELECT … FOR UPDATE is a no-op there).
    PostgreSQL: nothing; the exclusion constraint is the guarantee."""
    if connection.vendor == "sqlite":
        Appointment.objects.filter(pk=-1).update(status=Appointment.Status.BOOKED)


def _save_time(appointment: Appointment, *, update_fields: list[str] | None = None) -> None:
    with transaction.atomic():
        _take_write_lock()
        overlapping = (
            Appointment.objects.live()
            .filter(provider_id=appointment.provider_id)
            .overlapping(appointment.starts_at, appointment.ends_at)
            .exclude(pk=appointment.pk)
        )
        if overlapping.exists():
            raise SlotTaken
        try:
            with transaction.atomic():
                appointment.save(update_fields=update_fields)
        except IntegrityError as exc:
            # The exclusion constraint: a concurrent booking committed first.
            raise SlotTaken from exc


def _check_patient_slot(
    *,
    provider: ClinicMembership,
    appointment_type: AppointmentType,
    starts_at: dt.datetime,
    exclude: int | None = None,
) -> None:
    """A patient may book only a start `free_slots` offers (hours, time off, rules)."""
    now = timezone.now()
    rules = BookingRules.for_clinic(provider.clinic_id)
    if starts_at < now + rules.min_notice:
        raise BookingRefused(
            f"Online bookings need at least {_hours(rules.min_notice_hours)}' notice. "
            "Please choose a later time or call the clinic."
        )
    if starts_at > now + rules.horizon:
        raise BookingRefused(
            f"Online bookings open {rules.horizon_days} days ahead. Please choose an earlier time."
        )
    inputs = selectors.load_inputs(
        provider,
        start=starts_at - dt.timedelta(days=1),
        end=starts_at + dt.timedelta(days=1),
        exclude=exclude,
    )
    free = slots.is_free(
        starts_at,
        hours=inputs.hours,
        zone=inputs.zone,
        duration=appointment_type.duration,
        now=now,
        min_notice=rules.min_notice,
        horizon=rules.horizon,
        busy=[],  # overlaps are checked under the lock, and answered with SlotTaken
        time_off=inputs.time_off,
    )
    if not free:
        raise BookingRefused(
            "That time is not open for booking. Please choose one of the times shown."
        )


def _staff_recipients(appointment: Appointment) -> list[int]:
    """The provider and the clinic's admins (those who keep the calendar)."""
    admins = ClinicMembership.objects.admins().filter(clinic_id=appointment.chart.clinic_id)
    return sorted({appointment.provider.user_id, *admins.values_list("user_id", flat=True)})


def calendar_url(appointment: Appointment) -> str:
    local = appointment.starts_at.astimezone(selectors.clinic_zone(appointment.provider)).date()
    return (
        reverse("scheduling_clinic:calendar")
        + f"?provider={appointment.provider_id}&week={local.isoformat()}"
    )


def _tell_staff(activity: str, appointment: Appointment, actor: User) -> None:
    from notifications.services import notify

    notify(
        activity=activity,
        obj=appointment,
        actor=actor,
        recipients=_staff_recipients(appointment),
        url=calendar_url(appointment),
    )


# Services ----------------------------------------------------------------------------------


def book(
    *,
    chart: Chart,
    provider: ClinicMembership,
    appointment_type: AppointmentType,
    starts_at: dt.datetime,
    by: User,
    as_patient: bool,
) -> Appointment:
    """Book `chart` with `provider` at `starts_at`.

    The caller has checked that `by` may act for the chart (patient side: `in_portal_of`;
    staff: `editable_by`). Here: the provider and type belong to the chart's clinic; a
    patient books only online-bookable types and a start the rules offer.
    """
    if provider.clinic_id != chart.clinic_id or provider.role != ClinicMembership.Role.PROVIDER:
        raise BookingRefused("Choose one of the clinic's providers.")
    if appointment_type.clinic_id != chart.clinic_id or not appointment_type.active:
        raise BookingRefused("Choose one of the clinic's appointment types.")
    if as_patient:
        if not appointment_type.bookable_online:
            raise BookingRefused(
                "This kind of appointment is booked by the clinic. Please call them."
            )
        _check_patient_slot(
            provider=provider, appointment_type=appointment_type, starts_at=starts_at
        )
    appointment = Appointment(
        chart=chart,
        provider=provider,
        type=appointment_type,
        starts_at=starts_at,
        ends_at=starts_at + appointment_type.duration,
        booked_by=by,
    )
    with transaction.atomic():
        _save_time(appointment)
        if as_patient:
            _tell_staff("appointment_booked", appointment, by)
    return appointment


def patient_may_change(appointment: Appointment, *, now: dt.datetime | None = None) -> str:
    """ "" when the patient may still cancel or reschedule online, else the reason (the rule)."""
    now = now or timezone.now()
    if appointment.status != Appointment.Status.BOOKED:
        return f"This appointment is {appointment.get_status_display().lower()}."
    if appointment.starts_at <= now:
        return "This appointment has already started."
    rules = BookingRules.for_clinic(appointment.chart.clinic_id)
    if appointment.starts_at - now < rules.cancel_cutoff:
        return (
            f"Appointments can be changed online up to {_hours(rules.cancel_cutoff_hours)} "
            "before they start. Please call the clinic."
        )
    return ""


def reschedule(
    *, appointment: Appointment, starts_at: dt.datetime, by: User, as_patient: bool
) -> Appointment:
    """Move an appointment (same provider and type) to `starts_at`."""
    if as_patient:
        if reason := patient_may_change(appointment):
            raise BookingRefused(reason)
        _check_patient_slot(
            provider=appointment.provider,
            appointment_type=appointment.type,
            starts_at=starts_at,
            exclude=appointment.pk,
        )
    elif appointment.status != Appointment.Status.BOOKED:
        raise BookingRefused(f"This appointment is {appointment.get_status_display().lower()}.")
    appointment.starts_at = starts_at
    appointment.ends_at = starts_at + appointment.type.duration
    appointment.reminder_queued_at = None
    with transaction.atomic():
        _save_time(appointment, update_fields=["starts_at", "ends_at", "reminder_queued_at"])
        if as_patient:
            _tell_staff("appointment_changed", appointment, by)
    return appointment


def cancel(*, appointment: Appointment, by: User, as_patient: bool) -> Appointment:
    """Cancel: the time is free again at once (cancelled rows leave the constraint)."""
    if as_patient:
        if reason := patient_may_change(appointment):
            raise BookingRefused(reason)
    elif appointment.status != Appointment.Status.BOOKED:
        raise BookingRefused(f"This appointment is {appointment.get_status_display().lower()}.")
    with transaction.atomic():
        appointment.status = Appointment.Status.CANCELLED
        appointment.cancelled_at = timezone.now()
        appointment.cancelled_by = by
        appointment.save(update_fields=["status", "cancelled_at", "cancelled_by"])
        if as_patient:
            _tell_staff("appointment_cancelled", appointment, by)
    return appointment


def mark(*, appointment: Appointment, status: str) -> Appointment:
    """Staff: mark a booked (or marked) appointment done or no-show."""
    if status not in {Appointment.Status.DONE, Appointment.Status.NO_SHOW}:
        raise BookingRefused("Mark an appointment done or no-show.")
    if appointment.status == Appointment.Status.CANCELLED:
        raise BookingRefused("This appointment is cancelled.")
    appointment.status = status
    appointment.save(update_fields=["status"])
    return appointment
