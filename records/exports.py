"""The records app's parts of "Export health records", and the exporter that runs every part.

Parts (registered in `RecordsConfig.ready()` through `patient_portal.exports`): demographics
(10), emergency contacts (20), insurance (30), health records list (40). Other apps add theirs
(instructions, documents, appointments) the same way; `build_export` runs them all, in order,
after a cover page, and writes the same content as a FHIR R4 Bundle (JSON) whose every
resource is validated by constructing its `fhir.resources` model.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
import logging
from collections.abc import Callable, Iterable, Iterator, Sequence
from functools import cache
from typing import TYPE_CHECKING, Any

from django.core.files.base import ContentFile
from django.urls import reverse
from django.utils import timezone

from patient_portal.exports import ExportPart, export_parts, register_export_part
from patient_portal.models import Chart, PortalSettings

from .models import EXPORT_TTL, Coverage, EmergencyContact, HealthExport, HealthRecord
from .services import CONTACT_FIELDS, demographics_of

# fhir.resources and fpdf (through portal.pdf) are imported when an export is built, not when
# the app registers its parts at start: together about half a second of every process's start
# (web, worker, each management command) that never builds an export.
if TYPE_CHECKING:
    from portal.pdf import PortalPDF

logger = logging.getLogger(__name__)


@cache
def fhir_model(kind: str) -> Any:
    """The fhir.resources (R4B) model of a resourceType, to validate what the parts return
    (other apps' parts too)."""
    from fhir.resources.R4B import get_fhir_model_class

    return get_fhir_model_class(kind)


def patient_ref(chart: Chart) -> dict[str, str]:
    return {"reference": f"Patient/chart-{chart.pk}", "display": chart.full_name}


# Demographics ------------------------------------------------------------------------------


def write_demographics(doc: PortalPDF, chart: Chart) -> None:
    demo = demographics_of(chart)
    doc.key_values(
        [
            ("Legal name", chart.full_name),
            ("Preferred name", demo.preferred_name),
            ("Date of birth", chart.date_of_birth.isoformat() if chart.date_of_birth else ""),
            ("Sex", demo.sex),
            ("Gender identity", demo.gender_identity),
            ("Pronouns", demo.pronouns),
            ("Address", demo.address),
            ("Phone", demo.phone),
            ("Email", demo.email),
            ("Preferred language", demo.preferred_language),
        ]
    )


GENDERS = {"female": "female", "f": "female", "male": "male", "m": "male"}


def demographics_resources(chart: Chart) -> list[dict[str, Any]]:
    demo = demographics_of(chart)
    patient: dict[str, Any] = {
        "resourceType": "Patient",
        "id": f"chart-{chart.pk}",
        "name": [
            {"use": "official", "family": chart.legal_last_name, "given": [chart.legal_first_name]}
        ],
        "gender": GENDERS.get(demo.sex.strip().lower(), "other" if demo.sex else "unknown"),
        "managingOrganization": {"display": chart.clinic.name},
    }
    if demo.preferred_name:
        patient["name"].append({"use": "usual", "text": demo.preferred_name})
    if chart.date_of_birth:
        patient["birthDate"] = chart.date_of_birth.isoformat()
    telecom = []
    if demo.phone:
        telecom.append({"system": "phone", "value": demo.phone})
    if demo.email:
        telecom.append({"system": "email", "value": demo.email})
    if telecom:
        patient["telecom"] = telecom
    if demo.address:
        address: dict[str, Any] = {"text": demo.address}
        lines = [x for x in (demo.address_line1, demo.address_line2) if x]
        if lines:
            address["line"] = lines
        for key, value in (
            ("city", demo.city),
            ("state", demo.state),
            ("postalCode", demo.postal_code),
            ("country", demo.country),
        ):
            if value:
                address[key] = value
        patient["address"] = [address]
    if demo.preferred_language:
        patient["communication"] = [
            {"language": {"text": demo.preferred_language}, "preferred": True}
        ]
    extensions = []
    if demo.gender_identity:
        extensions.append(
            {
                "url": "http://hl7.org/fhir/StructureDefinition/individual-genderIdentity",
                "extension": [
                    {"url": "value", "valueCodeableConcept": {"text": demo.gender_identity}}
                ],
            }
        )
    if demo.pronouns:
        extensions.append(
            {
                "url": "http://hl7.org/fhir/StructureDefinition/individual-pronouns",
                "extension": [{"url": "value", "valueCodeableConcept": {"text": demo.pronouns}}],
            }
        )
    if extensions:
        patient["extension"] = extensions
    return [patient]


# Emergency contacts ------------------------------------------------------------------------


def write_contacts(doc: PortalPDF, chart: Chart) -> None:
    contacts = EmergencyContact.objects.filter(chart=chart)
    rows = [[c.name, c.relationship, c.phone, c.email] for c in contacts]
    if not rows:
        doc.paragraph("No emergency contacts on file.")
        return
    doc.data_table(list(CONTACT_FIELDS.values()), rows, widths=[50, 35, 35, 59])


def contact_resources(chart: Chart) -> list[dict[str, Any]]:
    found = []
    for contact in EmergencyContact.objects.filter(chart=chart):
        person: dict[str, Any] = {
            "resourceType": "RelatedPerson",
            "id": f"contact-{contact.pk}",
            "patient": patient_ref(chart),
            "name": [{"text": contact.name or "—"}],
            "relationship": [
                {
                    "coding": [
                        {
                            "system": "http://terminology.hl7.org/CodeSystem/v2-0131",
                            "code": "C",
                            "display": "Emergency Contact",
                        }
                    ],
                    "text": contact.relationship or "Emergency contact",
                }
            ],
        }
        telecom = [
            {"system": system, "value": value}
            for system, value in (("phone", contact.phone), ("email", contact.email))
            if value
        ]
        if telecom:
            person["telecom"] = telecom
        found.append(person)
    return found


# Insurance ---------------------------------------------------------------------------------


def write_insurance(doc: PortalPDF, chart: Chart) -> None:
    coverages = list(Coverage.objects.filter(chart=chart))
    if not coverages:
        doc.paragraph("No insurance on file.")
        return
    for coverage in coverages:
        doc.heading(coverage.get_rank_display(), size=11)
        doc.key_values(
            [
                ("Insurance company", coverage.payer),
                ("Member ID", coverage.member_id),
                ("Group number", coverage.group_number),
                ("Subscriber", coverage.subscriber_name),
                ("Relationship", coverage.subscriber_relationship),
                ("Card front", "on file" if coverage.card_front else "not on file"),
                ("Card back", "on file" if coverage.card_back else "not on file"),
            ]
        )


def insurance_resources(chart: Chart) -> list[dict[str, Any]]:
    found = []
    for coverage in Coverage.objects.filter(chart=chart):
        item: dict[str, Any] = {
            "resourceType": "Coverage",
            "id": f"coverage-{coverage.pk}",
            "status": "active",
            "beneficiary": patient_ref(chart),
            "payor": [{"display": coverage.payer or "Unknown payer"}],
            "order": 1 if coverage.rank == Coverage.Rank.PRIMARY else 2,
        }
        if coverage.member_id:
            item["subscriberId"] = coverage.member_id
        if coverage.subscriber_name:
            item["subscriber"] = {"display": coverage.subscriber_name}
        if coverage.subscriber_relationship:
            item["relationship"] = {"text": coverage.subscriber_relationship}
        if coverage.group_number:
            item["class"] = [
                {
                    "type": {
                        "coding": [
                            {
                                "system": "http://terminology.hl7.org/CodeSystem/coverage-class",
                                "code": "group",
                            }
                        ]
                    },
                    "value": coverage.group_number,
                }
            ]
        found.append(item)
    return found


# Health records list -----------------------------------------------------------------------


def _records_shared(chart: Chart) -> bool:
    return PortalSettings.for_clinic(chart.clinic_id).health_records


def fitted(doc: PortalPDF, text: str, width: float) -> str:
    """`text` shortened with "…" to fit `width` mm in the current font (one measurement for
    text that fits, a few for text that does not)."""
    from portal.pdf import printable

    text = printable(text)
    room = width - 2 * doc.c_margin
    if doc.get_string_width(text) <= room:
        return text
    while text and doc.get_string_width(text + "…") > room:
        # Cut in proportion to the overflow, at least one character per step.
        over = doc.get_string_width(text + "…") / room
        text = text[: max(0, min(len(text) - 1, int(len(text) / over)))]
    return text + "…"


def list_table(
    doc: PortalPDF, headings: list[str], widths: list[float], rows: Iterable[Sequence[object]]
) -> None:
    """A one-line-per-row table for long lists (hundreds of rows): fpdf2's `table()` measures
    and wraps every cell twice, which costs seconds at 500 rows; here each cell is one `cell()`
    (long text shortened with "…"), and the heading row repeats on every page."""
    from portal.pdf import FAMILY, printable

    height = 6.0

    def heading_row() -> None:
        doc.set_font(FAMILY, "B", 9)
        doc.set_fill_color(240, 243, 247)
        for text, width in zip(headings, widths, strict=True):
            doc.cell(width, height, printable(text), border="B", fill=True)
        doc.ln(height)
        doc.set_font(FAMILY, "", 9)

    heading_row()
    for row in rows:
        if doc.will_page_break(height):
            doc.add_page()
            heading_row()
        for value, width in zip(row, widths, strict=True):
            doc.cell(width, height, fitted(doc, str(value), width), border="B")
        doc.ln(height)
    doc.ln(2)


def write_health_records(doc: PortalPDF, chart: Chart) -> None:
    if not _records_shared(chart):
        doc.paragraph("Health records are not shared through this clinic's portal.")
        return
    records = (
        HealthRecord.objects.filter(chart=chart)
        .only("created_at", "kind", "title", "page_count")
        .iterator(chunk_size=500)
    )
    first = next(records, None)
    if first is None:
        doc.paragraph("No health records shared yet.")
        return
    doc.paragraph(
        "Each record is a separate PDF: view or download it from Demographic Info → Health records."
    )

    def rows() -> Iterator[tuple[object, ...]]:
        for r in itertools.chain([first], records):
            yield (
                timezone.localdate(r.created_at).isoformat(),
                r.get_kind_display(),
                r.title,
                r.page_count,
            )

    list_table(doc, ["Date", "Type", "Title", "Pages"], [25, 35, 103, 16], rows())


def health_record_resources(chart: Chart) -> list[dict[str, Any]]:
    if not _records_shared(chart):
        return []
    found = []
    for r in HealthRecord.objects.filter(chart=chart).iterator(chunk_size=500):
        found.append(
            {
                "resourceType": "DocumentReference",
                "id": f"health-record-{r.pk}",
                "status": "current",
                "type": {"text": r.get_kind_display()},
                "subject": patient_ref(chart),
                "date": r.created_at.isoformat(),
                "description": r.title,
                "content": [
                    {
                        "attachment": {
                            "contentType": "application/pdf",
                            "title": r.title,
                            "size": r.size,
                            "creation": r.created_at.isoformat(),
                            "url": reverse("records:health_record", args=[r.pk]),
                        }
                    }
                ],
            }
        )
    return found


def health_record_count(chart: Chart) -> int:
    return HealthRecord.objects.filter(chart=chart).count()


def register_parts() -> None:
    register_export_part(
        ExportPart(
            key="demographics",
            title="Demographics",
            order=10,
            write_pdf=write_demographics,
            fhir_resources=demographics_resources,
        )
    )
    register_export_part(
        ExportPart(
            key="emergency_contacts",
            title="Emergency contacts",
            order=20,
            write_pdf=write_contacts,
            fhir_resources=contact_resources,
        )
    )
    register_export_part(
        ExportPart(
            key="insurance",
            title="Insurance",
            order=30,
            write_pdf=write_insurance,
            fhir_resources=insurance_resources,
        )
    )
    register_export_part(
        ExportPart(
            key="health_records",
            title="Health records",
            order=40,
            write_pdf=write_health_records,
            fhir_resources=health_record_resources,
            count=health_record_count,
        )
    )
    # HOOK (appointments): the scheduling app registers its own part (order 60) in its
    # ready(); nothing to add here. bench/records.py has the matching hook for its data.


# The exporter ------------------------------------------------------------------------------


def validate_resource(resource: dict[str, Any]) -> dict[str, Any]:
    """Construct the resource's fhir.resources model (raises on an invalid resource) and
    return its JSON-ready dict."""
    model = fhir_model(resource.get("resourceType", ""))
    return dict(json.loads(model.model_validate(resource).model_dump_json(exclude_none=True)))


def write_cover(doc: PortalPDF, chart: Chart, parts: list[ExportPart], when: dt.datetime) -> None:
    doc.ln(10)
    doc.heading("Health records", size=20)
    doc.key_values(
        [
            ("Person", chart.full_name),
            ("Date of birth", chart.date_of_birth.isoformat() if chart.date_of_birth else ""),
            ("Clinic", chart.clinic.name),
            ("Clinician", chart.provider.display_name),
            ("Generated", timezone.localtime(when).strftime("%Y-%m-%d %H:%M %Z")),
        ]
    )
    doc.heading("Contents", size=12)
    for part in parts:
        doc.paragraph(f"• {part.title}")
    doc.paragraph(
        "This document contains personal health information. Keep it private. The same "
        "content is available as machine-readable JSON (FHIR R4) from the same page."
    )


def build_export(
    export: HealthExport, *, progress: Callable[[int, str], None] | None = None
) -> HealthExport:
    """Write the PDF (cover page, then every registered part) and the FHIR Bundle of
    `export.chart`, saving both on the export; `progress(percent, step)` is told after each
    part."""
    from fhir.resources.R4B.bundle import Bundle

    from portal.pdf import PortalPDF

    chart = Chart.objects.select_related("clinic", "provider__user").get(pk=export.chart_id)
    parts = export_parts()
    now = timezone.now()
    doc = PortalPDF(
        title=f"Health records — {chart.full_name}",
        subtitle=f"{chart.clinic.name} · generated {timezone.localtime(now):%Y-%m-%d}",
        footer_note=chart.full_name,
    )
    write_cover(doc, chart, parts, now)
    entries: list[dict[str, Any]] = []
    for n, part in enumerate(parts, start=1):
        doc.add_page()
        doc.heading(part.title, size=14)
        part.write_pdf(doc, chart)
        entries.extend({"resource": validate_resource(r)} for r in part.fhir_resources(chart))
        if progress:
            progress(int(90 * n / max(len(parts), 1)), part.title)
    bundle = {
        "resourceType": "Bundle",
        "type": "collection",
        "timestamp": now.isoformat(),
        "entry": entries,
    }
    # The Bundle as a whole is validated too (entry structure, types).
    Bundle.model_validate(bundle)
    pdf_bytes = doc.bytes()
    stem = f"health-records-{export.public_id.hex}"
    export.pdf.save(f"{stem}.pdf", ContentFile(pdf_bytes), save=False)
    export.fhir_json.save(
        f"{stem}.json", ContentFile(json.dumps(bundle, ensure_ascii=False).encode()), save=False
    )
    export.page_count = doc.pages_count
    export.status = HealthExport.Status.READY
    export.progress = 100
    export.step = "Ready"
    export.finished_at = timezone.now()
    export.expires_at = export.finished_at + EXPORT_TTL
    export.save()
    return export
