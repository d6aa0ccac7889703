"""The patient side of Clinician's Instructions: the list, one instruction, its PDF.

Every view is gated by `@patient_section("instructions")` (404 when the clinic turned the
section off) and reads through `Instruction.objects.for_patient(user, request.chart)`: the
published instructions of the chosen chart only, so another chart's id is a 404.
"""

from __future__ import annotations

from django.http.response import HttpResponseBase
from django.shortcuts import get_object_or_404
from django.views.decorators.http import require_safe

from audit.models import AuditEvent
from patient_portal.decorators import patient_section
from patient_portal.layout import render_patient
from patient_portal.services import record_for_chart
from portal.files import safe_filename, serve_private_file
from portal.types import AuthedHttpRequest

from . import services
from .cards import with_unread
from .models import Instruction
from .render import render_markdown


@require_safe
@patient_section("instructions")
def instruction_list(request: AuthedHttpRequest) -> HttpResponseBase:
    chart = request.chart  # type: ignore[attr-defined]
    found = list(
        with_unread(Instruction.objects.for_patient(request.user, chart), request.user).only(
            "pk", "title", "published_at", "author_name", "pdf"
        )
    )
    return render_patient(
        request,
        "instructions/list.html",
        {"instructions": found, "unread_count": sum(not i.is_read for i in found)},
    )


@require_safe
@patient_section("instructions", audit_reads=False)
def detail(request: AuthedHttpRequest, pk: int) -> HttpResponseBase:
    chart = request.chart  # type: ignore[attr-defined]
    instruction = get_object_or_404(Instruction.objects.for_patient(request.user, chart), pk=pk)
    # Only a real opening counts as a read (a HEAD request shows nothing to anyone).
    first = request.method == "GET" and services.mark_read(
        instruction=instruction, reader=request.user
    )
    record_for_chart(
        request,
        AuditEvent.Action.VIEW,
        instruction,
        chart=chart,
        description=f"Clinician's Instructions: read instruction {instruction.pk}"
        + (" (first read)" if first else ""),
    )
    return render_patient(
        request,
        "instructions/detail.html",
        {"instruction": instruction, "body": render_markdown(instruction.text)},
    )


@require_safe
@patient_section("instructions", audit_reads=False)
def pdf(request: AuthedHttpRequest, pk: int) -> HttpResponseBase:
    chart = request.chart  # type: ignore[attr-defined]
    instruction = get_object_or_404(
        Instruction.objects.for_patient(request.user, chart).exclude(pdf=""), pk=pk
    )
    record_for_chart(
        request,
        AuditEvent.Action.DOWNLOAD,
        instruction,
        chart=chart,
        description=f"Clinician's Instructions: PDF of instruction {instruction.pk}",
    )
    return serve_pdf(instruction)


def serve_pdf(instruction: Instruction) -> HttpResponseBase:
    """The instruction's PDF, after the caller's access check: inline from our storage, or a
    short-lived S3 URL (as the chat's documents are served)."""
    return serve_private_file(
        instruction.pdf.name,
        content_type="application/pdf",
        filename=safe_filename(instruction.pdf_name or instruction.title),
    )
