"""Writes of Documents: building forms, assigning them, drafts, submission (frozen, scored,
signed, rendered to PDF and filed), and the PHQ-9 item-9 alert."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.core.files.base import ContentFile
from django.db import transaction
from django.db.models import Max
from django.urls import reverse
from django.utils import timezone

from invites.models import ClinicMembership
from notifications.models import Activity
from notifications.services import notify
from patient_portal.models import Chart
from records.services import add_health_record

from . import scoring
from .answers import Answer, answer_label, answers_by_code, points
from .models import Assignment, Form, Question, Submission

if TYPE_CHECKING:
    from accounts.models import User


class AlreadySubmitted(Exception):
    """The assignment's answers were submitted: they are frozen and cannot change."""


class AssignmentClosed(Exception):
    """The clinic cancelled this assignment."""


# Filing the completed document ---------------------------------------------------------------


def file_completed_document(submission: Submission, pdf_bytes: bytes) -> None:
    """File a submission's PDF: on the submission (served by the access-checked
    `questionnaires:pdf` and `clinic_documents:pdf` views) and in the chart's Health records
    through `records.services.add_health_record`, the one way any app adds a record there
    (SPEC §8.6/§8.7). Called inside the submit's transaction: both or neither."""
    submission.pdf.save(f"submission-{submission.pk}.pdf", ContentFile(pdf_bytes), save=False)
    Submission.objects.filter(pk=submission.pk).update(pdf=submission.pdf.name)
    submitted = timezone.localdate(submission.submitted_at) if submission.submitted_at else None
    add_health_record(
        chart=submission.chart,
        kind="completed_document",
        title=f"{submission.form.title} — {submitted:%B %-d, %Y}"
        if submitted
        else submission.form.title,
        pdf_bytes=pdf_bytes,
        source=f"documents:{submission.pk}",
        created_by=submission.submitted_by,
    )


# Building forms ------------------------------------------------------------------------------


def add_question(*, form: Form, **fields: Any) -> Question:
    """Append a question to a clinic form (built-ins are never changed)."""
    if form.is_builtin:
        raise ValueError("Built-in forms cannot be changed.")
    with transaction.atomic():
        Form.objects.select_for_update().filter(pk=form.pk).first()
        last = form.questions.aggregate(m=Max("position"))["m"] or 0
        question = Question.objects.create(form=form, position=last + 1, **fields)
        form_changed(form)
    return question


def move_question(*, question: Question, direction: int) -> None:
    """Swap a question with its neighbour above (-1) or below (+1)."""
    form = question.form
    with transaction.atomic():
        ordered = list(form.questions.select_for_update().order_by("position", "pk"))
        index = next(i for i, q in enumerate(ordered) if q.pk == question.pk)
        other = index + direction
        if not 0 <= other < len(ordered):
            return
        ordered[index], ordered[other] = ordered[other], ordered[index]
        for position, item in enumerate(ordered, start=1):
            if item.position != position:
                Question.objects.filter(pk=item.pk).update(position=position)
        form_changed(form)


def remove_question(*, question: Question) -> None:
    form = question.form
    with transaction.atomic():
        question.delete()
        form_changed(form)


def form_changed(form: Form) -> None:
    """A form's questions or consent text changed: a new version once anyone has submitted it
    (their submissions keep the version and wording they answered)."""
    now = timezone.now()
    if Submission.objects.filter(form=form, status=Submission.Status.SUBMITTED).exists():
        Form.objects.filter(pk=form.pk, version=form.version).update(
            version=form.version + 1, updated_at=now
        )
        form.version += 1
    else:
        Form.objects.filter(pk=form.pk).update(updated_at=now)
    form.updated_at = now


# Assigning -----------------------------------------------------------------------------------


def assign_form(
    *, form: Form, chart: Chart, due_on: dt.date | None, assigned_by: User
) -> Assignment:
    return Assignment.objects.create(chart=chart, form=form, due_on=due_on, assigned_by=assigned_by)


def cancel_assignment(*, assignment: Assignment) -> None:
    """Withdraw a pending assignment (a submitted one stays: its answers are the record)."""
    with transaction.atomic():
        locked = Assignment.objects.select_for_update().get(pk=assignment.pk)
        if Submission.objects.filter(
            assignment=locked, status=Submission.Status.SUBMITTED
        ).exists():
            raise AlreadySubmitted
        if locked.cancelled_at is None:
            locked.cancelled_at = timezone.now()
            locked.save(update_fields=["cancelled_at"])


# Filling -------------------------------------------------------------------------------------


def _locked_open(assignment: Assignment) -> tuple[Assignment, Submission]:
    """Lock the assignment, then return it with its (draft) submission; refuse closed ones."""
    locked = Assignment.objects.select_for_update().select_related("form").get(pk=assignment.pk)
    if locked.cancelled_at is not None:
        raise AssignmentClosed
    submission = Submission.objects.filter(assignment=locked).first()
    if submission is None:
        submission = Submission(assignment=locked, chart_id=locked.chart_id, form=locked.form)
    if submission.is_submitted:
        raise AlreadySubmitted
    return locked, submission


@transaction.atomic
def save_draft(*, assignment: Assignment, answers: dict[str, Answer]) -> Submission:
    """Keep the (already checked) answers as a draft; replaces the previous draft."""
    _, submission = _locked_open(assignment)
    submission.answers = answers
    submission.updated_at = timezone.now()
    submission.save()
    return submission


@dataclass(frozen=True)
class Signer:
    """Who submits: the account, the chart's person when acting for someone else, and the
    signing details of an e-consent."""

    user: User
    on_behalf_of: str = ""
    signature: str = ""
    ip: str | None = None
    user_agent: str = ""


def snapshot(questions: list[Question], answers: dict[str, Answer]) -> list[dict[str, Any]]:
    """The questions as asked and the answers as read, frozen with the submission."""
    rows = []
    for q in questions:
        value = answers.get(str(q.pk))
        rows.append(
            {
                "id": q.pk,
                "section": q.section,
                "kind": q.kind,
                "text": q.text,
                "code": q.code,
                "required": q.required,
                "scored": q.scored,
                "value": value,
                "answer": answer_label(q, value),
                "points": points(q, value) if q.scored and value is not None else None,
            }
        )
    return rows


@transaction.atomic
def submit(*, assignment: Assignment, answers: dict[str, Answer], signer: Signer) -> Submission:
    """Freeze the (checked, complete) answers: score and band, the signature of a consent,
    the form as it was; render the PDF and file it; alert the clinic at once when PHQ-9 item
    9 is above 0. Runs once per assignment: the row lock makes a second (or concurrent)
    submission raise `AlreadySubmitted`, so the alert fires exactly once."""
    locked, submission = _locked_open(assignment)
    form = locked.form
    questions = list(form.questions.all())
    score, band = scoring.score(
        form.scoring, (points(q, answers.get(str(q.pk))) for q in questions)
    )
    now = timezone.now()
    user = signer.user
    submission.answers = answers
    submission.status = Submission.Status.SUBMITTED
    submission.updated_at = now
    submission.submitted_at = now
    submission.submitted_by = user
    submission.submitted_by_name = (user.get_full_name() or user.email)[:200]
    submission.on_behalf_of = signer.on_behalf_of[:200]
    submission.score = score
    submission.band = band
    submission.form_version = form.version
    submission.snapshot = snapshot(questions, answers)
    submission.alert = scoring.item9_alert(form.scoring, answers_by_code(questions, answers))
    if form.kind == Form.Kind.CONSENT:
        submission.signed_name = signer.signature[:200]
        submission.signed_on = timezone.localdate()
        submission.signer_ip = signer.ip
        submission.signer_user_agent = signer.user_agent[:300]
        submission.consent_text = form.consent_text
    submission.save()

    from .pdf import submission_pdf

    file_completed_document(submission, submission_pdf(submission))
    if submission.alert:
        alert_clinic(submission)
    return submission


def alert_recipients(chart: Chart) -> list[int]:
    """The chart's provider and the clinic's admins (active accounts)."""
    ids = set(
        ClinicMembership.objects.filter(clinic_id=chart.clinic_id, role=ClinicMembership.Role.ADMIN)
        .filter(user__is_active=True)
        .values_list("user_id", flat=True)
    )
    provider = ClinicMembership.objects.filter(pk=chart.provider_id).values_list(
        "user_id", flat=True
    )
    ids.update(provider)
    return sorted(ids)


def alert_clinic(submission: Submission) -> None:
    """The bell (and email, which names only the kind of activity) of the chart's provider and
    the clinic's admins: a PHQ-9 with item 9 above 0 needs review today. No PHI in the item:
    the link leads to the submission, behind the clinic's access check."""
    notify(
        activity=Activity.URGENT_ANSWER,
        obj=submission,
        actor=submission.submitted_by,
        recipients=alert_recipients(submission.chart),
        url=reverse("clinic_documents:submission", args=[submission.pk]),
        data={"form": "PHQ-9"},
    )
