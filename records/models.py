"""A chart's record the patient keeps up to date, and what the clinic shares with the chart.

- `Demographics` (one per chart; the legal name and date of birth stay on `Chart`),
  `EmergencyContact` (several), `Coverage` (primary and secondary insurance, with card images);
- `PendingChange`: one field a patient proposed, waiting for the clinic to accept or reject;
- `FieldChange`: the history of every field (who, when, old → new). Our own small model rather
  than the audit log: the audit log's free-text description (300 characters) cannot be queried
  per field, and values may be longer; each change is *also* audited. (django-simple-history is
  not installed, and a whole-row history table would hide which field a reviewer accepted.)
- `HealthRecord`: a PDF in the chart's health records (visit summaries, lab results, letters,
  completed documents). `records.services.add_health_record` is the one way to add one;
- `HealthExport`: an "Export health records" run (PDF + FHIR JSON), kept for EXPORT_TTL.

Every model hangs off a chart, and its `visible_to(user)` is built on
`Chart.objects.visible_to(user)`; staff writes go through `editable_by(user)`.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import TYPE_CHECKING, Self

from django.conf import settings
from django.db import models
from django.utils import timezone

from patient_portal.models import Chart

if TYPE_CHECKING:
    from accounts.models import User

# An export is kept this long after it is ready, then deleted by `purge_health_exports`.
EXPORT_TTL = dt.timedelta(hours=24)


class ChartOwnedQuerySet(models.QuerySet):
    """`visible_to` / `editable_by` for any model with a `chart` foreign key."""

    def visible_to(self, user: User) -> Self:
        """Rows of the charts the user may read (own, live proxies, their clinics')."""
        return self.filter(chart__in=Chart.objects.visible_to(user))

    def editable_by(self, user: User) -> Self:
        """Rows of the charts the user may change on the clinic side (staff of its clinic)."""
        return self.filter(chart__in=Chart.objects.editable_by(user))


# The chart's demographics -----------------------------------------------------------------


class Demographics(models.Model):
    """What the patient keeps up to date beyond the chart's legal name and date of birth."""

    chart = models.OneToOneField(Chart, on_delete=models.CASCADE, related_name="demographics")
    preferred_name = models.CharField("preferred name", max_length=100, blank=True)
    sex = models.CharField("sex", max_length=40, blank=True)
    gender_identity = models.CharField("gender identity", max_length=100, blank=True)
    pronouns = models.CharField("pronouns", max_length=40, blank=True)
    address_line1 = models.CharField("address", max_length=200, blank=True)
    address_line2 = models.CharField("address line 2", max_length=200, blank=True)
    city = models.CharField("city", max_length=100, blank=True)
    state = models.CharField("state", max_length=100, blank=True)
    postal_code = models.CharField("ZIP code", max_length=20, blank=True)
    country = models.CharField("country", max_length=100, blank=True)
    phone = models.CharField("phone", max_length=30, blank=True)
    email = models.EmailField("email", max_length=254, blank=True)
    preferred_language = models.CharField("preferred language", max_length=60, blank=True)
    updated_at = models.DateTimeField(default=timezone.now)

    objects = ChartOwnedQuerySet.as_manager()

    class Meta:
        verbose_name_plural = "demographics"

    def __str__(self) -> str:
        return f"Demographics of {self.chart.full_name}"

    @property
    def address(self) -> str:
        town = " ".join(p for p in (self.state, self.postal_code) if p)
        parts = [
            self.address_line1,
            self.address_line2,
            ", ".join(p for p in (self.city, town) if p),
        ]
        return "\n".join(p for p in [*parts, self.country] if p)


class EmergencyContact(models.Model):
    chart = models.ForeignKey(Chart, on_delete=models.CASCADE, related_name="emergency_contacts")
    name = models.CharField("name", max_length=200)
    relationship = models.CharField("relationship", max_length=60, blank=True)
    phone = models.CharField("phone", max_length=30, blank=True)
    email = models.EmailField("email", max_length=254, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    objects = ChartOwnedQuerySet.as_manager()

    class Meta:
        ordering = ["created_at", "pk"]

    def __str__(self) -> str:
        return f"{self.name} ({self.relationship})" if self.relationship else self.name


class Coverage(models.Model):
    """An insurance plan of the chart: primary or secondary (at most one of each)."""

    class Rank(models.TextChoices):
        PRIMARY = "primary", "Primary insurance"
        SECONDARY = "secondary", "Secondary insurance"

    chart = models.ForeignKey(Chart, on_delete=models.CASCADE, related_name="coverages")
    rank = models.CharField(max_length=10, choices=Rank.choices)
    payer = models.CharField("insurance company (payer)", max_length=200, blank=True)
    member_id = models.CharField("member ID", max_length=60, blank=True)
    group_number = models.CharField("group number", max_length=60, blank=True)
    subscriber_name = models.CharField("subscriber", max_length=200, blank=True)
    subscriber_relationship = models.CharField(
        "subscriber's relationship to the patient", max_length=40, blank=True
    )
    # Card images (JPEG/PNG re-encoded without metadata) or checked PDFs, private storage.
    card_front = models.FileField("card front", upload_to="records/cards/", blank=True)
    card_front_type = models.CharField(max_length=40, blank=True)
    card_back = models.FileField("card back", upload_to="records/cards/", blank=True)
    card_back_type = models.CharField(max_length=40, blank=True)
    updated_at = models.DateTimeField(default=timezone.now)

    objects = ChartOwnedQuerySet.as_manager()

    class Meta:
        ordering = ["chart", "rank"]
        constraints = [
            models.UniqueConstraint(fields=["chart", "rank"], name="one_coverage_per_rank")
        ]

    def __str__(self) -> str:
        return f"{self.get_rank_display()}: {self.payer or '—'}"


# Pending changes and field history -----------------------------------------------------------


class Subject(models.TextChoices):
    DEMOGRAPHICS = "demographics", "Demographics"
    CONTACT = "contact", "Emergency contact"
    INSURANCE = "insurance", "Insurance"


class PendingChange(models.Model):
    """One field a patient (or proxy) proposed; the clinic accepts or rejects it.

    `target` names the row: "" for demographics, a contact's pk or "new-<hex>" for a contact
    not yet created (its fields share the token), "primary"/"secondary" for insurance. A card
    image waits in `file` (already checked and re-encoded). `field` "remove" on a contact
    proposes removing it.
    """

    class Status(models.TextChoices):
        PENDING = "pending", "Waiting for the clinic"
        ACCEPTED = "accepted", "Accepted"
        REJECTED = "rejected", "Not accepted"

    chart = models.ForeignKey(Chart, on_delete=models.CASCADE, related_name="pending_changes")
    subject = models.CharField(max_length=20, choices=Subject.choices)
    target = models.CharField(max_length=40, blank=True)
    field = models.CharField(max_length=40)
    label = models.CharField(max_length=100)
    old_value = models.TextField(blank=True)
    new_value = models.TextField(blank=True)
    file = models.FileField(upload_to="records/pending/", blank=True)
    file_type = models.CharField(max_length=40, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    submitted_at = models.DateTimeField(default=timezone.now)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)

    objects = ChartOwnedQuerySet.as_manager()

    class Meta:
        ordering = ["-submitted_at", "pk"]
        indexes = [
            models.Index(fields=["chart", "status"]),
            models.Index(fields=["status", "submitted_at"]),
        ]

    def __str__(self) -> str:
        return f"{self.label}: {self.get_status_display()}"

    @property
    def is_file(self) -> bool:
        return bool(self.file)


class FieldChange(models.Model):
    """History of one field of a chart's record: who changed it, when, old → new."""

    chart = models.ForeignKey(Chart, on_delete=models.CASCADE, related_name="field_changes")
    subject = models.CharField(max_length=20, choices=Subject.choices)
    target = models.CharField(max_length=40, blank=True)
    field = models.CharField(max_length=40)
    label = models.CharField(max_length=100)
    old_value = models.TextField(blank=True)
    new_value = models.TextField(blank=True)
    # Who proposed it (the patient or proxy) and who applied it (the clinic's reviewer).
    proposed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    changed_at = models.DateTimeField(default=timezone.now)
    pending = models.OneToOneField(
        PendingChange, null=True, blank=True, on_delete=models.SET_NULL, related_name="applied"
    )

    objects = ChartOwnedQuerySet.as_manager()

    class Meta:
        ordering = ["-changed_at", "-pk"]
        indexes = [models.Index(fields=["chart", "subject", "field", "changed_at"])]

    def __str__(self) -> str:
        return f"{self.label}: {self.old_value!r} → {self.new_value!r}"


# Health records ------------------------------------------------------------------------------


class HealthRecordQuerySet(ChartOwnedQuerySet):
    pass


class HealthRecord(models.Model):
    """A PDF in a chart's health records (shared by the clinic, or a completed document)."""

    class Kind(models.TextChoices):
        VISIT_SUMMARY = "visit_summary", "Visit summary"
        LAB_RESULT = "lab_result", "Lab result"
        LETTER = "letter", "Letter"
        COMPLETED_DOCUMENT = "completed_document", "Completed document"
        OTHER = "other", "Other"

    chart = models.ForeignKey(Chart, on_delete=models.CASCADE, related_name="health_records")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    title = models.CharField(max_length=200)
    file = models.FileField(upload_to="records/health/")
    size = models.PositiveIntegerField(default=0)
    page_count = models.PositiveIntegerField(default=0)
    sha256 = models.CharField(max_length=64, blank=True)
    # Where it came from: "clinic" (a staff upload) or "<app>:<id>" (e.g. "documents:42").
    source = models.CharField(max_length=100, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    objects = HealthRecordQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [
            models.Index(fields=["chart", "created_at"]),
            models.Index(fields=["chart", "kind", "created_at"]),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.title}"


# Exports -------------------------------------------------------------------------------------


class HealthExportQuerySet(ChartOwnedQuerySet):
    def of(self, user: User) -> Self:
        """Exports the user asked for, of charts they may still read (a revoked proxy: none)."""
        return self.visible_to(user).filter(requested_by=user)


class HealthExport(models.Model):
    """One "Export health records" run: a paginated PDF and a FHIR R4 Bundle (JSON)."""

    class Status(models.TextChoices):
        QUEUED = "queued", "Waiting to start"
        RUNNING = "running", "Being prepared"
        READY = "ready", "Ready"
        FAILED = "failed", "Failed"

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    chart = models.ForeignKey(Chart, on_delete=models.CASCADE, related_name="health_exports")
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+"
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    progress = models.PositiveSmallIntegerField(default=0)  # percent
    step = models.CharField(max_length=100, blank=True)
    pdf = models.FileField(upload_to="records/exports/", blank=True)
    fhir_json = models.FileField(upload_to="records/exports/", blank=True)
    page_count = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)

    objects = HealthExportQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["expires_at"])]

    def __str__(self) -> str:
        return f"Export of {self.chart.full_name} ({self.get_status_display()})"

    @property
    def is_done(self) -> bool:
        return self.status in {self.Status.READY, self.Status.FAILED}
