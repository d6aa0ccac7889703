"""Charts, proxies and the clinic's portal settings: the patient portal's access root.

A `Chart` is one person's record at one clinic, with their clinician. A portal account reaches
the charts of its own person and those it holds a live `ProxyGrant` for; clinic staff reach
their clinics' charts. `Chart.objects.visible_to(user)` is that rule, and everything hanging
off a chart (threads, appointments, documents, invoices…) builds its own `visible_to` on it.
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Self

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from invites.models import Clinic, ClinicMembership, ClinicPatient, Invite

if TYPE_CHECKING:
    from accounts.models import User


def _active(user: User | None) -> bool:
    return bool(getattr(user, "is_authenticated", False) and user.is_active)  # type: ignore[union-attr]


class ChartQuerySet(models.QuerySet["Chart"]):
    def in_portal_of(self, user: User) -> Self:
        """The patient side only: the user's own charts and those of live proxy grants.

        What the switch lists and `current_chart` chooses from; a subset of `visible_to`.
        """
        if not _active(user):
            return self.none()
        return self.filter(
            Q(patient_user=user)
            | Q(pk__in=ProxyGrant.objects.live().filter(grantee=user).values("chart"))
        )

    def visible_to(self, user: User) -> Self:
        """Charts the user may read: own, live proxy grants, and (staff) their clinics' charts.

        Providers and clinic admins see every chart of the clinics they are members of.
        Revoked or expired grants give nothing, at the very next query.
        """
        if not _active(user):
            return self.none()
        live = ProxyGrant.objects.live().filter(grantee=user).values("chart")
        staff = ClinicMembership.objects.filter(user=user).values("clinic")
        return self.filter(Q(patient_user=user) | Q(pk__in=live) | Q(clinic__in=staff))

    def editable_by(self, user: User) -> Self:
        """Charts whose record and proxies the user may change: clinic staff of its clinic."""
        if not _active(user):
            return self.none()
        return self.filter(clinic__in=ClinicMembership.objects.filter(user=user).values("clinic"))


class Chart(models.Model):
    """One person's record at one clinic, with their clinician (provider)."""

    clinic = models.ForeignKey(Clinic, on_delete=models.CASCADE, related_name="charts")
    provider = models.ForeignKey(
        ClinicMembership,
        on_delete=models.PROTECT,
        related_name="charts",
        limit_choices_to={"role": ClinicMembership.Role.PROVIDER},
    )
    legal_first_name = models.CharField("legal first name", max_length=100)
    legal_last_name = models.CharField("legal last name", max_length=100)
    date_of_birth = models.DateField("date of birth", null=True, blank=True)
    # The person's own portal account; none for a child (reached through a proxy grant).
    patient_user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="own_charts",
    )
    # The ClinicPatient link this chart grew from (joining a clinic by invite).
    joined_link = models.OneToOneField(
        ClinicPatient, null=True, blank=True, on_delete=models.SET_NULL, related_name="chart"
    )
    created_at = models.DateTimeField(default=timezone.now)

    objects = ChartQuerySet.as_manager()

    class Meta:
        ordering = ["legal_last_name", "legal_first_name", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["clinic", "patient_user"],
                condition=Q(patient_user__isnull=False),
                name="one_own_chart_per_clinic",
            )
        ]
        indexes = [models.Index(fields=["clinic", "legal_last_name", "legal_first_name"])]

    def __str__(self) -> str:
        return f"{self.full_name} · {self.clinic}"

    @property
    def full_name(self) -> str:
        return f"{self.legal_first_name} {self.legal_last_name}".strip()


class ProxyGrantQuerySet(models.QuerySet["ProxyGrant"]):
    def live(self) -> Self:
        """Not revoked and not past its end date (the end date itself still counts)."""
        today = timezone.localdate()
        return self.filter(revoked_at__isnull=True).filter(
            Q(ends_on__isnull=True) | Q(ends_on__gte=today)
        )

    def visible_to(self, user: User) -> Self:
        """Grants on the charts the user may read (staff: their clinics'; a grantee: own)."""
        if not _active(user):
            return self.none()
        staff = ClinicMembership.objects.filter(user=user).values("clinic")
        return self.filter(Q(chart__clinic__in=staff) | Q(grantee=user))

    def editable_by(self, user: User) -> Self:
        """Grants the user may revoke: those of charts they may edit."""
        return self.filter(chart__in=Chart.objects.editable_by(user))


class ProxyGrant(models.Model):
    """An account acting for a chart that is not its own person's (parent, guardian, carer)."""

    class Relationship(models.TextChoices):
        PARENT = "parent", "Parent"
        GUARDIAN = "guardian", "Legal guardian"
        CARER = "carer", "Carer"
        OTHER = "other", "Other"

    # How the switch names the person from the proxy's side: "Tim Doe (child)".
    THEIR_SIDE = {
        "parent": "child",
        "guardian": "ward",
        "carer": "cared for",
        "other": "proxy access",
    }

    chart = models.ForeignKey(Chart, on_delete=models.CASCADE, related_name="proxy_grants")
    grantee = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="proxy_grants"
    )
    relationship = models.CharField(max_length=10, choices=Relationship.choices)
    ends_on = models.DateField("end date", null=True, blank=True)
    granted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    objects = ProxyGrantQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["chart", "grantee"],
                condition=Q(revoked_at__isnull=True),
                name="one_unrevoked_grant_per_chart_grantee",
            )
        ]

    def __str__(self) -> str:
        return f"{self.grantee} for {self.chart.full_name} ({self.get_relationship_display()})"

    @property
    def is_live(self) -> bool:
        return self.revoked_at is None and (
            self.ends_on is None or self.ends_on >= timezone.localdate()
        )

    @property
    def their_side(self) -> str:
        return self.THEIR_SIDE.get(self.relationship, "proxy access")

    def revoke(self, *, by: User | None) -> None:
        """End the grant now: the grantee's next page, query or socket frame sees nothing."""
        self.revoked_at = timezone.now()
        self.revoked_by = by
        self.save(update_fields=["revoked_at", "revoked_by"])


class ProxyInvite(models.Model):
    """An invite (email/SMS, 6-digit code) addressed to a guardian: accepting it creates the
    grant on `chart` instead of joining the clinic as a patient."""

    invite = models.OneToOneField(Invite, on_delete=models.CASCADE, related_name="proxy")
    chart = models.ForeignKey(Chart, on_delete=models.CASCADE, related_name="proxy_invites")
    relationship = models.CharField(max_length=10, choices=ProxyGrant.Relationship.choices)
    ends_on = models.DateField("end date", null=True, blank=True)
    grant = models.OneToOneField(
        ProxyGrant, null=True, blank=True, on_delete=models.SET_NULL, related_name="invite"
    )

    def __str__(self) -> str:
        return f"Proxy invite for {self.chart.full_name}"


# Portal permissions ------------------------------------------------------------------------

# Permission name -> label (the toggles of the clinic's Portal settings page).
PERMISSIONS: dict[str, str] = {
    "messages": "Messages",
    "online_booking": "Online booking",
    "billing": "Billing",
    "documents": "Documents",
    "health_records": "Health records",
    "instructions": "Clinician's Instructions",
}


class PortalSettings(models.Model):
    """Which patient-portal sections a clinic has on (absent from menu and Home, URLs 404)."""

    clinic = models.OneToOneField(Clinic, on_delete=models.CASCADE, related_name="portal_settings")
    messages = models.BooleanField("Messages", default=True)
    online_booking = models.BooleanField("Online booking", default=True)
    billing = models.BooleanField("Billing", default=True)
    documents = models.BooleanField("Documents", default=True)
    health_records = models.BooleanField("Health records", default=True)
    instructions = models.BooleanField("Clinician's Instructions", default=True)
    updated_at = models.DateTimeField(default=timezone.now)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        verbose_name = "portal settings"
        verbose_name_plural = "portal settings"

    def __str__(self) -> str:
        return f"Portal settings of {self.clinic}"

    @classmethod
    def for_clinic(cls, clinic: Clinic | int) -> PortalSettings:
        """The clinic's settings, or the defaults (unsaved) when it never changed them."""
        clinic_id: int = clinic.pk if isinstance(clinic, Clinic) else clinic
        found = cls.objects.filter(clinic_id=clinic_id).first()
        return found or cls(clinic_id=clinic_id)

    def allows(self, permission: str | None) -> bool:
        if permission is None:
            return True
        if permission not in PERMISSIONS:
            raise KeyError(f"Unknown portal permission {permission!r}")
        return bool(getattr(self, permission))


class DashboardMessage(models.Model):
    """A provider's "Portal Dashboard message", shown on Home's Clinician Information card."""

    provider = models.OneToOneField(
        ClinicMembership, on_delete=models.CASCADE, related_name="dashboard_message"
    )
    text = models.TextField(max_length=2000, blank=True)
    updated_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"Dashboard message of {self.provider}"


# Account: consent, notification choices, signed-in sessions -------------------------------


class PatientPreferences(models.Model):
    """A portal account's own choices: unencrypted-email consent and notification channels."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="patient_preferences"
    )
    email_consent = models.BooleanField(
        "I consent to receive unencrypted notifications by email", default=False
    )
    email_consent_at = models.DateTimeField(null=True, blank=True)
    email_new_messages = models.BooleanField("Email me about new messages", default=True)
    sms_new_messages = models.BooleanField("Text me about new messages", default=False)
    email_appointment_reminders = models.BooleanField(
        "Email me appointment reminders", default=True
    )
    sms_appointment_reminders = models.BooleanField("Text me appointment reminders", default=False)
    email_new_documents = models.BooleanField("Email me about new documents", default=True)
    sms_new_documents = models.BooleanField("Text me about new documents", default=False)

    class Meta:
        verbose_name_plural = "patient preferences"

    def __str__(self) -> str:
        return f"Preferences of {self.user}"

    @classmethod
    def of(cls, user: User) -> PatientPreferences:
        found = cls.objects.filter(user=user).first()
        return found or cls(user=user)


class ConsentChange(models.Model):
    """History of the email consent: every change, when and from where."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="email_consent_changes"
    )
    consented = models.BooleanField()
    at = models.DateTimeField(default=timezone.now)
    ip_address = models.GenericIPAddressField(null=True, blank=True)

    class Meta:
        ordering = ["-at", "-pk"]

    def __str__(self) -> str:
        return f"{self.user}: {'consented' if self.consented else 'withdrew'} at {self.at:%Y-%m-%d}"


class SignedInSession(models.Model):
    """One signed-in browser of an account, for the Account page's "Signed-in sessions".

    Keyed by a random id kept inside the session (it survives the session key's rotation at
    each privilege change); the session key itself is never stored here.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="signed_in_sessions"
    )
    tracking_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    user_agent = models.CharField(max_length=300, blank=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    last_seen = models.DateTimeField(default=timezone.now)
    ended_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-last_seen"]
        indexes = [models.Index(fields=["user", "ended_at"])]

    def __str__(self) -> str:
        return f"{self.user} · {self.device_label}"

    @property
    def device_label(self) -> str:
        """ "Chrome on Windows", from the user agent (a hint for the reader, not a proof)."""
        agent = self.user_agent
        browser = next(
            (
                name
                for token, name in (
                    ("Edg/", "Edge"),
                    ("Firefox/", "Firefox"),
                    ("Chrome/", "Chrome"),
                    ("Chromium/", "Chromium"),
                    ("Safari/", "Safari"),
                )
                if token in agent
            ),
            "A browser",
        )
        system = next(
            (
                name
                for token, name in (
                    ("iPhone", "iPhone"),
                    ("iPad", "iPad"),
                    ("Android", "Android"),
                    ("Windows", "Windows"),
                    ("Mac OS X", "macOS"),
                    ("Linux", "Linux"),
                )
                if token in agent
            ),
            "",
        )
        return f"{browser} on {system}" if system else browser
