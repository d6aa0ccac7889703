"""Requests: one secure conversation per prescription, with its messages and PDF documents.

Every read goes through a `visible_to(user)` queryset method built on
`Prescription.objects.visible_to`: the participants of a request are exactly the people who may
see its prescription (the prescriber, their delegates, care-group pharmacists).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Self

from django.conf import settings
from django.db import models
from django.utils import timezone

from prescriptions.models import Prescription, reachable_prescriber_ids, users_reaching

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser

    from accounts.models import User


class RequestQuerySet(models.QuerySet["Request"]):
    def visible_to(self, user: User) -> Self:
        """Requests whose prescription this user may read."""
        return self.filter(prescription__in=Prescription.objects.visible_to(user).values("pk"))


class Request(models.Model):
    """The conversation about one prescription (a database constraint keeps it to one)."""

    prescription = models.OneToOneField(
        Prescription, on_delete=models.PROTECT, related_name="chat_request"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    # Bumped by each message so that lists sort by activity without an aggregate.
    last_message_at = models.DateTimeField(default=timezone.now, db_index=True)

    objects = RequestQuerySet.as_manager()

    class Meta:
        ordering = ["-last_message_at", "-pk"]

    def __str__(self) -> str:
        return f"Request {self.pk} · Rx {self.prescription.rx_number}"

    def audience(self) -> set[int]:
        """Ids of the users who may read this request now: the reverse of `visible_to`.

        Used to address live pushes: a socket whose user is not in the audience of a message is
        closed instead of being sent it (a removed delegate, a deactivated account).
        """
        prescriber_id = self.prescription.prescriber_id
        return users_reaching([prescriber_id]).get(prescriber_id, set())

    @property
    def group_name(self) -> str:
        """The channel-layer group of everyone watching this request."""
        return f"request-{self.pk}"

    @staticmethod
    def takes_part(user: User | AnonymousUser) -> bool:
        """Whether the user takes part in requests at all: reaches at least one prescriber
        (who may have a document checked before sending it)."""
        return bool(reachable_prescriber_ids(user))  # type: ignore[arg-type]


class MessageQuerySet(models.QuerySet["Message"]):
    def visible_to(self, user: User) -> Self:
        """Messages of the requests this user may read."""
        return self.filter(request__in=Request.objects.visible_to(user).values("pk"))


class Message(models.Model):
    request = models.ForeignKey(Request, on_delete=models.CASCADE, related_name="messages")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Snapshots: the chat shows who wrote it as they were then, even if the user changes.
    author_name = models.CharField(max_length=300, blank=True)
    author_role = models.CharField(max_length=40, blank=True)
    body = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    # Chosen by the sending browser; a retried send with the same id is stored once.
    client_id = models.CharField(max_length=64)

    objects = MessageQuerySet.as_manager()

    class Meta:
        ordering = ["pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["request", "client_id"], name="one_message_per_client_id"
            )
        ]

    def __str__(self) -> str:
        return f"{self.author_name}: {self.body[:40]}"


class DocumentQuerySet(models.QuerySet["Document"]):
    def visible_to(self, user: User) -> Self:
        """Documents of the requests this user may read."""
        return self.filter(request__in=Request.objects.visible_to(user).values("pk"))


class Document(models.Model):
    """A PDF attached to a message, stored under a random key (never its uploaded name)."""

    request = models.ForeignKey(Request, on_delete=models.CASCADE, related_name="documents")
    message = models.ForeignKey(
        Message, null=True, blank=True, on_delete=models.CASCADE, related_name="documents"
    )
    title = models.CharField(max_length=200)
    original_name = models.CharField(max_length=255, blank=True)
    file = models.FileField(max_length=255)
    content_type = models.CharField(max_length=100, default="application/pdf")
    size = models.PositiveBigIntegerField()
    sha256 = models.CharField(max_length=64)
    page_count = models.PositiveIntegerField(default=0)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    objects = DocumentQuerySet.as_manager()

    class Meta:
        ordering = ["pk"]

    def __str__(self) -> str:
        return self.title


class ReadState(models.Model):
    """How far one user has read one request (messages with a larger id are unread)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    request = models.ForeignKey(Request, on_delete=models.CASCADE, related_name="read_states")
    last_read_message_id = models.BigIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "request"], name="one_read_state_per_user")
        ]

    def __str__(self) -> str:
        return f"{self.user_id} read {self.request_id} up to {self.last_read_message_id}"
