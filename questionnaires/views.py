"""The patient side of Documents: what is pending (with due dates), filling a form (draft,
submit), the completed documents and their PDFs. Every view is gated by
`@patient_section("documents")` and reads through `visible_to`, narrowed to the chosen chart."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import Http404, HttpResponse, HttpResponseBadRequest
from django.http.response import HttpResponseBase
from django.shortcuts import get_object_or_404, redirect
from django.views.decorators.http import require_GET, require_http_methods

from audit.models import AuditEvent
from patient_portal.decorators import patient_section
from patient_portal.layout import render_patient
from patient_portal.services import on_behalf_of, record_for_chart
from portal.files import serve_private_file
from portal.security import client_ip
from portal.types import AuthedHttpRequest

from . import selectors, services
from .answers import Answer, Checked, check_answers, check_signature
from .models import Assignment, Form, Question, Submission

# A PDF shown inline may not run script or load anything (as the chat's documents).


@patient_section("documents")
@require_GET
def document_list(request: AuthedHttpRequest) -> HttpResponse:
    chart = request.chart  # type: ignore[attr-defined]
    return render_patient(
        request,
        "questionnaires/list.html",
        {
            "pending": list(selectors.pending(request.user, chart)),
            "completed": list(selectors.completed(request.user, chart)),
        },
    )


def question_rows(
    questions: list[Question], answers: dict[str, Any], errors: dict[str, str]
) -> list[dict[str, Any]]:
    """What the template needs per question: its value(s), error and the options' ids."""
    rows = []
    for number, q in enumerate(questions, start=1):
        value = answers.get(str(q.pk))
        options: list[dict[str, Any]] = []
        if q.kind in (Question.Kind.SINGLE, Question.Kind.MULTIPLE):
            picked = value if isinstance(value, list) else [value]
            options = [
                {
                    "value": str(c.get("value")),
                    "label": c.get("label"),
                    "checked": str(c.get("value")) in picked,
                }
                for c in q.choices or []
            ]
        elif q.kind == Question.Kind.YES_NO:
            options = [
                {"value": v, "label": label, "checked": value == v}
                for v, label in (("yes", "Yes"), ("no", "No"))
            ]
        elif q.kind == Question.Kind.SCALE:
            low, high = q.scale_min or 0, q.scale_max or 10
            options = [
                {"value": str(n), "label": str(n), "checked": value == str(n)}
                for n in range(low, high + 1)
            ]
        for i, option in enumerate(options):
            option["id"] = f"{q.field_name}-{i}"
        rows.append(
            {
                "q": q,
                "number": number,
                "value": value if isinstance(value, str) else "",
                "options": options,
                "error": errors.get(str(q.pk), ""),
                # The error summary links to the question's first input.
                "anchor": options[0]["id"] if options else q.field_name,
                "grouped": bool(options),
                "new_section": bool(q.section)
                and (number == 1 or questions[number - 2].section != q.section),
            }
        )
    return rows


def _signer_names(request: AuthedHttpRequest) -> tuple[str, str]:
    """Whose name a consent's signature must be: the chart's person on their own chart; the
    proxy's own name when a parent, guardian or carer signs for them."""
    chart = request.chart  # type: ignore[attr-defined]
    if request.chart_choice.is_own:  # type: ignore[attr-defined]
        return chart.legal_first_name, chart.legal_last_name
    return request.user.first_name, request.user.last_name


def _fill_page(
    request: AuthedHttpRequest,
    assignment: Assignment,
    questions: list[Question],
    answers: dict[str, Any],
    checked: Checked | None = None,
    *,
    signature: str = "",
    signature_error: str = "",
    agreed: bool = False,
    agree_error: str = "",
    status: int = 200,
) -> HttpResponse:
    errors = checked.errors if checked else {}
    rows = question_rows(questions, answers, errors)
    summary = [
        (row["anchor"], f"{row['number']}. {row['q'].text}: {row['error']}")
        for row in rows
        if row["error"]
    ]
    if agree_error:
        summary.append(("agree", agree_error))
    if signature_error:
        summary.append(("signature", signature_error))
    first, last = _signer_names(request)
    chart = request.chart  # type: ignore[attr-defined]
    return render_patient(
        request,
        "questionnaires/fill.html",
        {
            "assignment": assignment,
            "form": assignment.form,
            "rows": rows,
            "error_summary": summary,
            "signature": signature,
            "signature_error": signature_error,
            "agreed": agreed,
            "agree_error": agree_error,
            "signer_name": f"{first} {last}".strip(),
            "acting_for": on_behalf_of(request.user, chart),
            "draft": getattr(assignment, "submission", None),
        },
        status=status,
    )


def _already_submitted(request: AuthedHttpRequest, assignment: Assignment) -> HttpResponse:
    submission = Submission.objects.filter(assignment=assignment).first()
    return render_patient(
        request,
        "questionnaires/submitted.html",
        {"assignment": assignment, "submission": submission},
        status=409,
    )


@patient_section("documents")
@require_http_methods(["GET", "POST"])
def fill(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    chart = request.chart  # type: ignore[attr-defined]
    assignment = get_object_or_404(
        Assignment.objects.visible_to(request.user)
        .filter(chart=chart, cancelled_at__isnull=True)
        .select_related("form", "chart"),
        pk=pk,
    )
    draft = Submission.objects.filter(assignment=assignment).first()
    if draft is not None and draft.is_submitted:
        # Submitted answers are frozen: no edit page, and any POST is refused.
        return _already_submitted(request, assignment)
    questions = list(assignment.form.questions.all())
    if request.method == "GET":
        return _fill_page(request, assignment, questions, draft.answers if draft else {})

    action = request.POST.get("action", "")
    if action not in ("draft", "submit"):
        return HttpResponseBadRequest("Choose Save draft or Submit.", content_type="text/plain")
    submitting = action == "submit"
    checked = check_answers(questions, request.POST, require=submitting)
    is_consent = assignment.form.kind == Form.Kind.CONSENT
    signature, signature_error, agree_error = "", "", ""
    agreed = request.POST.get("agree") == "yes"
    raw_signature = request.POST.get("signature", "")
    if is_consent and submitting:
        first, last = _signer_names(request)
        signature, signature_error = check_signature(
            raw_signature, first_name=first, last_name=last
        )
        if not agreed:
            agree_error = "Tick “I have read and agree” to sign."
    if not checked.ok or signature_error or agree_error:
        # Show what was typed again (the refused values too, as text), with the errors.
        shown: dict[str, Any] = {**checked.answers}
        for q in questions:
            if str(q.pk) in checked.errors and q.kind in (
                Question.Kind.TEXT,
                Question.Kind.LONG_TEXT,
                Question.Kind.DATE,
            ):
                shown[str(q.pk)] = str(request.POST.get(q.field_name, ""))[:5000]
        return _fill_page(
            request,
            assignment,
            questions,
            shown,
            checked,
            signature=raw_signature[:300] if isinstance(raw_signature, str) else "",
            signature_error=signature_error,
            agreed=agreed,
            agree_error=agree_error,
            status=400,
        )
    answers: dict[str, Answer] = checked.answers
    try:
        if submitting:
            submission = services.submit(
                assignment=assignment,
                answers=answers,
                signer=services.Signer(
                    user=request.user,
                    on_behalf_of=on_behalf_of(request.user, chart),
                    signature=signature,
                    ip=client_ip(request),
                    user_agent=request.META.get("HTTP_USER_AGENT", "")[:300],
                ),
            )
        else:
            submission = services.save_draft(assignment=assignment, answers=answers)
    except services.AlreadySubmitted:
        return _already_submitted(request, assignment)
    except services.AssignmentClosed:
        raise Http404("Assignment withdrawn") from None
    record_for_chart(
        request,
        AuditEvent.Action.UPDATE if not submitting else AuditEvent.Action.CREATE,
        submission,
        chart=chart,
        description=f"{assignment.form.title}: {'submitted' if submitting else 'draft saved'}",
    )
    if submitting:
        messages.success(
            request,
            f"{assignment.form.title} is submitted. Its PDF is under Completed documents.",
        )
        return redirect("documents:list")
    messages.success(request, "Draft saved. Come back any time to finish and submit it.")
    return redirect("documents:fill", assignment.pk)


def serve_pdf(submission: Submission) -> HttpResponseBase:
    """The stored PDF inline, as every private document is served (portal.files)."""
    return serve_private_file(
        submission.pdf.name,
        content_type="application/pdf",
        filename=f"{submission.form.slug or 'document'}-{submission.pk}.pdf",
    )


@patient_section("documents", audit_reads=False)
@require_GET
def pdf(request: AuthedHttpRequest, pk: int) -> HttpResponseBase:
    chart = request.chart  # type: ignore[attr-defined]
    submission = get_object_or_404(
        Submission.objects.visible_to(request.user)
        .filter(chart=chart)
        .submitted()
        .select_related("form"),
        pk=pk,
    )
    record_for_chart(
        request,
        AuditEvent.Action.DOWNLOAD,
        submission,
        chart=chart,
        description=f"{submission.form.title} (PDF)",
    )
    return serve_pdf(submission)
