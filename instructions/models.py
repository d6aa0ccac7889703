"""Clinician's Instructions (SPEC 8.5): notes a provider shares with a chart.

An `Instruction` hangs off a chart: a title, Markdown text (rendered safe by `render.py`) and an
optional PDF. Patients (the chart's own account and its live proxies) read the published ones;
clinic staff of the chart's clinic write, edit, unpublish and publish again. Each patient-side
reader's first opening is one `InstructionRead` row: the clinic sees who read what, when.

Editing: an instruction can be edited until someone has read it; from its first read it is
frozen (what the patient read is exactly what the clinic keeps), and the clinic unpublishes it
and writes a new one instead. Every write is audited.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Self

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from patient_portal.models import Chart

if TYPE_CHECKING:
    from accounts.models import User

TITLE_MAX = 200
TEXT_MAX = 20_000


class InstructionQuerySet(models.QuerySet["Instruction"]):
    def visible_to(self, user: User) -> Self:
        """Published instructions of the charts the user acts for in the patient portal (own,
        live proxies), and every instruction of the charts of their clinics (staff).

        Built on `Chart.objects`: a revoked or expired proxy sees nothing from the next query;
        an unpublished instruction is gone for patients at once.
        """
        in_portal = Chart.objects.in_portal_of(user).values("pk")
        staff = Chart.objects.editable_by(user).values("pk")
        return self.filter(Q(chart__in=in_portal, unpublished_at__isnull=True) | Q(chart__in=staff))

    def editable_by(self, user: User) -> Self:
        """Instructions the user may edit, unpublish and publish: clinic staff (providers and
        admins) of the chart's clinic."""
        return self.filter(chart__in=Chart.objects.editable_by(user).values("pk"))

    def published(self) -> Self:
        return self.filter(unpublished_at__isnull=True)

    def for_patient(self, user: User, chart: Chart) -> Self:
        """The patient side of one chart: published, newest first."""
        return (
            self.visible_to(user).published().filter(chart=chart).order_by("-published_at", "-pk")
        )


class Instruction(models.Model):
    """A note a provider shares with a chart (treatment plan, recommendation)."""

    chart = models.ForeignKey(Chart, on_delete=models.CASCADE, related_name="instructions")
    title = models.CharField(max_length=TITLE_MAX)
    # Markdown, rendered through instructions.render.render_markdown (never raw HTML).
    text = models.TextField(max_length=TEXT_MAX)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    # The provider's name as shown to the patient, kept if the account goes.
    author_name = models.CharField(max_length=200)
    # The optional PDF, stored under a random key (never its uploaded name), served only by
    # the access-checked views.
    pdf = models.FileField(max_length=255, blank=True)
    pdf_name = models.CharField(max_length=255, blank=True)
    pdf_size = models.PositiveBigIntegerField(default=0)
    pdf_pages = models.PositiveIntegerField(default=0)
    pdf_sha256 = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    # When patients could first see it (publishing again keeps the first date).
    published_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    unpublished_at = models.DateTimeField(null=True, blank=True)
    unpublished_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    objects = InstructionQuerySet.as_manager()

    class Meta:
        ordering = ["-published_at", "-pk"]
        indexes = [
            models.Index(fields=["chart", "-published_at"]),
            # The clinic's "latest instructions" page walks this, newest first, to its 25 rows.
            models.Index(fields=["-published_at", "-id"], name="instruction_latest_idx"),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def is_published(self) -> bool:
        return self.unpublished_at is None

    @property
    def has_pdf(self) -> bool:
        return bool(self.pdf)


class InstructionRead(models.Model):
    """The first time one patient-side reader (the chart's own account or a proxy) opened an
    instruction. One row per (instruction, reader), never updated."""

    instruction = models.ForeignKey(Instruction, on_delete=models.CASCADE, related_name="reads")
    reader = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="instruction_reads"
    )
    # Whom the reader acted for ("" for the chart's own account), as the audit names it.
    on_behalf_of = models.CharField(max_length=200, blank=True)
    first_read_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["first_read_at", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["instruction", "reader"], name="one_first_read_per_reader"
            )
        ]

    def __str__(self) -> str:
        return f"{self.reader_id} first read {self.instruction_id} at {self.first_read_at}"
