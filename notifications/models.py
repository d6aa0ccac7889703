"""In-app notifications, and each user's choices about what reaches them and how."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Self
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import models
from django.db.models import Exists, OuterRef, Q
from django.urls import reverse
from django.utils import timezone

if TYPE_CHECKING:
    from accounts.models import User


class Activity(models.TextChoices):
    """What a notification is about (the manual's activities, in its order)."""

    NEW_REQUEST = "new_request", "New request"
    NEW_MESSAGE = "new_message", "New message"
    NEW_DOCUMENT = "new_document", "New document"
    STATUS_CHANGE = "prescription_status_change", "Prescription status change"
    DELEGATE_JOINED = "delegate_joined", "Delegate joined"
    INVITE_ACCEPTED = "invite_accepted", "Invite accepted"
    # Urgent: a patient's PHQ-9 item 9 (thoughts of self-harm) answered above 0.
    URGENT_ANSWER = "urgent_answer", "Urgent questionnaire answer"
    APPOINTMENT_BOOKED = "appointment_booked", "Appointment booked by a patient"
    APPOINTMENT_CHANGED = "appointment_changed", "Appointment rescheduled by a patient"
    APPOINTMENT_CANCELLED = "appointment_cancelled", "Appointment cancelled by a patient"
    NEW_PATIENT_MESSAGE = "new_patient_message", "New patient message"
    RECORD_CHANGE = "record_change", "Record change sent by a patient"


# Email is on by default only for what a prescriber's office has to act on.
EMAIL_BY_DEFAULT = frozenset(
    {
        Activity.NEW_REQUEST,
        Activity.NEW_MESSAGE,
        Activity.STATUS_CHANGE,
        Activity.URGENT_ANSWER,
        Activity.NEW_PATIENT_MESSAGE,
    }
)

# The only words an email may carry: the kind of activity, never what or whom it is about.
EMAIL_SUBJECTS = {
    Activity.NEW_REQUEST: "You have a new request",
    Activity.NEW_MESSAGE: "You have a new message",
    Activity.NEW_DOCUMENT: "You have a new document",
    Activity.STATUS_CHANGE: "A prescription status has changed",
    Activity.DELEGATE_JOINED: "A delegate has joined your account",
    Activity.INVITE_ACCEPTED: "An invite has been accepted",
    Activity.URGENT_ANSWER: "Urgent: a questionnaire answer needs review",
    Activity.APPOINTMENT_BOOKED: "A patient booked an appointment",
    Activity.APPOINTMENT_CHANGED: "A patient rescheduled an appointment",
    Activity.APPOINTMENT_CANCELLED: "A patient cancelled an appointment",
    Activity.NEW_PATIENT_MESSAGE: "You have a new patient message",
    Activity.RECORD_CHANGE: "A patient sent a change to their record",
}


class NotificationQuerySet(models.QuerySet["Notification"]):
    def visible_to(self, user: User) -> Self:
        """The user's own in-app notifications; about a prescription only while they may see it.

        A revoked delegation or a care-group change hides what the user was told earlier.
        """
        from prescriptions.models import Prescription

        if not getattr(user, "is_authenticated", False):
            return self.none()
        # EXISTS per notification (a primary-key probe each), not an IN over every visible
        # prescription id: under the OR, PostgreSQL hashed all of them (50,000 ids for a
        # pharmacist of a large care group, 60-90 ms) on every bell, i.e. on every page.
        return self.filter(recipient=user, in_app=True).filter(
            Q(prescription__isnull=True)
            | Exists(Prescription.objects.visible_to(user).filter(pk=OuterRef("prescription_id")))
        )

    def unread(self) -> Self:
        return self.filter(read_at__isnull=True)


class Notification(models.Model):
    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications"
    )
    activity = models.CharField(max_length=40, choices=Activity.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    # What it is about: a prescription (and its patient), or only a URL (delegates, invites).
    prescription = models.ForeignKey(
        "prescriptions.Prescription",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
    )
    patient = models.ForeignKey(
        "prescriptions.Patient", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    url = models.CharField(max_length=300, blank=True)
    # Small details for the in-app text, e.g. {"to_status": "order_shipped"}; never sent by email.
    data = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    read_at = models.DateTimeField(null=True, blank=True)
    # False: the user turned in-app off for this activity; the row exists only for email.
    in_app = models.BooleanField(default=True)
    # Email waiting for a digest or for the end of quiet hours.
    email_pending = models.BooleanField(default=False)
    emailed_at = models.DateTimeField(null=True, blank=True)

    objects = NotificationQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [
            models.Index(fields=["recipient", "-created_at"]),
            models.Index(
                fields=["recipient"],
                condition=Q(read_at__isnull=True, in_app=True),
                name="notif_unread",
            ),
            models.Index(
                fields=["recipient"], condition=Q(email_pending=True), name="notif_email_pending"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_activity_display()} for {self.recipient_id}"

    @property
    def is_read(self) -> bool:
        return self.read_at is not None

    @property
    def title(self) -> str:
        """One line for the feed (in-app only: the reader may see the prescription)."""
        who = str(self.actor) if self.actor_id and self.actor else ""
        # One action, one notification: a request or message names the documents it carries.
        documents = self.data.get("documents", 0) if isinstance(self.data, dict) else 0
        carrying = ""
        if isinstance(documents, int) and documents > 0:
            carrying = f" with {documents} document{'s' if documents != 1 else ''}"
        match self.activity:
            case Activity.NEW_REQUEST:
                return (f"New request from {who}" if who else "New request") + carrying
            case Activity.NEW_MESSAGE:
                return (f"New message from {who}" if who else "New message") + carrying
            case Activity.NEW_DOCUMENT:
                return f"New document from {who}" if who else "New document"
            case Activity.STATUS_CHANGE:
                from prescriptions.models import Status

                to = self.data.get("to_status", "")
                label = Status(to).label if to in Status.values else to
                return f"Status changed to {label}" if label else "Prescription status changed"
            case Activity.DELEGATE_JOINED:
                return f"{who} joined as your delegate" if who else "A delegate joined"
            case Activity.INVITE_ACCEPTED:
                # A patient's name stays out of the bell (it shows on every page).
                if not who or getattr(self.actor, "role", "") == "patient":
                    return "A patient accepted your invite"
                return f"{who} accepted your invite"
            case Activity.URGENT_ANSWER:
                # No name in the bell (it shows on every page): the link leads to the answers.
                form = self.data.get("form", "") if isinstance(self.data, dict) else ""
                return f"Urgent: review a {form} answer now" if form else "Urgent: review an answer"
            case (
                Activity.APPOINTMENT_BOOKED
                | Activity.APPOINTMENT_CHANGED
                | Activity.APPOINTMENT_CANCELLED
            ):
                # No patient's name in the bell (it shows on every page); the link opens the day.
                return EMAIL_SUBJECTS[Activity(self.activity)]
            case Activity.NEW_PATIENT_MESSAGE:
                # Like invites: the patient's name stays out of the bell.
                return "New patient message"
            case Activity.RECORD_CHANGE:
                # No name either; the link opens the chart's changes to review.
                n = self.data.get("changes", 0) if isinstance(self.data, dict) else 0
                if isinstance(n, int) and n > 1:
                    return f"A patient sent {n} changes to their record"
                return "A patient sent a change to their record"
        return self.get_activity_display()

    @property
    def about(self) -> str:
        """The second line: which patient and prescription (needs prescription__patient)."""
        if self.prescription_id and self.prescription:
            rx = self.prescription
            return f"{rx.patient.full_name} · {rx.medication_name}"
        if self.patient_id and self.patient:
            return self.patient.full_name
        return ""

    @property
    def target_url(self) -> str:
        """Where the item leads: the URL given by the producer, else the patient profile."""
        if self.url:
            return self.url
        patient_id = self.patient_id or (
            self.prescription.patient_id if self.prescription is not None else None
        )
        if patient_id:
            return reverse("prescriptions:patient", args=[patient_id])
        return reverse("notifications:list")

    def mark_read(self) -> None:
        if self.read_at is None:
            self.read_at = timezone.now()
            self.save(update_fields=["read_at"])


class NotificationPreference(models.Model):
    """One user's in-app and email choice for one activity (no row: the defaults)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notification_preferences"
    )
    activity = models.CharField(max_length=40, choices=Activity.choices)
    in_app = models.BooleanField(default=True)
    email = models.BooleanField(default=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "activity"], name="one_preference_per_activity")
        ]

    def __str__(self) -> str:
        return f"{self.user_id} · {self.activity}"

    @staticmethod
    def default(activity: str) -> tuple[bool, bool]:
        """(in_app, email) for a user who never changed this activity."""
        return True, activity in EMAIL_BY_DEFAULT


# The time zones of the United States (where the pharmacy's patients and prescribers are).
US_TIME_ZONES = [
    ("America/New_York", "Eastern (New York)"),
    ("America/Chicago", "Central (Chicago)"),
    ("America/Denver", "Mountain (Denver)"),
    ("America/Phoenix", "Mountain, no daylight saving (Phoenix)"),
    ("America/Los_Angeles", "Pacific (Los Angeles)"),
    ("America/Anchorage", "Alaska (Anchorage)"),
    ("Pacific/Honolulu", "Hawaii (Honolulu)"),
    ("America/Puerto_Rico", "Atlantic (Puerto Rico)"),
]


class NotificationSettings(models.Model):
    """Per-user delivery settings: quiet hours and how often email is sent."""

    class Digest(models.TextChoices):
        IMMEDIATE = "immediate", "Immediately"
        HOURLY = "hourly", "Hourly digest"
        DAILY = "daily", "Daily digest"

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notification_settings"
    )
    quiet_hours_start = models.TimeField(null=True, blank=True)
    quiet_hours_end = models.TimeField(null=True, blank=True)
    # Quiet hours are the user's own clock: blank means the portal's TIME_ZONE.
    time_zone = models.CharField(max_length=64, blank=True, choices=US_TIME_ZONES)
    digest = models.CharField(max_length=10, choices=Digest.choices, default=Digest.IMMEDIATE)
    last_digest_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name_plural = "notification settings"

    def __str__(self) -> str:
        return f"Notification settings of {self.user_id}"

    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.time_zone or settings.TIME_ZONE)

    def in_quiet_hours(self, at: dt.datetime | None = None) -> bool:
        """Whether `at` (now) falls in the quiet hours, on the user's clock."""
        start, end = self.quiet_hours_start, self.quiet_hours_end
        if start is None or end is None or start == end:
            return False
        now = timezone.localtime(at, self.zone()).time()
        if start < end:
            return start <= now < end
        return now >= start or now < end  # spans midnight, e.g. 22:00–07:00

    def digest_due(self, at: dt.datetime | None = None) -> bool:
        """Whether pending email may go out now under this digest choice."""
        at = at or timezone.now()
        if self.in_quiet_hours(at):
            return False
        if self.digest == self.Digest.IMMEDIATE or self.last_digest_at is None:
            return True
        # A little slack so a cron that runs every hour never skips a period.
        period = (
            dt.timedelta(hours=1) if self.digest == self.Digest.HOURLY else dt.timedelta(days=1)
        )
        return at - self.last_digest_at >= period - dt.timedelta(minutes=5)
