"""Clinics, their members, patient invitations and the patients who joined.

Every model a clinic member can reach has a `visible_to(user)` queryset method built on
`Clinic.objects.visible_to(user)` (the clinics the user is a member of).
"""

from __future__ import annotations

import datetime as dt
import secrets
from typing import TYPE_CHECKING, Self

from django.conf import settings
from django.db import models
from django.db.models import Case, Q, Value, When
from django.utils import timezone

from portal.security import hash_token
from portal.timezones import validate_time_zone

if TYPE_CHECKING:
    from accounts.models import User

# Accepted invites leave the Invited Patients list after about this long.
ACCEPTED_VISIBLE_FOR = dt.timedelta(hours=72)
MAX_WRONG_CODE_ATTEMPTS = 5


def is_active_user(user: User | None) -> bool:
    """Signed in and not deactivated: nobody else belongs to a clinic or joined one."""
    return bool(getattr(user, "is_authenticated", False) and user.is_active)  # type: ignore[union-attr]


def provider_scope(user: User) -> Q:
    """Rows (with `clinic` and `provider`) of the clinics the user admins, and of the
    providers the user is: the read rule of invites and of the patients who joined."""
    mine = ClinicMembership.objects.of_user(user)
    return Q(clinic__in=mine.admins().values("clinic")) | Q(provider__in=mine.providers())


class ClinicQuerySet(models.QuerySet["Clinic"]):
    def visible_to(self, user: User) -> Self:
        """Clinics the user is a member of (as clinic admin or provider)."""
        return self.filter(pk__in=ClinicMembership.objects.of_user(user).values("clinic"))

    def administered_by(self, user: User) -> Self:
        """Clinics the user is an admin of (who picks the provider and sees every invite)."""
        return self.filter(pk__in=ClinicMembership.objects.of_user(user).admins().values("clinic"))


class Clinic(models.Model):
    name = models.CharField(max_length=200)
    phone = models.CharField(max_length=20, blank=True)
    # The zone of the clinic's wall clock: providers' weekly hours are read in it.
    time_zone = models.CharField(
        "time zone",
        max_length=64,
        default="America/New_York",
        validators=[validate_time_zone],
        help_text="An IANA time zone name, such as America/Chicago.",
    )
    created_at = models.DateTimeField(default=timezone.now)

    objects = ClinicQuerySet.as_manager()

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class ClinicMembershipQuerySet(models.QuerySet["ClinicMembership"]):
    def visible_to(self, user: User) -> Self:
        """Memberships of the clinics the user belongs to (colleagues, providers)."""
        return self.filter(clinic__in=Clinic.objects.visible_to(user))

    def of_user(self, user: User) -> Self:
        """The user's own memberships: the one membership rule of this app, which every
        `visible_to` here builds on. An anonymous or deactivated user belongs nowhere."""
        if not is_active_user(user):
            return self.none()
        return self.filter(user=user)

    def providers(self) -> Self:
        return self.filter(role=ClinicMembership.Role.PROVIDER)

    def admins(self) -> Self:
        return self.filter(role=ClinicMembership.Role.ADMIN)


class ClinicMembership(models.Model):
    """A user working with a clinic: its admin (office staff) or one of its providers."""

    class Role(models.TextChoices):
        ADMIN = "admin", "Clinic admin"
        PROVIDER = "provider", "Provider"

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="clinic_memberships"
    )
    clinic = models.ForeignKey(Clinic, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=10, choices=Role.choices)
    # A provider's record in the pharmacy's prescriber directory, when they prescribe.
    prescriber = models.ForeignKey(
        "prescriptions.Prescriber",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    objects = ClinicMembershipQuerySet.as_manager()

    class Meta:
        ordering = ["user__last_name", "user__first_name"]
        constraints = [
            models.UniqueConstraint(
                fields=["user", "clinic", "role"], name="one_membership_per_role"
            )
        ]

    def __str__(self) -> str:
        return f"{self.user} · {self.clinic} ({self.get_role_display()})"

    @property
    def display_name(self) -> str:
        return self.user.get_full_name() or self.user.email


class PatientInviteQuerySet(models.QuerySet["Invite"]):
    def visible_to(self, user: User) -> Self:
        """Invites a clinic admin's clinics sent, and a provider's own invites."""
        return self.filter(provider_scope(user))

    def editable_by(self, user: User) -> Self:
        """Invites the user may resend or remove: visible ones not removed yet (a removed
        invite is gone for everyone, so it stays a 404, not a 403)."""
        return self.visible_to(user).filter(removed_at__isnull=True)

    def current(self) -> Self:
        """Not removed; accepted ones only for ACCEPTED_VISIBLE_FOR after acceptance."""
        cutoff = timezone.now() - ACCEPTED_VISIBLE_FOR
        return self.filter(removed_at__isnull=True).exclude(
            status=Invite.Status.ACCEPTED, accepted_at__lt=cutoff
        )

    def live(self) -> Self:
        """Invites a patient may still accept (by link or code)."""
        return self.filter(
            removed_at__isnull=True,
            status__in=[Invite.Status.PENDING, Invite.Status.ERROR],
            expires_at__gt=timezone.now(),
        )

    def with_effective_status(self) -> Self:
        """Annotate `effective_status`: a pending invite past its expiry reads Expired."""
        return self.annotate(
            effective_status=Case(
                When(
                    status__in=[Invite.Status.PENDING, Invite.Status.ERROR],
                    expires_at__lte=timezone.now(),
                    then=Value(Invite.Status.EXPIRED),
                ),
                default="status",
                output_field=models.CharField(),
            )
        )


def generate_code() -> str:
    return f"{secrets.randbelow(1_000_000):06d}"


def default_expiry() -> dt.datetime:
    return timezone.now() + dt.timedelta(days=settings.INVITE_EXPIRY_DAYS)


class Invite(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        ACCEPTED = "accepted", "Accepted"
        EXPIRED = "expired", "Expired"
        ERROR = "error", "Error Sending"

    clinic = models.ForeignKey(Clinic, on_delete=models.CASCADE, related_name="invites")
    provider = models.ForeignKey(
        ClinicMembership,
        on_delete=models.PROTECT,
        related_name="invites",
        limit_choices_to={"role": ClinicMembership.Role.PROVIDER},
    )
    first_name = models.CharField(max_length=100)
    last_name = models.CharField(max_length=100)
    email = models.EmailField(blank=True)
    mobile = models.CharField("mobile number", max_length=15, blank=True)
    date_of_birth = models.DateField(null=True, blank=True)
    code = models.CharField("invite code", max_length=6)
    # Only the digest of the link's token is kept; each delivery mints a fresh token.
    token_hash = models.CharField(max_length=64, null=True, blank=True, unique=True, editable=False)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    error_reason = models.CharField(max_length=300, blank=True)
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    invited_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)
    accepted_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(default=default_expiry)
    failed_attempts = models.PositiveSmallIntegerField(default=0)
    removed_at = models.DateTimeField(null=True, blank=True)

    objects = PatientInviteQuerySet.as_manager()

    class Meta:
        ordering = ["-invited_at", "-pk"]
        constraints = [
            # Codes are unique among invites that could still be accepted.
            models.UniqueConstraint(
                fields=["code"],
                condition=Q(status__in=["pending", "error"], removed_at__isnull=True),
                name="unique_live_invite_code",
            )
        ]
        indexes = [
            models.Index(fields=["clinic", "email"]),
            models.Index(fields=["clinic", "mobile"]),
        ]

    def __str__(self) -> str:
        return f"{self.full_name} · {self.clinic}"

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()

    @property
    def current_status(self) -> str:
        """The status as shown: Pending or Error Sending past the expiry date reads Expired."""
        status = getattr(self, "effective_status", None)
        if status:
            return status
        if (
            self.status in {self.Status.PENDING, self.Status.ERROR}
            and self.expires_at <= timezone.now()
        ):
            return self.Status.EXPIRED
        return self.status

    @property
    def current_status_label(self) -> str:
        return self.Status(self.current_status).label

    @property
    def is_live(self) -> bool:
        return self.removed_at is None and self.current_status in {
            self.Status.PENDING,
            self.Status.ERROR,
        }

    def mint_token(self) -> str:
        """A new link token (the old link stops working); returns the token, stores its hash."""
        token = secrets.token_urlsafe(32)
        self.token_hash = hash_token(token)
        return token

    def mark_sent(self) -> None:
        self.status = self.Status.PENDING
        self.error_reason = ""
        self.sent_at = timezone.now()
        self.save(update_fields=["status", "error_reason", "sent_at", "token_hash"])

    def mark_error(self, reason: str) -> None:
        self.status = self.Status.ERROR
        self.error_reason = reason[:300]
        self.save(update_fields=["status", "error_reason", "token_hash"])

    def remove(self) -> None:
        self.removed_at = timezone.now()
        self.token_hash = None
        self.save(update_fields=["removed_at", "token_hash"])

    def record_wrong_attempt(self) -> None:
        """Count a wrong name/date of birth for this code; retire the invite at the limit."""
        self.failed_attempts += 1
        fields = ["failed_attempts"]
        if self.failed_attempts >= MAX_WRONG_CODE_ATTEMPTS:
            self.status = self.Status.EXPIRED
            self.error_reason = "Retired after too many wrong attempts to use the code."
            self.token_hash = None
            fields += ["status", "error_reason", "token_hash"]
        self.save(update_fields=fields)


class ClinicPatientQuerySet(models.QuerySet["ClinicPatient"]):
    def visible_to(self, user: User) -> Self:
        """Patients who joined a clinic the user admins, or joined the provider themselves."""
        return self.filter(provider_scope(user))

    def of_patient(self, user: User) -> Self:
        """The clinics a patient joined (the patient's own side of the link)."""
        if not is_active_user(user):
            return self.none()
        return self.filter(user=user)


class ClinicPatient(models.Model):
    """A patient (a portal user) who joined a clinic, with the provider who invited them."""

    clinic = models.ForeignKey(Clinic, on_delete=models.CASCADE, related_name="patients")
    provider = models.ForeignKey(
        ClinicMembership, on_delete=models.PROTECT, related_name="patients"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="clinic_links"
    )
    invite = models.OneToOneField(
        Invite, null=True, blank=True, on_delete=models.SET_NULL, related_name="clinic_patient"
    )
    joined_at = models.DateTimeField(default=timezone.now)

    objects = ClinicPatientQuerySet.as_manager()

    class Meta:
        ordering = ["user__last_name", "user__first_name"]
        constraints = [
            models.UniqueConstraint(fields=["clinic", "user"], name="one_link_per_clinic_patient")
        ]

    def __str__(self) -> str:
        return f"{self.user} · {self.clinic}"


class InviteListPreference(models.Model):
    """The Invited Patients columns a user chose (remembered per user)."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="invite_list_preference"
    )
    columns = models.JSONField(default=list)

    def __str__(self) -> str:
        return f"Invite columns of {self.user}"


class ImportReportQuerySet(models.QuerySet["ImportReport"]):
    def visible_to(self, user: User) -> Self:
        """Reports of the user's own CSV imports, while the user is a member of that clinic."""
        if not is_active_user(user):
            return self.none()
        return self.filter(created_by=user, clinic__in=Clinic.objects.visible_to(user))


class ImportReport(models.Model):
    """The row-by-row result of one CSV import, offered as a download (the result page shows
    the counts and the rows with a problem only). It holds patient names and addresses: it is
    kept for REPORT_HOURS and deleted by the next import after that."""

    REPORT_HOURS = 24

    clinic = models.ForeignKey(Clinic, on_delete=models.CASCADE, related_name="+")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    filename = models.CharField(max_length=255)
    content = models.TextField()

    objects = ImportReportQuerySet.as_manager()

    def __str__(self) -> str:
        return f"CSV import report {self.filename} · {self.clinic}"
