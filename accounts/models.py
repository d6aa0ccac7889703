from __future__ import annotations

from django.contrib.auth.base_user import BaseUserManager
from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils import timezone


class UserManager(BaseUserManager["User"]):
    """Users log in by email; there is no username."""

    use_in_migrations = True

    def _create_user(self, email: str, password: str | None, **extra) -> User:
        if not email:
            raise ValueError("An email address is required.")
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email: str, password: str | None = None, **extra) -> User:
        extra.setdefault("is_staff", False)
        extra.setdefault("is_superuser", False)
        return self._create_user(email, password, **extra)

    def create_superuser(self, email: str, password: str | None = None, **extra) -> User:
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

    USERNAME_FIELD = "email"
    REQUIRED_FIELDS: list[str] = ["first_name", "last_name"]

    objects = UserManager()

    class Meta:
        ordering = ["last_name", "first_name"]

    def __str__(self) -> str:
        return self.get_full_name() or self.email

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
