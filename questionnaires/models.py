"""Documents (SPEC §8.7): forms the clinic builds, their assignment to charts, submissions.

A `Form` is a clinic's (or, with no clinic, a built-in shared by every clinic: PHQ-9, GAD-7)
list of `Question`s. An `Assignment` asks one chart to fill one form by a due date; its
`Submission` holds the answers — a draft until submitted, then frozen (answers, score, band,
the consent's signature and the form as it was, in `snapshot`) with its PDF.

Access: `Assignment` and `Submission` build on `Chart.objects.visible_to(user)` (patients:
own charts and live proxies; staff: their clinics' charts); `Form.objects.visible_to(user)`
is the built-ins plus the forms of the user's clinics.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Self

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from invites.models import Clinic, ClinicMembership
from patient_portal.models import Chart

if TYPE_CHECKING:
    from accounts.models import User


def _active(user: User | None) -> bool:
    return bool(getattr(user, "is_authenticated", False) and user.is_active)  # type: ignore[union-attr]


class FormQuerySet(models.QuerySet["Form"]):
    def visible_to(self, user: User) -> Self:
        """The built-in forms and those of the clinics the user is a member of (staff)."""
        if not _active(user):
            return self.none()
        clinics = ClinicMembership.objects.filter(user=user).values("clinic")
        return self.filter(Q(clinic__isnull=True) | Q(clinic__in=clinics))

    def editable_by(self, user: User) -> Self:
        """Forms the user may change: their clinics' own (built-ins are nobody's to edit)."""
        if not _active(user):
            return self.none()
        clinics = ClinicMembership.objects.filter(user=user).values("clinic")
        return self.filter(clinic__in=clinics, is_builtin=False)


class Form(models.Model):
    class Kind(models.TextChoices):
        ADMIN = "admin", "Admin form"
        QUESTIONNAIRE = "questionnaire", "Questionnaire"
        SCALE = "scale", "Rating scale"
        CONSENT = "consent", "E-consent"

    class Scoring(models.TextChoices):
        NONE = "", "Not scored"
        SUM = "sum", "Sum of the scored answers"
        PHQ9 = "phq9", "PHQ-9 (published bands)"
        GAD7 = "gad7", "GAD-7 (published bands)"

    # None: a built-in form every clinic may assign (PHQ-9, GAD-7).
    clinic = models.ForeignKey(
        Clinic, null=True, blank=True, on_delete=models.CASCADE, related_name="forms"
    )
    kind = models.CharField(max_length=20, choices=Kind.choices, default=Kind.QUESTIONNAIRE)
    title = models.CharField(max_length=200)
    description = models.TextField(max_length=2000, blank=True)
    # The built-ins' stable name (their canonical URL); clinic forms use their id.
    slug = models.SlugField(max_length=60, blank=True)
    scoring = models.CharField(max_length=10, choices=Scoring.choices, blank=True, default="")
    # E-consent: the text the signer agrees to. Editing it makes a new version; each
    # submission keeps the text and version it was signed with.
    consent_text = models.TextField(max_length=20000, blank=True)
    version = models.PositiveIntegerField(default=1)
    is_builtin = models.BooleanField(default=False)
    archived = models.BooleanField(default=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    objects = FormQuerySet.as_manager()

    class Meta:
        ordering = ["-is_builtin", "title", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["slug"], condition=Q(is_builtin=True), name="one_builtin_per_slug"
            )
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def canonical_url(self) -> str:
        """The FHIR Questionnaire's canonical URL (without the version)."""
        name = self.slug if self.is_builtin and self.slug else f"form-{self.pk}"
        return f"{settings.SITE_URL.rstrip('/')}/fhir/Questionnaire/{name}"

    @property
    def is_scored(self) -> bool:
        return bool(self.scoring)


class Question(models.Model):
    class Kind(models.TextChoices):
        TEXT = "text", "Text"
        LONG_TEXT = "long_text", "Long text"
        DATE = "date", "Date"
        SINGLE = "single", "Single choice"
        MULTIPLE = "multiple", "Multiple choice"
        YES_NO = "yes_no", "Yes / no"
        SCALE = "scale", "Scale"

    form = models.ForeignKey(Form, on_delete=models.CASCADE, related_name="questions")
    position = models.PositiveIntegerField(default=0)
    # A heading above this question when it starts a new section ("Medical history").
    section = models.CharField(max_length=120, blank=True)
    kind = models.CharField(max_length=12, choices=Kind.choices)
    text = models.CharField(max_length=500)
    help_text = models.CharField(max_length=300, blank=True)
    required = models.BooleanField(default=True)
    # Single/multiple choice: [{"value": "0", "label": "Not at all"}, …]; a scored question's
    # values are its points.
    choices = models.JSONField(default=list, blank=True)
    scale_min = models.SmallIntegerField(null=True, blank=True)
    scale_max = models.SmallIntegerField(null=True, blank=True)
    min_label = models.CharField(max_length=60, blank=True)
    max_label = models.CharField(max_length=60, blank=True)
    # Counts towards the form's score (single choice with numeric values, or scale).
    scored = models.BooleanField(default=False)
    # A stable name for built-in items ("phq9_9"), used by the item-9 alert.
    code = models.CharField(max_length=30, blank=True)

    class Meta:
        ordering = ["position", "pk"]

    def __str__(self) -> str:
        return self.text

    @property
    def field_name(self) -> str:
        return f"q{self.pk}"

    def choice_label(self, value: str) -> str:
        for choice in self.choices or []:
            if choice.get("value") == value:
                return str(choice.get("label", value))
        return value


class AssignmentQuerySet(models.QuerySet["Assignment"]):
    def visible_to(self, user: User) -> Self:
        """Assignments of the charts the user may read (own, live proxies, staff's clinics)."""
        return self.filter(chart__in=Chart.objects.visible_to(user))

    def editable_by(self, user: User) -> Self:
        """Assignments the user may change from the clinic side (staff of the chart's clinic)."""
        return self.filter(chart__in=Chart.objects.editable_by(user))

    def open(self) -> Self:
        """Not cancelled and not yet submitted (pending, or a draft)."""
        return self.filter(cancelled_at__isnull=True).exclude(
            submission__status=Submission.Status.SUBMITTED
        )

    def completed(self) -> Self:
        return self.filter(submission__status=Submission.Status.SUBMITTED)


class Assignment(models.Model):
    """A form the clinic asked a chart to fill, by a due date."""

    chart = models.ForeignKey(Chart, on_delete=models.CASCADE, related_name="form_assignments")
    form = models.ForeignKey(Form, on_delete=models.PROTECT, related_name="assignments")
    due_on = models.DateField("due date", null=True, blank=True)
    assigned_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    assigned_at = models.DateTimeField(default=timezone.now)
    cancelled_at = models.DateTimeField(null=True, blank=True)

    objects = AssignmentQuerySet.as_manager()

    class Meta:
        ordering = ["due_on", "assigned_at", "pk"]
        indexes = [models.Index(fields=["chart", "cancelled_at"])]

    def __str__(self) -> str:
        return f"{self.form} for {self.chart.full_name}"

    @property
    def is_overdue(self) -> bool:
        return self.due_on is not None and self.due_on < timezone.localdate()


class SubmissionQuerySet(models.QuerySet["Submission"]):
    def visible_to(self, user: User) -> Self:
        """Submissions of the charts the user may read."""
        return self.filter(chart__in=Chart.objects.visible_to(user))

    def submitted(self) -> Self:
        return self.filter(status=Submission.Status.SUBMITTED)


def submission_pdf_path(instance: Submission, filename: str) -> str:
    # No name, date of birth or form title in the storage key: only ids and a random part.
    import uuid

    return f"documents/{instance.chart_id}/{uuid.uuid4().hex}.pdf"


class Submission(models.Model):
    """The answers to one assignment: a draft, then (submitted) frozen with score and PDF."""

    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        SUBMITTED = "submitted", "Submitted"

    assignment = models.OneToOneField(
        Assignment, on_delete=models.CASCADE, related_name="submission"
    )
    chart = models.ForeignKey(Chart, on_delete=models.CASCADE, related_name="form_submissions")
    form = models.ForeignKey(Form, on_delete=models.PROTECT, related_name="submissions")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.DRAFT)
    # {"<question id>": "value" | ["value", …]}: kept as typed (validated) for drafts too.
    answers = models.JSONField(default=dict, blank=True)
    started_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    submitted_at = models.DateTimeField(null=True, blank=True)
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # The chart's person when someone else (a proxy) submitted: "signed by X for Y".
    on_behalf_of = models.CharField(max_length=200, blank=True)
    submitted_by_name = models.CharField(max_length=200, blank=True)
    score = models.PositiveSmallIntegerField(null=True, blank=True)
    band = models.CharField(max_length=40, blank=True)
    # PHQ-9 item 9 above 0: the clinic was alerted (once, at submission).
    alert = models.BooleanField(default=False)
    form_version = models.PositiveIntegerField(default=1)
    # The form's questions and the answers' labels as they were submitted (the form may change).
    snapshot = models.JSONField(default=list, blank=True)
    # E-consent signature.
    signed_name = models.CharField(max_length=200, blank=True)
    signed_on = models.DateField(null=True, blank=True)
    signer_ip = models.GenericIPAddressField(null=True, blank=True)
    signer_user_agent = models.CharField(max_length=300, blank=True)
    consent_text = models.TextField(blank=True)
    pdf = models.FileField(upload_to=submission_pdf_path, blank=True, max_length=200)

    objects = SubmissionQuerySet.as_manager()

    class Meta:
        ordering = ["-submitted_at", "-pk"]
        indexes = [models.Index(fields=["chart", "status", "submitted_at"])]

    def __str__(self) -> str:
        return f"{self.form} · {self.chart.full_name} · {self.get_status_display()}"

    @property
    def is_submitted(self) -> bool:
        return self.status == self.Status.SUBMITTED

    @property
    def signed_by_line(self) -> str:
        """ "Mary Doe" or "Mary Doe for Tim Doe"."""
        who = self.submitted_by_name or "—"
        return f"{who} for {self.on_behalf_of}" if self.on_behalf_of else who

    def answer_rows(self) -> list[dict[str, Any]]:
        """The frozen questions and answers (sections included), for pages, PDF and export."""
        return list(self.snapshot or [])
