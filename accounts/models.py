from __future__ import annotations

import datetime as dt
import secrets
from typing import Any, ClassVar

from django.conf import settings
from django.contrib.auth.base_user import BaseUserManager
from django.contrib.auth.models import AbstractUser
from django.db import connection, models
from django.utils import timezone
from django.utils.crypto import salted_hmac

from portal.security import hash_token
from portal.timezones import validate_time_zone


def release_pooled_connection() -> None:
    """Give this thread's database connection back to psycopg's pool (the next query borrows
    one again); with no pool, or inside a transaction, nothing changes."""
    if getattr(connection, "pool", None) is not None and not connection.in_atomic_block:
        connection.close()


class UserManager(BaseUserManager["User"]):
    """Users log in by email; there is no username."""

    use_in_migrations = True

    def _create_user(self, email: str, password: str | None, **extra: Any) -> User:
        if not email:
            raise ValueError("An email address is required.")
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email: str, password: str | None = None, **extra: Any) -> User:
        extra.setdefault("is_staff", False)
        extra.setdefault("is_superuser", False)
        return self._create_user(email, password, **extra)

    def create_superuser(self, email: str, password: str | None = None, **extra: Any) -> User:
        extra.setdefault("is_staff", True)
        extra.setdefault("is_superuser", True)
        extra.setdefault("role", User.Role.OPS)
        return self._create_user(email, password, **extra)

    def get_by_natural_key(self, username: str | None) -> User:
        # Case-insensitive login: emails are stored lower-cased.
        return self.get(email__iexact=username or "")


class User(AbstractUser):
    class Role(models.TextChoices):
        PRESCRIBER = "prescriber", "Prescriber"
        DELEGATE = "delegate", "Prescriber delegate"
        PHARMACIST = "pharmacist", "Pharmacist"
        CLINIC_ADMIN = "clinic_admin", "Clinic admin"
        PATIENT = "patient", "Patient"
        OPS = "ops", "Pharmacy operations"

    username = None  # type: ignore[assignment]
    email = models.EmailField("email address", unique=True)
    phone = models.CharField(max_length=20, blank=True)
    role = models.CharField(max_length=20, choices=Role.choices, default=Role.PRESCRIBER)
    # The prescriber-directory record of a prescriber user (set at registration).
    prescriber = models.OneToOneField(
        "prescriptions.Prescriber",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="user",
    )

    # The zone moments are shown in (IANA name); empty: the zone the browser reports.
    time_zone = models.CharField(
        "time zone", max_length=64, blank=True, validators=[validate_time_zone]
    )

    # Bumped when a factor is reset: part of the session hash, so every other session ends.
    security_stamp = models.PositiveIntegerField(default=0, editable=False)

    USERNAME_FIELD = "email"
    REQUIRED_FIELDS: ClassVar[list[str]] = ["first_name", "last_name"]

    # Email-only: replaces AbstractUser's username-based manager, which the stubs declare.
    objects: ClassVar[UserManager] = UserManager()  # type: ignore[assignment]

    class Meta:
        ordering = ["last_name", "first_name"]

    def __str__(self) -> str:
        return self.get_full_name() or self.email

    def check_password(self, raw_password: str | None) -> bool:
        # PBKDF2's 1,000,000 rounds take about half a second of CPU (seconds on a busy machine).
        # A sign-in that held its pooled connection all that while took one of the process's
        # DB_POOL_MAX_SIZE out of use: a burst of sign-ins left pages waiting for a connection
        # until DB_POOL_TIMEOUT_SECONDS, then answering 503 (bench/load.py's ramp). The
        # connection goes back to the pool first; the next query borrows one.
        release_pooled_connection()
        return super().check_password(raw_password)

    def _get_session_auth_hash(self, secret: str | bytes | None = None) -> str:
        # Django ends other sessions when the password changes; a changed factor must too.
        key_salt = "accounts.User.get_session_auth_hash"
        return salted_hmac(
            key_salt, f"{self.password}:{self.security_stamp}", secret=secret, algorithm="sha256"
        ).hexdigest()

    @property
    def role_label(self) -> str:
        return self.get_role_display()

    @property
    def is_prescriber(self) -> bool:
        return self.role == self.Role.PRESCRIBER

    @property
    def is_delegate(self) -> bool:
        return self.role == self.Role.DELEGATE

    @property
    def is_pharmacist(self) -> bool:
        return self.role == self.Role.PHARMACIST

    @property
    def is_clinic_admin(self) -> bool:
        return self.role == self.Role.CLINIC_ADMIN

    @property
    def is_patient(self) -> bool:
        return self.role == self.Role.PATIENT

    @property
    def works_with_prescriptions(self) -> bool:
        """Prescribers, delegates and pharmacists use the dashboard and requests."""
        return self.role in {self.Role.PRESCRIBER, self.Role.DELEGATE, self.Role.PHARMACIST}


class DelegationQuerySet(models.QuerySet["Delegation"]):
    def active(self) -> DelegationQuerySet:
        return self.filter(revoked_at__isnull=True)

    def visible_to(self, user: User) -> DelegationQuerySet:
        """Active delegations of a prescriber user's own directory record."""
        if (
            not getattr(user, "is_authenticated", False)
            or not user.is_prescriber
            or not user.prescriber_id
        ):
            return self.none()
        return self.active().filter(prescriber_id=user.prescriber_id)


class Delegation(models.Model):
    """A delegate user acting on behalf of a prescriber (who invited them)."""

    delegate = models.ForeignKey(User, on_delete=models.CASCADE, related_name="delegations")
    prescriber = models.ForeignKey(
        "prescriptions.Prescriber", on_delete=models.CASCADE, related_name="delegations"
    )
    created_at = models.DateTimeField(default=timezone.now)
    revoked_at = models.DateTimeField(null=True, blank=True)

    objects = DelegationQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["delegate", "prescriber"], name="one_delegation_per_pair"
            )
        ]

    def __str__(self) -> str:
        return f"{self.delegate} for {self.prescriber}"

    def revoke(self) -> None:
        self.revoked_at = timezone.now()
        self.save(update_fields=["revoked_at"])


class InviteQuerySet(models.QuerySet["DelegateInvite"]):
    def visible_to(self, user: User) -> InviteQuerySet:
        """Invites a prescriber user sent for their own directory record (nobody else's)."""
        if not getattr(user, "is_authenticated", False) or not user.is_prescriber:
            return self.none()
        if user.prescriber_id is None:
            return self.none()
        return self.filter(prescriber_id=user.prescriber_id, role=User.Role.DELEGATE)

    def pending(self) -> InviteQuerySet:
        return self.filter(status=DelegateInvite.Status.PENDING)


class DelegateInvite(models.Model):
    """An emailed, signed, single-use, expiring invitation to register (delegate or pharmacist).

    Only a SHA-256 digest of the link's secret is stored; resending issues a new secret, so an
    older link stops working.
    """

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        ACCEPTED = "accepted", "Accepted"
        REVOKED = "revoked", "Revoked"

    email = models.EmailField()
    role = models.CharField(
        max_length=20,
        choices=[(User.Role.DELEGATE, "Prescriber delegate"), (User.Role.PHARMACIST, "Pharmacist")],
        default=User.Role.DELEGATE,
    )
    # A delegate invite is for one prescriber; a pharmacist invite for one care group.
    prescriber = models.ForeignKey(
        "prescriptions.Prescriber",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="delegate_invites",
    )
    care_group = models.ForeignKey(
        "prescriptions.CareGroup",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="pharmacist_invites",
    )
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    token_hash = models.CharField(max_length=64, editable=False, db_index=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    created_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(default=timezone.now)
    accepted_at = models.DateTimeField(null=True, blank=True)
    accepted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    objects = InviteQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["prescriber", "status"])]

    def __str__(self) -> str:
        return f"{self.get_role_display()} invite for {self.email}"

    def new_secret(self) -> str:
        """Issue a fresh link secret (stored hashed); earlier links stop working."""
        raw = secrets.token_urlsafe(24)
        self.token_hash = hash_token(raw)
        self.sent_at = timezone.now()
        return raw

    @property
    def expires_at(self) -> dt.datetime:
        return self.sent_at + dt.timedelta(days=settings.DELEGATE_INVITE_MAX_AGE_DAYS)

    @property
    def is_expired(self) -> bool:
        return timezone.now() >= self.expires_at

    def revoke(self) -> None:
        self.status = self.Status.REVOKED
        self.save(update_fields=["status"])


class PharmacistInviteManager(models.Manager["PharmacistInvite"]):
    def get_queryset(self) -> models.QuerySet[PharmacistInvite]:
        return super().get_queryset().filter(role=User.Role.PHARMACIST)


class PharmacistInvite(DelegateInvite):
    """Pharmacist invitations, as ops see them in the admin."""

    # Only pharmacist invites; the parent's queryset methods (pending, visible_to) are not here.
    objects: ClassVar[PharmacistInviteManager] = PharmacistInviteManager()  # type: ignore[assignment]

    class Meta:
        proxy = True
        verbose_name = "pharmacist invite"
