"""The clinic's schedule: appointment types, providers' weekly hours and time off, booking
rules, and the appointments themselves.

Every appointment hangs off a chart, so `Appointment.objects.visible_to(user)` is built on
`Chart.objects.visible_to(user)`; staff writes go through `editable_by`. A provider is never
double-booked: on PostgreSQL an exclusion constraint (migration 0002) refuses two live
appointments of one provider whose times overlap; `services.book` keeps SQLite correct too.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Self

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone

from invites.models import Clinic, ClinicMembership
from patient_portal.models import Chart

if TYPE_CHECKING:
    from accounts.models import User


class AppointmentTypeQuerySet(models.QuerySet["AppointmentType"]):
    def visible_to(self, user: User) -> Self:
        """Types of the clinics the user works in (staff)."""
        return self.filter(clinic__in=Clinic.objects.visible_to(user))

    def bookable_for(self, chart: Chart) -> Self:
        """What the chart's patient may book online: active, bookable types of its clinic."""
        return self.filter(clinic_id=chart.clinic_id, active=True, bookable_online=True)


# The longest visit (duration's validator): an appointment overlapping [start, end) starts
# after start - MAX_DURATION, which lets range queries use the (provider, starts_at) index.
MAX_DURATION = dt.timedelta(minutes=480)


class AppointmentType(models.Model):
    """A kind of visit a clinic offers: "New patient visit, 60 min, in person"."""

    class Mode(models.TextChoices):
        IN_PERSON = "in_person", "In person"
        VIDEO = "video", "Video"

    clinic = models.ForeignKey(Clinic, on_delete=models.CASCADE, related_name="appointment_types")
    name = models.CharField(max_length=100)
    duration_minutes = models.PositiveSmallIntegerField(
        "duration (minutes)", validators=[MinValueValidator(5), MaxValueValidator(480)]
    )
    mode = models.CharField(max_length=10, choices=Mode.choices, default=Mode.IN_PERSON)
    # For video visits: the link patients open (shown to them, never sent by email or SMS).
    visit_link = models.URLField("visit link", max_length=300, blank=True)
    bookable_online = models.BooleanField("patients may book it online", default=True)
    active = models.BooleanField(default=True)

    objects = AppointmentTypeQuerySet.as_manager()

    class Meta:
        ordering = ["clinic", "name", "pk"]

    def __str__(self) -> str:
        return f"{self.name} ({self.duration_minutes} min)"

    @property
    def duration(self) -> dt.timedelta:
        return dt.timedelta(minutes=self.duration_minutes)

    def clean(self) -> None:
        if self.visit_link and not self.visit_link.startswith("https://"):
            raise ValidationError({"visit_link": "A visit link must start with https://."})


class WorkingHours(models.Model):
    """One block of a provider's week, in the clinic's time zone (Monday 09:00–12:00)."""

    class Weekday(models.IntegerChoices):
        MONDAY = 0, "Monday"
        TUESDAY = 1, "Tuesday"
        WEDNESDAY = 2, "Wednesday"
        THURSDAY = 3, "Thursday"
        FRIDAY = 4, "Friday"
        SATURDAY = 5, "Saturday"
        SUNDAY = 6, "Sunday"

    provider = models.ForeignKey(
        ClinicMembership, on_delete=models.CASCADE, related_name="working_hours"
    )
    weekday = models.PositiveSmallIntegerField(choices=Weekday.choices)
    start = models.TimeField()
    end = models.TimeField()

    class Meta:
        ordering = ["provider", "weekday", "start"]
        verbose_name_plural = "working hours"
        constraints = [
            models.CheckConstraint(
                condition=Q(end__gt=models.F("start")), name="hours_end_after_start"
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_weekday_display()} {self.start:%H:%M}–{self.end:%H:%M}"


class TimeOff(models.Model):
    """A provider away (holiday, conference): no slots in [starts_at, ends_at)."""

    provider = models.ForeignKey(
        ClinicMembership, on_delete=models.CASCADE, related_name="time_off"
    )
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    note = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["provider", "starts_at"]
        verbose_name_plural = "time off"
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_at__gt=models.F("starts_at")), name="time_off_end_after_start"
            )
        ]

    def __str__(self) -> str:
        return f"Time off {self.starts_at:%Y-%m-%d %H:%M}–{self.ends_at:%Y-%m-%d %H:%M}"


class BookingRules(models.Model):
    """How patients may book, reschedule and cancel online at a clinic.

    Online booking on/off is the clinic's portal permission `online_booking`
    (`PortalSettings`), one switch for the menu and the rules alike.
    """

    clinic = models.OneToOneField(Clinic, on_delete=models.CASCADE, related_name="booking_rules")
    min_notice_hours = models.PositiveSmallIntegerField(
        "minimum notice (hours)", default=24, validators=[MaxValueValidator(24 * 60)]
    )
    horizon_days = models.PositiveSmallIntegerField(
        "book up to (days ahead)",
        default=60,
        validators=[MinValueValidator(1), MaxValueValidator(365)],
    )
    cancel_cutoff_hours = models.PositiveSmallIntegerField(
        "patients may cancel or reschedule up to (hours before)",
        default=24,
        validators=[MaxValueValidator(24 * 30)],
    )

    class Meta:
        verbose_name_plural = "booking rules"

    def __str__(self) -> str:
        return f"Booking rules of {self.clinic}"

    @classmethod
    def for_clinic(cls, clinic: Clinic | int) -> BookingRules:
        """The clinic's rules, or the defaults (unsaved) when it never set them."""
        clinic_id: int = clinic.pk if isinstance(clinic, Clinic) else clinic
        return cls.objects.filter(clinic_id=clinic_id).first() or cls(clinic_id=clinic_id)

    @property
    def min_notice(self) -> dt.timedelta:
        return dt.timedelta(hours=self.min_notice_hours)

    @property
    def horizon(self) -> dt.timedelta:
        return dt.timedelta(days=self.horizon_days)

    @property
    def cancel_cutoff(self) -> dt.timedelta:
        return dt.timedelta(hours=self.cancel_cutoff_hours)


class AppointmentQuerySet(models.QuerySet["Appointment"]):
    def visible_to(self, user: User) -> Self:
        """Appointments of the charts the user may read (own, live proxies, staff's clinics)."""
        return self.filter(chart__in=Chart.objects.visible_to(user))

    def editable_by(self, user: User) -> Self:
        """Appointments staff may book, move, cancel and mark: their clinics' charts."""
        return self.filter(chart__in=Chart.objects.editable_by(user))

    def live(self) -> Self:
        """Not cancelled: what holds the provider's time."""
        return self.exclude(status=Appointment.Status.CANCELLED)

    def overlapping(self, start: dt.datetime, end: dt.datetime) -> Self:
        """Appointments whose time meets [start, end), bounded on both sides of starts_at."""
        return self.filter(starts_at__lt=end, starts_at__gt=start - MAX_DURATION, ends_at__gt=start)


class Appointment(models.Model):
    class Status(models.TextChoices):
        BOOKED = "booked", "Booked"
        DONE = "done", "Done"
        NO_SHOW = "no_show", "No-show"
        CANCELLED = "cancelled", "Cancelled"

    chart = models.ForeignKey(Chart, on_delete=models.CASCADE, related_name="appointments")
    provider = models.ForeignKey(
        ClinicMembership, on_delete=models.PROTECT, related_name="appointments"
    )
    type = models.ForeignKey(AppointmentType, on_delete=models.PROTECT, related_name="+")
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.BOOKED)
    booked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    cancelled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Set when the day-before reminder went out (the command queues each appointment once).
    reminder_queued_at = models.DateTimeField(null=True, blank=True)

    objects = AppointmentQuerySet.as_manager()

    class Meta:
        ordering = ["starts_at", "pk"]
        indexes = [
            models.Index(fields=["provider", "starts_at"]),
            models.Index(fields=["chart", "starts_at"]),
            models.Index(
                fields=["starts_at"],
                condition=Q(status="booked", reminder_queued_at__isnull=True),
                name="appt_reminder_due",
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_at__gt=models.F("starts_at")), name="appt_end_after_start"
            )
        ]

    def __str__(self) -> str:
        return f"{self.type.name} · {self.starts_at:%Y-%m-%d %H:%M} UTC"

    @property
    def is_live(self) -> bool:
        return self.status != self.Status.CANCELLED

    @property
    def is_upcoming(self) -> bool:
        return self.status == self.Status.BOOKED and self.ends_at > timezone.now()
