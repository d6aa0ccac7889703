"""The Clinic area's Documents: the form list and builder (htmx adds and reorders questions),
assigning forms to charts with a due date, submissions (answers, scores) and, for scales, the
score over time per chart. Charts come through `Chart.objects.editable_by` (staff of the
chart's clinic): staff of one clinic never reach another's."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Count, Q, QuerySet, Value
from django.db.models.functions import Concat
from django.http import HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import get_object_or_404, redirect
from django.views.decorators.http import require_GET, require_POST

from audit.log import record
from audit.models import AuditEvent
from invites.models import Clinic
from patient_portal.clinic_views import chosen_clinic, clinic_page
from patient_portal.models import Chart
from patient_portal.services import record_for_chart
from portal.rendering import render_page
from portal.types import AuthedHttpRequest

from .. import selectors, services
from ..forms import AssignForm, FormForm, QuestionForm
from ..models import Assignment, Form, Question, Submission
from ..views import serve_pdf

RECENT = 20


def _staff_charts(request: AuthedHttpRequest) -> QuerySet[Chart]:
    return Chart.objects.editable_by(request.user)


def _assignable(request: AuthedHttpRequest, clinic: Clinic) -> QuerySet[Form]:
    """Forms that can be assigned at `clinic`: the built-ins and the clinic's own, unarchived."""
    return (
        Form.objects.visible_to(request.user)
        .filter(Q(clinic__isnull=True) | Q(clinic=clinic), archived=False)
        .order_by("-is_builtin", "title")
    )


@login_required
@require_GET
def index(request: AuthedHttpRequest) -> HttpResponse:
    clinic = chosen_clinic(request)
    q = request.GET.get("q", "").strip()[:100]
    found_charts: list[Chart] = []
    if q:
        found_charts = list(
            _staff_charts(request)
            .filter(clinic=clinic)
            .annotate(_name=Concat("legal_first_name", Value(" "), "legal_last_name"))
            .filter(_name__icontains=q)
            .order_by("legal_last_name", "legal_first_name", "pk")[:25]
        )
    forms = list(
        _assignable(request, clinic).annotate(n_questions=Count("questions", distinct=True))
    )
    recent = list(
        Submission.objects.filter(chart__in=_staff_charts(request).filter(clinic=clinic))
        .submitted()
        .select_related("form", "chart")
        .order_by("-submitted_at", "-pk")[:RECENT]
    )
    record(request, AuditEvent.Action.LIST, description=f"documents of clinic {clinic.pk}")
    return clinic_page(
        request,
        "questionnaires/clinic/index.html",
        clinic,
        forms=forms,
        recent=recent,
        q=q,
        found_charts=found_charts,
        new_form=FormForm(prefix="new"),
    )


@login_required
@require_POST
def form_new(request: AuthedHttpRequest) -> HttpResponse:
    clinic = chosen_clinic(request)
    form = FormForm(request.POST, prefix="new")
    if not form.is_valid():
        return clinic_page(
            request,
            "questionnaires/clinic/index.html",
            clinic,
            status=400,
            forms=list(_assignable(request, clinic)),
            recent=[],
            q="",
            found_charts=[],
            new_form=form,
        )
    created: Form = form.save(commit=False)
    created.clinic = clinic
    created.created_by = request.user
    created.scoring = Form.Scoring.SUM if created.kind == Form.Kind.SCALE else Form.Scoring.NONE
    created.save()
    record(request, AuditEvent.Action.CREATE, created, description=f"form {created.title!r}")
    messages.success(request, f"“{created.title}” is created. Add its questions below.")
    return redirect("clinic_documents:form", created.pk)


def _form_page(
    request: AuthedHttpRequest,
    form: Form,
    *,
    edit_form: FormForm | None = None,
    question_form: QuestionForm | None = None,
    status: int = 200,
) -> HttpResponse:
    clinic = form.clinic or chosen_clinic(request)
    editable = Form.objects.editable_by(request.user).filter(pk=form.pk).exists()
    context: dict[str, Any] = {
        "clinic": clinic,
        "the_form": form,
        "questions": list(form.questions.all()),
        "editable": editable,
        "edit_form": edit_form or FormForm(instance=form, prefix="edit"),
        "question_form": question_form or QuestionForm(prefix="q", initial={"required": True}),
    }
    if request.htmx:
        # htmx swaps only 2xx answers: the fragment carries its own error messages.
        return render_page(
            request, "questionnaires/clinic/form.html", context, partial="question-list"
        )
    del context["clinic"]
    return clinic_page(request, "questionnaires/clinic/form.html", clinic, status=status, **context)


@login_required
def form_detail(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    form = get_object_or_404(Form.objects.visible_to(request.user), pk=pk)
    if request.method != "POST":
        return _form_page(request, form)
    form = get_object_or_404(Form.objects.editable_by(request.user), pk=pk)
    old_text = form.consent_text
    edit = FormForm(request.POST, instance=form, prefix="edit")
    if not edit.is_valid():
        form.refresh_from_db()
        return _form_page(request, form, edit_form=edit, status=400)
    saved = edit.save(commit=False)
    saved.scoring = Form.Scoring.SUM if saved.kind == Form.Kind.SCALE else Form.Scoring.NONE
    saved.save()
    if saved.consent_text != old_text:
        services.form_changed(saved)
    record(request, AuditEvent.Action.UPDATE, saved, description=f"form {saved.title!r}")
    messages.success(request, "Form saved.")
    return redirect("clinic_documents:form", saved.pk)


@login_required
@require_POST
def question_add(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    form = get_object_or_404(Form.objects.editable_by(request.user), pk=pk)
    question_form = QuestionForm(request.POST, prefix="q")
    if not question_form.is_valid():
        return _form_page(request, form, question_form=question_form, status=400)
    question = services.add_question(form=form, **question_form.question_fields())
    record(request, AuditEvent.Action.CREATE, question, description=f"question on form {form.pk}")
    if request.htmx:
        return _form_page(request, form)
    return redirect("clinic_documents:form", form.pk)


def _editable_question(request: AuthedHttpRequest, pk: int) -> Question:
    return get_object_or_404(
        Question.objects.filter(form__in=Form.objects.editable_by(request.user)).select_related(
            "form"
        ),
        pk=pk,
    )


@login_required
@require_POST
def question_move(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    question = _editable_question(request, pk)
    direction = -1 if request.POST.get("direction") == "up" else 1
    services.move_question(question=question, direction=direction)
    record(request, AuditEvent.Action.UPDATE, question, description="question moved")
    if request.htmx:
        return _form_page(request, question.form)
    return redirect("clinic_documents:form", question.form_id)


@login_required
@require_POST
def question_remove(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    question = _editable_question(request, pk)
    form = question.form
    services.remove_question(question=question)
    record(request, AuditEvent.Action.DELETE, form, description="question removed")
    if request.htmx:
        return _form_page(request, form)
    return redirect("clinic_documents:form", form.pk)


def _chart_page(
    request: AuthedHttpRequest,
    chart: Chart,
    *,
    assign_form: AssignForm | None = None,
    status: int = 200,
) -> HttpResponse:
    assignments = list(
        Assignment.objects.editable_by(request.user)
        .filter(chart=chart)
        .select_related("form", "submission", "assigned_by")
        .order_by("-assigned_at", "-pk")
    )
    submissions = list(
        Submission.objects.filter(chart=chart, chart__in=_staff_charts(request))
        .submitted()
        .select_related("form")
        .order_by("-submitted_at", "-pk")
    )
    return clinic_page(
        request,
        "questionnaires/clinic/chart.html",
        chart.clinic,
        status=status,
        chart=chart,
        pending=[a for a in assignments if a.cancelled_at is None and not _is_done(a)],
        submissions=submissions,
        trends=selectors.trends(submissions),
        assign_form=assign_form
        or AssignForm(prefix="assign", forms_queryset=_assignable(request, chart.clinic)),
    )


def _is_done(assignment: Assignment) -> bool:
    submission = getattr(assignment, "submission", None)
    return submission is not None and submission.is_submitted


@login_required
@require_GET
def chart_documents(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    chart = get_object_or_404(
        _staff_charts(request).select_related("clinic", "provider__user"), pk=pk
    )
    record_for_chart(request, AuditEvent.Action.VIEW, chart=chart, description="documents (clinic)")
    return _chart_page(request, chart)


@login_required
@require_POST
def assign(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    chart = get_object_or_404(_staff_charts(request).select_related("clinic"), pk=pk)
    form = AssignForm(
        request.POST, prefix="assign", forms_queryset=_assignable(request, chart.clinic)
    )
    if not form.is_valid():
        return _chart_page(request, chart, assign_form=form, status=400)
    chosen: Form = form.cleaned_data["form"]
    if not chosen.questions.exists() and chosen.kind != Form.Kind.CONSENT:
        form.add_error("form", "This form has no questions yet: add some before assigning it.")
        return _chart_page(request, chart, assign_form=form, status=400)
    assignment = services.assign_form(
        form=chosen, chart=chart, due_on=form.cleaned_data["due_on"], assigned_by=request.user
    )
    record_for_chart(
        request,
        AuditEvent.Action.CREATE,
        assignment,
        chart=chart,
        description=f"assigned {chosen.title}",
    )
    messages.success(request, f"{chosen.title} is assigned to {chart.full_name}.")
    return redirect("clinic_documents:chart", chart.pk)


@login_required
@require_POST
def cancel(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    assignment = get_object_or_404(
        Assignment.objects.editable_by(request.user).select_related("chart", "form"), pk=pk
    )
    try:
        services.cancel_assignment(assignment=assignment)
    except services.AlreadySubmitted:
        messages.error(request, "This document was already submitted; it stays on the chart.")
    else:
        record_for_chart(
            request,
            AuditEvent.Action.UPDATE,
            assignment,
            chart=assignment.chart,
            description=f"assignment of {assignment.form.title} withdrawn",
        )
        messages.success(request, f"{assignment.form.title} is withdrawn.")
    return redirect("clinic_documents:chart", assignment.chart_id)


def _staff_submission(request: AuthedHttpRequest, pk: int) -> Submission:
    return get_object_or_404(
        Submission.objects.visible_to(request.user)
        .filter(chart__in=_staff_charts(request))
        .submitted()
        .select_related("form", "chart__clinic"),
        pk=pk,
    )


@login_required
@require_GET
def submission(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    found = _staff_submission(request, pk)
    record_for_chart(
        request, AuditEvent.Action.VIEW, found, chart=found.chart, description=found.form.title
    )
    return clinic_page(
        request,
        "questionnaires/clinic/submission.html",
        found.chart.clinic,
        submission=found,
        chart=found.chart,
    )


@login_required
@require_GET
def submission_pdf(request: AuthedHttpRequest, pk: int) -> HttpResponseBase:
    found = _staff_submission(request, pk)
    record_for_chart(
        request,
        AuditEvent.Action.DOWNLOAD,
        found,
        chart=found.chart,
        description=f"{found.form.title} (PDF)",
    )
    return serve_pdf(found)
