"""Messages between a chart and its clinic: threads, their messages and attachments, and each
reader's own state (read marker, archived).

Everything hangs off a chart and is read through `Thread.objects.visible_to(user)`, built on
`Chart.objects.visible_to` (own charts, live proxy grants, the staff's clinics). Patient pages
narrow it to the chosen chart; the Clinic inbox to the clinics the staff member works in.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Self

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from invites.models import Clinic, ClinicMembership
from patient_portal.models import Chart

if TYPE_CHECKING:
    from accounts.models import User

SUBJECT_MAX = 150
BODY_MAX = 5000


class ThreadQuerySet(models.QuerySet["Thread"]):
    def visible_to(self, user: User) -> Self:
        """Threads of the charts the user may read (own, live proxy, their clinics')."""
        return self.filter(chart__in=Chart.objects.visible_to(user).values("pk"))

    def in_portal_of(self, user: User) -> Self:
        """The patient side only: threads of the user's own charts and live proxy grants."""
        return self.filter(chart__in=Chart.objects.in_portal_of(user).values("pk"))

    def for_staff(self, user: User) -> Self:
        """The clinic side: threads of the clinics the user is a member of.

        The clinic ids are read first and passed as a literal list: the database then walks the
        (clinic, newest) index instead of planning around a subquery."""
        clinic_ids = sorted(
            set(ClinicMembership.objects.of_user(user).values_list("clinic_id", flat=True))
        )
        return self.filter(clinic_id__in=clinic_ids)

    def editable_by(self, user: User) -> Self:
        """Threads whose clinic-side state (assignee, done) the user may change: their clinics'."""
        return self.for_staff(user)


class Thread(models.Model):
    """One conversation between a chart and its clinic, to the clinician or to the office."""

    class To(models.TextChoices):
        CLINICIAN = "clinician", "My clinician"
        OFFICE = "office", "The office"

    chart = models.ForeignKey(Chart, on_delete=models.CASCADE, related_name="threads")
    # The chart's clinic, kept here so that the clinic inbox is one index range.
    clinic = models.ForeignKey(Clinic, on_delete=models.CASCADE, related_name="threads")
    subject = models.CharField(max_length=SUBJECT_MAX)
    to = models.CharField(max_length=10, choices=To.choices, default=To.CLINICIAN)
    # For "my clinician": the chart's provider when the thread was started.
    provider = models.ForeignKey(
        ClinicMembership, null=True, blank=True, on_delete=models.SET_NULL, related_name="threads"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Idempotent start: a retried "Send" finds the thread it created.
    client_id = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    last_message_at = models.DateTimeField(default=timezone.now)
    last_message = models.ForeignKey(
        "Message", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # The newest message id from each side: "unread for this reader" is one comparison with
    # the reader's marker, so inbox filters and badges need no scan of the messages.
    last_from_patient_id = models.BigIntegerField(default=0)
    last_from_clinic_id = models.BigIntegerField(default=0)
    # Clinic side: who works on it, and whether it is done (a new patient message reopens it).
    assigned_to = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    done_at = models.DateTimeField(null=True, blank=True)
    done_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    objects = ThreadQuerySet.as_manager()

    class Meta:
        ordering = ["-last_message_at", "-pk"]
        indexes = [
            # Inboxes are newest first, ties by id: one index range each, no sort.
            models.Index(
                fields=["chart", "-last_message_at", "-id"], name="messaging_chart_newest"
            ),
            models.Index(
                fields=["clinic", "-last_message_at", "-id"], name="messaging_clinic_newest"
            ),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["created_by", "client_id"],
                condition=~Q(client_id=""),
                name="messaging_one_thread_per_client_id",
            )
        ]

    def __str__(self) -> str:
        return f"Thread {self.pk} · {self.chart.full_name}"

    @property
    def group_name(self) -> str:
        return chart_group(self.chart_id)

    @property
    def to_label(self) -> str:
        if self.to == self.To.CLINICIAN and self.provider_id and self.provider:
            return self.provider.display_name
        return "The office"


def chart_group(chart_id: int) -> str:
    """The channel-layer group of the patient-side sockets of one chart."""
    return f"messaging-chart-{chart_id}"


def clinic_group(clinic_id: int) -> str:
    """The channel-layer group of the clinic inbox sockets of one clinic."""
    return f"messaging-clinic-{clinic_id}"


class MessageQuerySet(models.QuerySet["Message"]):
    def visible_to(self, user: User) -> Self:
        return self.filter(thread__in=Thread.objects.visible_to(user).values("pk"))


class Message(models.Model):
    thread = models.ForeignKey(Thread, on_delete=models.CASCADE, related_name="messages")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    # As shown when written ("Mary Doe (parent)", "Dr. Jane Smith"), kept if the account goes.
    author_name = models.CharField(max_length=200)
    from_clinic = models.BooleanField(default=False)
    body = models.TextField(max_length=BODY_MAX, blank=True)
    client_id = models.CharField(max_length=64)
    created_at = models.DateTimeField(default=timezone.now)

    objects = MessageQuerySet.as_manager()

    class Meta:
        ordering = ["pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["thread", "client_id"], name="messaging_one_message_per_client_id"
            )
        ]

    def __str__(self) -> str:
        return f"Message {self.pk} in thread {self.thread_id}"


class AttachmentQuerySet(models.QuerySet["Attachment"]):
    def visible_to(self, user: User) -> Self:
        return self.filter(thread__in=Thread.objects.visible_to(user).values("pk"))


class Attachment(models.Model):
    """A PDF or image checked by content; images re-encoded without metadata. Stored under a
    random key, served only by the access-checked view."""

    thread = models.ForeignKey(Thread, on_delete=models.CASCADE, related_name="attachments")
    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="attachments")
    file = models.CharField(max_length=200)
    original_name = models.CharField(max_length=255)
    content_type = models.CharField(max_length=40)
    size = models.PositiveIntegerField()
    sha256 = models.CharField(max_length=64)
    width = models.PositiveIntegerField(null=True, blank=True)
    height = models.PositiveIntegerField(null=True, blank=True)
    page_count = models.PositiveIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    objects = AttachmentQuerySet.as_manager()

    class Meta:
        ordering = ["pk"]

    def __str__(self) -> str:
        return self.original_name

    @property
    def is_image(self) -> bool:
        return self.content_type.startswith("image/")


class Reader(models.Model):
    """One reader's state of one thread: how far they read, and whether they archived it."""

    thread = models.ForeignKey(Thread, on_delete=models.CASCADE, related_name="readers")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="message_readers"
    )
    last_read_message_id = models.BigIntegerField(default=0)
    archived_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["thread", "user"], name="messaging_one_reader_per_thread_user"
            )
        ]
        indexes = [models.Index(fields=["user", "thread"])]

    def __str__(self) -> str:
        return f"{self.user_id} in thread {self.thread_id}"
