"""Documents' part of the health-records export: each completed document with its answers
(PDF pages) and a FHIR R4 `QuestionnaireResponse` per submission, pointing at its
`Questionnaire` by canonical URL and version."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.conf import settings

from .models import Submission

if TYPE_CHECKING:
    from patient_portal.models import Chart
    from portal.pdf import PortalPDF


def _submitted(chart: Chart) -> Any:
    # The exporter has checked the requester may act for the chart; read only that chart's.
    return (
        Submission.objects.filter(chart=chart)
        .submitted()
        .select_related("form", "chart__clinic")
        .order_by("submitted_at", "pk")
    )


def count(chart: Chart) -> int:
    return int(_submitted(chart).count())


def write_pdf(doc: PortalPDF, chart: Chart) -> None:
    from .pdf import write_submission  # fpdf when an export is built, not at every start

    submissions = _submitted(chart)
    if not submissions.exists():
        doc.paragraph("No completed documents.")
        return
    for submission in submissions.iterator(chunk_size=100):
        doc.heading(f"{submission.form.title} (version {submission.form_version})")
        write_submission(doc, submission)


def _answer(row: dict[str, Any]) -> list[dict[str, Any]]:
    value = row.get("value")
    if value is None or value == "" or value == []:
        return []
    kind = row.get("kind")
    if kind == "date":
        return [{"valueDate": value}]
    if kind == "yes_no":
        return [{"valueBoolean": value == "yes"}]
    if kind == "scale":
        return [{"valueInteger": int(value)}]
    if kind in ("single", "multiple"):
        values = value if isinstance(value, list) else [value]
        labels = (
            str(row.get("answer", "")).split(", ")
            if isinstance(value, list)
            else [row.get("answer", "")]
        )
        return [
            {
                "valueCoding": {
                    "code": str(v),
                    "display": str(labels[i]) if i < len(labels) else str(v),
                }
            }
            for i, v in enumerate(values)
        ]
    return [{"valueString": str(value)}]


def questionnaire_response(submission: Submission) -> dict[str, Any]:
    """One submission as a FHIR R4 QuestionnaireResponse (a plain dict)."""
    form = submission.form
    resource: dict[str, Any] = {
        "resourceType": "QuestionnaireResponse",
        "id": f"submission-{submission.pk}",
        "questionnaire": f"{form.canonical_url}|{submission.form_version}",
        "status": "completed",
        "subject": {
            "reference": f"Patient/chart-{submission.chart_id}",
            "display": submission.chart.full_name,
        },
        "authored": submission.submitted_at.isoformat() if submission.submitted_at else None,
        "author": {"display": submission.signed_by_line},
        "item": [
            {"linkId": str(row.get("id")), "text": str(row.get("text", "")), "answer": answers}
            if (answers := _answer(row))
            else {"linkId": str(row.get("id")), "text": str(row.get("text", ""))}
            for row in submission.answer_rows()
        ],
    }
    extensions = []
    base = settings.SITE_URL.rstrip("/") + "/fhir/StructureDefinition"
    if submission.score is not None:
        extensions.append({"url": f"{base}/total-score", "valueInteger": submission.score})
    if submission.band:
        extensions.append({"url": f"{base}/severity-band", "valueString": submission.band})
    if submission.signed_name:
        extensions.append(
            {"url": f"{base}/signature-typed-name", "valueString": submission.signed_name}
        )
    if extensions:
        resource["extension"] = extensions
    return resource


def fhir_resources(chart: Chart) -> list[dict[str, Any]]:
    return [questionnaire_response(s) for s in _submitted(chart).iterator(chunk_size=100)]
