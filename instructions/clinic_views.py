"""The Clinic area's side of Clinician's Instructions: the chosen clinic's latest instructions,
a chart's instructions with who first read each and when, write, edit (until first read),
unpublish / publish again, the PDF. Reads go through `Instruction.objects.visible_to` and the
chart's `Chart.objects.visible_to`; writes through `editable_by` (clinic staff only)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Count, Prefetch
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
from portal.idempotency import created, idempotent
from portal.types import AuthedHttpRequest

from . import services
from .forms import InstructionForm
from .models import Instruction, InstructionRead
from .render import render_markdown
from .views import serve_pdf

PAGE_SIZE = 25
STORAGE_DOWN = "The document storage is not answering; nothing was saved. Try again in a minute."


def _reads() -> Prefetch:
    return Prefetch(
        "reads", queryset=InstructionRead.objects.select_related("reader"), to_attr="first_reads"
    )


@login_required
@require_GET
def index(request: AuthedHttpRequest) -> HttpResponse:
    """The chosen clinic's instructions, newest first, with their read state."""
    clinic = chosen_clinic(request)
    found = (
        Instruction.objects.editable_by(request.user)
        .filter(chart__clinic=clinic)
        .select_related("chart")
        .order_by("-published_at", "-pk")
    )
    page = Paginator(found, PAGE_SIZE).get_page(request.GET.get("page"))
    # Read counts for this page only (a GROUP BY over the whole clinic would grow with it).
    counts = dict(
        InstructionRead.objects.filter(instruction__in=[i.pk for i in page.object_list])
        .values("instruction")
        .annotate(n=Count("pk"))
        .values_list("instruction", "n")
    )
    for instruction in page.object_list:
        instruction.read_count = counts.get(instruction.pk, 0)  # type: ignore[attr-defined]
    record(request, AuditEvent.Action.LIST, description=f"instructions of clinic {clinic.pk}")
    return clinic_page(request, "instructions/clinic_index.html", clinic, page=page)


def _visible_chart(request: AuthedHttpRequest, pk: int) -> Chart:
    return get_object_or_404(
        Chart.objects.editable_by(request.user)
        .filter(clinic__in=Clinic.objects.visible_to(request.user))
        .select_related("clinic", "provider__user", "patient_user"),
        pk=pk,
    )


@login_required
@require_GET
def chart_instructions(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    chart = _visible_chart(request, pk)
    found = list(
        Instruction.objects.visible_to(request.user)
        .filter(chart=chart)
        .prefetch_related(_reads())
        .order_by("-published_at", "-pk")
    )
    record_for_chart(
        request,
        AuditEvent.Action.LIST,
        chart=chart,
        description="Clinician's Instructions (clinic)",
    )
    return clinic_page(
        request, "instructions/clinic_chart.html", chart.clinic, chart=chart, instructions=found
    )


@login_required
@idempotent
def new(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    chart = _visible_chart(request, pk)
    form = InstructionForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            instruction = services.publish_instruction(
                chart=chart,
                author=request.user,
                title=data["title"],
                text=data["text"],
                pdf=data.get("document"),
            )
        except services.StorageUnavailable:
            form.add_error("document", STORAGE_DOWN)
        else:
            record_for_chart(
                request,
                AuditEvent.Action.CREATE,
                instruction,
                chart=chart,
                description=f"instruction {instruction.pk} shared",
            )
            messages.success(request, f"“{instruction.title}” is shared with {chart.full_name}.")
            created(request)
            return redirect("clinic_instructions:detail", instruction.pk)
    return clinic_page(
        request,
        "instructions/clinic_form.html",
        chart.clinic,
        status=400 if form.errors else 200,
        chart=chart,
        form=form,
        instruction=None,
    )


def _editable(request: AuthedHttpRequest, pk: int) -> Instruction:
    return get_object_or_404(
        Instruction.objects.editable_by(request.user).select_related(
            "chart__clinic", "chart__provider__user"
        ),
        pk=pk,
    )


@login_required
@require_GET
def detail(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    instruction = get_object_or_404(
        Instruction.objects.editable_by(request.user)
        .select_related("chart__clinic", "updated_by", "unpublished_by")
        .prefetch_related(_reads()),
        pk=pk,
    )
    record_for_chart(
        request,
        AuditEvent.Action.VIEW,
        instruction,
        chart=instruction.chart,
        description=f"instruction {instruction.pk} (clinic)",
    )
    return clinic_page(
        request,
        "instructions/clinic_detail.html",
        instruction.chart.clinic,
        chart=instruction.chart,
        instruction=instruction,
        body=render_markdown(instruction.text),
    )


@login_required
def edit(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    instruction = _editable(request, pk)
    chart = instruction.chart
    if instruction.reads.exists():
        messages.info(
            request,
            "This instruction has been read, so it stays as it was read. "
            "Unpublish it and write a new one instead.",
        )
        return redirect("clinic_instructions:detail", instruction.pk)
    form = InstructionForm(
        request.POST or None,
        request.FILES or None,
        has_pdf=instruction.has_pdf,
        initial={"title": instruction.title, "text": instruction.text},
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            services.edit_instruction(
                instruction=instruction,
                by=request.user,
                title=data["title"],
                text=data["text"],
                pdf=data.get("document"),
                remove_pdf=bool(data.get("remove_document")),
            )
        except services.InstructionFrozen as frozen:
            messages.error(request, str(frozen))
            return redirect("clinic_instructions:detail", instruction.pk)
        except services.StorageUnavailable:
            form.add_error("document", STORAGE_DOWN)
        else:
            record_for_chart(
                request,
                AuditEvent.Action.UPDATE,
                instruction,
                chart=chart,
                description=f"instruction {instruction.pk} edited (not yet read)",
            )
            messages.success(request, "Your changes are saved.")
            return redirect("clinic_instructions:detail", instruction.pk)
    return clinic_page(
        request,
        "instructions/clinic_form.html",
        chart.clinic,
        status=400 if form.errors else 200,
        chart=chart,
        form=form,
        instruction=instruction,
    )


@login_required
@require_POST
def unpublish(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    return _set_published(request, pk, published=False)


@login_required
@require_POST
def publish(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    return _set_published(request, pk, published=True)


def _set_published(request: AuthedHttpRequest, pk: int, *, published: bool) -> HttpResponse:
    instruction = _editable(request, pk)
    if services.set_published(instruction=instruction, by=request.user, published=published):
        record_for_chart(
            request,
            AuditEvent.Action.UPDATE,
            instruction,
            chart=instruction.chart,
            description=f"instruction {instruction.pk} "
            + ("published again" if published else "unpublished"),
        )
    if published:
        messages.success(request, f"“{instruction.title}” is shown to the patient again.")
    else:
        messages.success(
            request, f"“{instruction.title}” is unpublished: the patient no longer sees it."
        )
    return redirect("clinic_instructions:detail", instruction.pk)


@login_required
@require_GET
def pdf(request: AuthedHttpRequest, pk: int) -> HttpResponseBase:
    instruction = get_object_or_404(
        Instruction.objects.editable_by(request.user).select_related("chart").exclude(pdf=""),
        pk=pk,
    )
    record_for_chart(
        request,
        AuditEvent.Action.DOWNLOAD,
        instruction,
        chart=instruction.chart,
        description=f"PDF of instruction {instruction.pk} (clinic)",
    )
    return serve_pdf(instruction)
