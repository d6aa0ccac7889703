"""Clinician's Instructions' part of the health-records export (`patient_portal.exports`):
title, date, provider and the text as plain text in the PDF; a FHIR `DocumentReference` per
instruction with the Markdown text as a base64 attachment."""

from __future__ import annotations

import base64
from typing import TYPE_CHECKING, Any

from django.utils import timezone

from patient_portal.exports import ExportPart

from .models import Instruction
from .render import to_plain_text

if TYPE_CHECKING:
    from patient_portal.models import Chart
    from portal.pdf import PortalPDF

TITLE = "Clinician's Instructions"


def _published(chart: Chart) -> Any:
    # The exporter has checked that the requester may act for the chart; patients get what
    # they can read in the portal: the published instructions, newest first.
    return Instruction.objects.published().filter(chart=chart).order_by("-published_at", "-pk")


def _date(moment: Any) -> str:
    local = timezone.localtime(moment)
    return f"{local:%B} {local.day}, {local.year}"


def instruction_count(chart: Chart) -> int:
    return int(_published(chart).count())


def write_pdf(doc: PortalPDF, chart: Chart) -> None:
    doc.heading(TITLE, size=14)
    found = False
    for instruction in _published(chart).iterator(chunk_size=200):
        found = True
        doc.heading(instruction.title)
        doc.key_values(
            [
                ("Date", _date(instruction.published_at)),
                ("Provider", instruction.author_name),
                *(
                    [("Attached PDF", instruction.pdf_name or "document.pdf")]
                    if instruction.pdf
                    else []
                ),
            ]
        )
        doc.paragraph(to_plain_text(instruction.text))
    if not found:
        doc.paragraph("No instructions have been shared.")


def fhir_resources(chart: Chart) -> list[dict[str, Any]]:
    """One FHIR R4 DocumentReference per published instruction."""
    resources = []
    for instruction in _published(chart).iterator(chunk_size=200):
        resources.append(
            {
                "resourceType": "DocumentReference",
                "id": f"instruction-{instruction.pk}",
                "status": "current",
                "type": {"text": TITLE},
                "subject": {"display": chart.full_name},
                "date": instruction.published_at.isoformat(),
                "author": [{"display": instruction.author_name}],
                "description": instruction.title,
                "content": [
                    {
                        "attachment": {
                            "contentType": "text/markdown",
                            "data": base64.b64encode(instruction.text.encode()).decode("ascii"),
                            "title": instruction.title,
                            "creation": instruction.created_at.isoformat(),
                        }
                    }
                ],
            }
        )
    return resources


PART = ExportPart(
    key="instructions",
    title=TITLE,
    order=70,
    write_pdf=write_pdf,
    fhir_resources=fhir_resources,
    count=instruction_count,
)
