"""A submitted form as a PDF (portal.pdf.PortalPDF): title, person, date, each question and
answer (by section), score and band for scales, the signature block of a consent, page x of y.

Written from the submission's frozen snapshot, so a later change of the form never changes a
document already filed. Everything the patient typed is drawn as text (PortalPDF never reads
markup).
"""

from __future__ import annotations

from django.utils import timezone

from portal.pdf import PortalPDF

from . import scoring
from .models import Form, Submission


def _when(submission: Submission) -> str:
    if submission.submitted_at is None:
        return "—"
    return timezone.localtime(submission.submitted_at).strftime("%b %d, %Y %H:%M %Z")


def write_submission(doc: PortalPDF, submission: Submission, *, with_person: bool = True) -> None:
    """Draw one submission into `doc` (its own PDF, or one part of the health-records export)."""
    chart = submission.chart
    form = submission.form
    if with_person:
        doc.key_values(
            [
                ("Person", chart.full_name),
                (
                    "Date of birth",
                    chart.date_of_birth.strftime("%b %d, %Y") if chart.date_of_birth else "—",
                ),
                ("Clinic", chart.clinic.name),
                ("Submitted", _when(submission)),
                ("Submitted by", submission.signed_by_line),
                ("Form version", str(submission.form_version)),
            ]
        )
    if submission.score is not None:
        scale = scoring.SCALES.get(form.scoring)
        pairs: list[tuple[str, object]] = [
            ("Score", f"{submission.score} of {scale.max_score}" if scale else submission.score)
        ]
        if submission.band:
            pairs.append(("Severity", submission.band))
        if submission.alert:
            pairs.append(("Alert", "Item 9 answered above 0: the clinic was alerted at once."))
        doc.heading("Score")
        doc.key_values(pairs)
    if form.description:
        doc.paragraph(form.description)
    section = None
    for number, row in enumerate(submission.answer_rows(), start=1):
        if row.get("section") and row["section"] != section:
            section = row["section"]
            doc.heading(section)
        doc.heading(f"{number}. {row.get('text', '')}", size=10)
        answer = str(row.get("answer", ""))
        if row.get("points") is not None:
            answer = f"{answer} ({row['points']})"
        doc.paragraph(answer)
    if form.kind == Form.Kind.CONSENT or submission.signed_name:
        doc.heading("Consent")
        doc.paragraph(submission.consent_text or "—")
        doc.heading("Signature")
        doc.key_values(
            [
                ("Signed (typed name)", submission.signed_name),
                ("Signed by", submission.signed_by_line),
                (
                    "Date",
                    submission.signed_on.strftime("%b %d, %Y") if submission.signed_on else "—",
                ),
                ("Consent version", str(submission.form_version)),
                ("IP address", submission.signer_ip or "—"),
                ("Browser", submission.signer_user_agent or "—"),
            ]
        )


def submission_pdf(submission: Submission) -> bytes:
    """The submission's own PDF."""
    form = submission.form
    doc = PortalPDF(
        title=form.title,
        subtitle=f"{submission.chart.full_name} · {submission.chart.clinic.name}",
        footer_note=f"Submitted {_when(submission)}",
    )
    write_submission(doc, submission)
    return doc.bytes()
