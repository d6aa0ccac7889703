"""The Clinic area's side of records: the review queue of patients' changes, and a chart's
records page (demographics, contacts, insurance, field history, health records with the PDF
upload). Staff only: every chart comes through `Chart.objects.editable_by` (staff of its
clinic) — a patient's own `visible_to` never opens a clinic page."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import get_object_or_404, redirect
from django.views.decorators.http import require_GET, require_POST

from audit.log import record
from audit.models import AuditEvent
from patient_portal.clinic_views import chosen_clinic, clinic_page
from patient_portal.models import Chart
from patient_portal.services import record_for_chart
from portal.files import safe_filename
from portal.idempotency import created, idempotent
from portal.types import AuthedHttpRequest

from . import services
from .forms import HealthRecordForm
from .models import Coverage, EmergencyContact, FieldChange, HealthRecord, PendingChange
from .views import serve_file

QUEUE_SIZE = 50


@login_required
@require_GET
def changes(request: AuthedHttpRequest) -> HttpResponse:
    """Patients' proposed changes at the chosen clinic, oldest first, grouped by chart."""
    clinic = chosen_clinic(request)
    pending = (
        PendingChange.objects.editable_by(request.user)
        .filter(chart__clinic=clinic, status=PendingChange.Status.PENDING)
        .select_related("chart", "submitted_by")
        .order_by("submitted_at", "pk")
    )
    page = Paginator(pending, QUEUE_SIZE).get_page(request.GET.get("page"))
    groups: dict[int, dict[str, Any]] = {}
    for change in page:
        group = groups.setdefault(change.chart_id, {"chart": change.chart, "changes": []})
        group["changes"].append(change)
    record(request, AuditEvent.Action.LIST, description=f"record changes of clinic {clinic.pk}")
    return clinic_page(
        request, "records/clinic_changes.html", clinic, page=page, groups=list(groups.values())
    )


def _pending(request: AuthedHttpRequest, pk: int) -> PendingChange:
    return get_object_or_404(
        PendingChange.objects.editable_by(request.user).select_related("chart"), pk=pk
    )


def _back(request: AuthedHttpRequest, change: PendingChange) -> HttpResponse:
    if request.POST.get("next") == "chart":
        return redirect("clinic_records:chart", change.chart_id)
    return redirect("clinic_records:changes")


@login_required
@require_POST
def accept(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    change = _pending(request, pk)
    try:
        services.accept_change(change=change, by=request.user, request=request)
    except services.ChangeRefused as refused:
        messages.error(request, str(refused))
    else:
        messages.success(
            request, f"{change.label} of {change.chart.full_name}: accepted and applied."
        )
    return _back(request, change)


@login_required
@require_POST
def reject(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    change = _pending(request, pk)
    try:
        services.reject_change(change=change, by=request.user, request=request)
    except services.ChangeRefused as refused:
        messages.error(request, str(refused))
    else:
        messages.success(request, f"{change.label} of {change.chart.full_name}: not accepted.")
    return _back(request, change)


@login_required
@require_GET
def pending_file(request: AuthedHttpRequest, pk: int) -> HttpResponseBase:
    change = _pending(request, pk)
    if not change.file:
        raise Http404("No file")
    record_for_chart(
        request,
        AuditEvent.Action.VIEW,
        change,
        chart=change.chart,
        description=f"proposed {change.label.lower()} (clinic)",
    )
    ext = (change.file.name or "").rsplit(".", 1)[-1]
    return serve_file(
        request,
        change.file.name,
        content_type=change.file_type or "application/octet-stream",
        filename=f"proposed-{change.field.replace('_', '-')}.{ext}",
        download=request.GET.get("download") == "1",
    )


def _chart(request: AuthedHttpRequest, pk: int) -> Chart:
    return get_object_or_404(
        Chart.objects.editable_by(request.user).select_related("clinic", "provider__user"), pk=pk
    )


def _chart_page(
    request: AuthedHttpRequest,
    chart: Chart,
    *,
    form: HealthRecordForm | None = None,
    status: int = 200,
) -> HttpResponse:
    return clinic_page(
        request,
        "records/clinic_chart.html",
        chart.clinic,
        status=status,
        chart=chart,
        demographics=services.demographics_of(chart),
        contacts=list(EmergencyContact.objects.filter(chart=chart)),
        coverages=list(Coverage.objects.filter(chart=chart)),
        pending=list(
            PendingChange.objects.filter(chart=chart, status=PendingChange.Status.PENDING).order_by(
                "submitted_at", "pk"
            )
        ),
        history=list(
            FieldChange.objects.filter(chart=chart).select_related("changed_by", "proposed_by")[:50]
        ),
        records=list(HealthRecord.objects.filter(chart=chart).select_related("created_by")[:100]),
        form=form or HealthRecordForm(),
    )


@login_required
@require_GET
def chart(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    found = _chart(request, pk)
    record_for_chart(request, AuditEvent.Action.VIEW, chart=found, description="records (clinic)")
    return _chart_page(request, found)


@login_required
@require_POST
@idempotent
def upload(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    found = _chart(request, pk)
    form = HealthRecordForm(request.POST, request.FILES)
    if not form.is_valid():
        return _chart_page(request, found, form=form, status=400)
    health = services.add_health_record(
        chart=found,
        kind=form.cleaned_data["kind"],
        title=form.cleaned_data["title"],
        pdf_bytes=form.cleaned_data["document"],
        source="clinic",
        created_by=request.user,
        request=request,
    )
    created(request)
    messages.success(request, f"“{health.title}” is now in {found.full_name}'s health records.")
    return redirect("clinic_records:chart", found.pk)


@login_required
@require_GET
def health_record(request: AuthedHttpRequest, pk: int) -> HttpResponseBase:
    found = get_object_or_404(HealthRecord.objects.editable_by(request.user), pk=pk)
    download = request.GET.get("download") == "1"
    record_for_chart(
        request,
        AuditEvent.Action.DOWNLOAD if download else AuditEvent.Action.VIEW,
        found,
        chart=found.chart,
        description=f"health record “{found.title}” (clinic)",
    )
    return serve_file(
        request,
        found.file.name,
        content_type="application/pdf",
        filename=safe_filename(found.title),
        download=download,
    )


@login_required
@require_GET
def card(request: AuthedHttpRequest, pk: int, rank: str, side: str) -> HttpResponseBase:
    if side not in services.CARD_FIELDS:
        raise Http404("No such card")
    coverage = get_object_or_404(Coverage.objects.editable_by(request.user), chart_id=pk, rank=rank)
    stored = getattr(coverage, side)
    if not stored:
        raise Http404("No card")
    record_for_chart(
        request,
        AuditEvent.Action.VIEW,
        coverage,
        chart=coverage.chart,
        description=f"insurance {services.CARD_FIELDS[side].lower()} ({rank}, clinic)",
    )
    content_type = getattr(coverage, f"{side}_type") or "application/octet-stream"
    return serve_file(
        request,
        stored.name,
        content_type=content_type,
        filename=f"insurance-{rank}-{side.replace('_', '-')}.{stored.name.rsplit('.', 1)[-1]}",
        download=request.GET.get("download") == "1",
    )
