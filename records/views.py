"""The patient side: Demographic Info (Update info, Health records) and the Account's export.

Every view is gated by `@patient_section` (sign-in, the chosen chart, the section's permission,
reads audited) and reads through the models' `visible_to`, narrowed to `request.chart`.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import Http404
from django.http.response import HttpResponse, HttpResponseBase
from django.shortcuts import get_object_or_404, redirect
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from audit.models import AuditEvent
from patient_portal.decorators import patient_section
from patient_portal.layout import layout_context, render_patient
from patient_portal.services import record_for_chart
from portal.files import safe_filename, serve_private_file
from portal.idempotency import created, idempotent
from portal.rendering import render_page
from portal.types import AuthedHttpRequest

from . import services
from .forms import ContactForm, CoverageForm, DemographicsForm, RecordFilterForm
from .models import (
    Coverage,
    EmergencyContact,
    HealthExport,
    HealthRecord,
    PendingChange,
    Subject,
)

PAGE_SIZE = 25
# Decided changes stay listed for the patient this long.
DECIDED_SHOWN = dt.timedelta(days=30)


def serve_file(
    request: AuthedHttpRequest,
    name: str | None,
    *,
    content_type: str,
    filename: str,
    download: bool,
) -> HttpResponseBase:
    """A stored file, after the caller's access check: from our storage with nosniff and a
    CSP that runs nothing, or a short-lived presigned S3 URL (as the chat's documents)."""
    return serve_private_file(name, content_type=content_type, filename=filename, download=download)


def _wants_download(request: AuthedHttpRequest) -> bool:
    return request.GET.get("download") == "1"


# Update info ---------------------------------------------------------------------------------


def _update_info_page(request: AuthedHttpRequest, status: int = 200, **forms: Any) -> HttpResponse:
    chart = request.chart  # type: ignore[attr-defined]
    demo_values = services.current_values(chart, Subject.DEMOGRAPHICS, "")
    contacts = list(EmergencyContact.objects.visible_to(request.user).filter(chart=chart))
    coverages = {c.rank: c for c in Coverage.objects.visible_to(request.user).filter(chart=chart)}
    since = timezone.now() - DECIDED_SHOWN
    changes = list(
        PendingChange.objects.visible_to(request.user)
        .filter(chart=chart)
        .filter(Q(status=PendingChange.Status.PENDING) | Q(decided_at__gte=since))
        .order_by("-submitted_at", "pk")[:100]
    )
    pending = {
        (c.subject, c.target, c.field): c
        for c in changes
        if c.status == PendingChange.Status.PENDING
    }

    def asked(subject: str, target: str, values: dict[str, str]) -> dict[str, str]:
        """The record's values with the patient's waiting proposals laid over them, so the
        form shows what they asked for and sending it again keeps those proposals."""
        return {
            **values,
            **{k[2]: c.new_value for k, c in pending.items() if k[:2] == (subject, target)},
        }

    insurance = []
    for rank, label in Coverage.Rank.choices:
        coverage = coverages.get(rank)
        values = asked(
            Subject.INSURANCE, rank, services.current_values(chart, Subject.INSURANCE, rank)
        )
        insurance.append(
            {
                "rank": rank,
                "label": label,
                "coverage": coverage,
                "form": forms.get(f"coverage_{rank}")
                or CoverageForm(
                    initial={k: v for k, v in values.items() if k not in services.CARD_FIELDS},
                    prefix=rank,
                ),
                "pending": [
                    c for k, c in pending.items() if k[0] == Subject.INSURANCE and k[1] == rank
                ],
            }
        )
    context = {
        "demographics_form": forms.get("demographics_form")
        or DemographicsForm(initial=asked(Subject.DEMOGRAPHICS, "", demo_values), prefix="demo"),
        "contacts": [
            {
                "contact": c,
                "form": forms.get(f"contact_{c.pk}")
                or ContactForm(
                    initial=asked(
                        Subject.CONTACT,
                        str(c.pk),
                        services.current_values(chart, Subject.CONTACT, str(c.pk)),
                    ),
                    prefix=f"contact-{c.pk}",
                ),
                "pending": [
                    p for k, p in pending.items() if k[0] == Subject.CONTACT and k[1] == str(c.pk)
                ],
            }
            for c in contacts
        ],
        "new_contact_form": forms.get("new_contact_form") or ContactForm(prefix="new-contact"),
        "new_contacts_pending": [
            p for k, p in pending.items() if k[0] == Subject.CONTACT and not k[1].isdigit()
        ],
        "insurance": insurance,
        "changes": changes,
        "pending_demographics": [p for k, p in pending.items() if k[0] == Subject.DEMOGRAPHICS],
        "tab": "update",
    }
    return render_patient(request, "records/update_info.html", context, status=status)


@patient_section("demographics")
@require_GET
def update_info(request: AuthedHttpRequest) -> HttpResponse:
    return _update_info_page(request)


@patient_section("demographics")
@require_POST
def update_demographics(request: AuthedHttpRequest) -> HttpResponse:
    form = DemographicsForm(request.POST, prefix="demo")
    if not form.is_valid():
        return _update_info_page(request, status=400, demographics_form=form)
    made = services.propose_changes(
        chart=request.chart,  # type: ignore[attr-defined]
        subject=Subject.DEMOGRAPHICS,
        target="",
        values=form.cleaned_data,
        by=request.user,
        request=request,
    )
    _said(request, made)
    return redirect("records:update_info")


def _said(request: AuthedHttpRequest, made: list[PendingChange]) -> None:
    if made:
        messages.success(
            request,
            f"Sent to your clinic for review: {', '.join(c.label for c in made)}. "
            "Your record changes once they accept.",
        )
    else:
        messages.info(request, "Nothing changed.")


@patient_section("demographics")
@require_POST
@idempotent
def add_contact(request: AuthedHttpRequest) -> HttpResponse:
    form = ContactForm(request.POST, prefix="new-contact")
    if not form.is_valid():
        return _update_info_page(request, status=400, new_contact_form=form)
    made = services.propose_changes(
        chart=request.chart,  # type: ignore[attr-defined]
        subject=Subject.CONTACT,
        target=services.new_contact_target(),
        values=form.cleaned_data,
        by=request.user,
        request=request,
    )
    created(request)
    _said(request, made)
    return redirect("records:update_info")


def _contact(request: AuthedHttpRequest, pk: int) -> EmergencyContact:
    return get_object_or_404(
        EmergencyContact.objects.visible_to(request.user).filter(chart=request.chart),  # type: ignore[attr-defined]
        pk=pk,
    )


@patient_section("demographics")
@require_POST
def update_contact(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    contact = _contact(request, pk)
    form = ContactForm(request.POST, prefix=f"contact-{contact.pk}")
    if not form.is_valid():
        return _update_info_page(request, status=400, **{f"contact_{contact.pk}": form})
    made = services.propose_changes(
        chart=request.chart,  # type: ignore[attr-defined]
        subject=Subject.CONTACT,
        target=str(contact.pk),
        values=form.cleaned_data,
        by=request.user,
        request=request,
    )
    _said(request, made)
    return redirect("records:update_info")


@patient_section("demographics")
@require_POST
def remove_contact(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    contact = _contact(request, pk)
    services.propose_removal(
        chart=request.chart,  # type: ignore[attr-defined]
        contact=contact,
        by=request.user,
        request=request,
    )
    messages.success(request, f"Asked your clinic to remove {contact.name} from your contacts.")
    return redirect("records:update_info")


@patient_section("demographics")
@require_POST
def update_insurance(request: AuthedHttpRequest, rank: str) -> HttpResponse:
    if rank not in Coverage.Rank.values:
        raise Http404("No such insurance")
    form = CoverageForm(request.POST, request.FILES, prefix=rank)
    if not form.is_valid():
        return _update_info_page(request, status=400, **{f"coverage_{rank}": form})
    chart = request.chart  # type: ignore[attr-defined]
    values = {k: v for k, v in form.cleaned_data.items() if k not in services.CARD_FIELDS}
    made = services.propose_changes(
        chart=chart,
        subject=Subject.INSURANCE,
        target=rank,
        values=values,
        by=request.user,
        request=request,
    )
    for side in services.CARD_FIELDS:
        if checked := form.cleaned_data.get(side):
            made.append(
                services.propose_card(
                    chart=chart,
                    rank=rank,
                    side=side,
                    checked=checked,
                    by=request.user,
                    request=request,
                )
            )
    _said(request, made)
    return redirect("records:update_info")


@patient_section("demographics")
@require_GET
def card(request: AuthedHttpRequest, rank: str, side: str) -> HttpResponseBase:
    """An insurance card on file (front or back) of the chosen chart."""
    if side not in services.CARD_FIELDS:
        raise Http404("No such card")
    coverage = get_object_or_404(
        Coverage.objects.visible_to(request.user).filter(chart=request.chart),  # type: ignore[attr-defined]
        rank=rank,
    )
    stored = getattr(coverage, side)
    if not stored:
        raise Http404("No card on file")
    content_type = getattr(coverage, f"{side}_type") or "application/octet-stream"
    record_for_chart(
        request,
        AuditEvent.Action.DOWNLOAD,
        coverage,
        chart=coverage.chart,
        description=f"insurance {services.CARD_FIELDS[side].lower()} ({rank})",
    )
    ext = {"image/jpeg": "jpg", "image/png": "png", "application/pdf": "pdf"}.get(
        content_type, "bin"
    )
    return serve_file(
        request,
        stored.name,
        content_type=content_type,
        filename=f"insurance-{rank}-{side.replace('_', '-')}.{ext}",
        download=_wants_download(request),
    )


# Health records ------------------------------------------------------------------------------


@patient_section("health_records")
@require_GET
def health_records(request: AuthedHttpRequest) -> HttpResponse:
    chart = request.chart  # type: ignore[attr-defined]
    form = RecordFilterForm(request.GET or None)
    found = HealthRecord.objects.visible_to(request.user).filter(chart=chart)
    if form.is_valid():
        data = form.cleaned_data
        if data.get("kind"):
            found = found.filter(kind=data["kind"])
        if data.get("start"):
            found = found.filter(created_at__date__gte=data["start"])
        if data.get("end"):
            found = found.filter(created_at__date__lte=data["end"])
    page = Paginator(
        found.only("pk", "kind", "title", "created_at", "size", "page_count").order_by(
            "-created_at", "-pk"
        ),
        PAGE_SIZE,
    ).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render_page(
        request,
        "records/health_records.html",
        {
            **layout_context(request),
            "form": form,
            "page": page,
            "query": query.urlencode(),
            "tab": "health",
        },
        partial="record-list",
        targets={"record-list"},
    )


@patient_section("health_records", audit_reads=False)
@require_GET
def health_record(request: AuthedHttpRequest, pk: int) -> HttpResponseBase:
    """One record's PDF, inline (the browser's viewer) or as a download; audited either way."""
    found = get_object_or_404(
        HealthRecord.objects.visible_to(request.user).filter(chart=request.chart),  # type: ignore[attr-defined]
        pk=pk,
    )
    download = _wants_download(request)
    record_for_chart(
        request,
        AuditEvent.Action.DOWNLOAD if download else AuditEvent.Action.VIEW,
        found,
        chart=found.chart,
        description=f"health record “{found.title}” ({'downloaded' if download else 'viewed'})",
    )
    return serve_file(
        request,
        found.file.name,
        content_type="application/pdf",
        filename=safe_filename(found.title),
        download=download,
    )


# Export health records (Account) -------------------------------------------------------------


def _exports(request: AuthedHttpRequest) -> Any:
    return HealthExport.objects.of(request.user).filter(
        chart=request.chart,  # type: ignore[attr-defined]
    )


@patient_section("account")
@require_POST
@idempotent
def export_start(request: AuthedHttpRequest) -> HttpResponse:
    export = services.start_export(
        chart=request.chart,  # type: ignore[attr-defined]
        by=request.user,
        request=request,
    )
    created(request)
    return redirect("records:export", export.public_id)


@patient_section("account")
@require_GET
def exports(request: AuthedHttpRequest) -> HttpResponse:
    now = timezone.now()
    found = _exports(request).filter(Q(expires_at__isnull=True) | Q(expires_at__gte=now))[:10]
    return render_patient(request, "records/exports.html", {"exports": list(found)})


@patient_section("account")
@require_GET
def export(request: AuthedHttpRequest, public_id: str) -> HttpResponse:
    """An export's page; htmx polls its status block until the export is ready."""
    found = get_object_or_404(_exports(request), public_id=public_id)
    if found.expires_at and found.expires_at < timezone.now():
        raise Http404("Expired")
    return render_page(
        request,
        "records/export.html",
        {**layout_context(request), "export": found},
        partial="export-status",
        targets={"export-status"},
    )


@patient_section("account", audit_reads=False)
@require_GET
def export_file(request: AuthedHttpRequest, public_id: str, fmt: str) -> HttpResponseBase:
    found = get_object_or_404(
        _exports(request).filter(status=HealthExport.Status.READY), public_id=public_id
    )
    if found.expires_at and found.expires_at < timezone.now():
        raise Http404("Expired")
    stored = found.pdf if fmt == "pdf" else found.fhir_json
    if fmt not in {"pdf", "json"} or not stored:
        raise Http404("No such file")
    record_for_chart(
        request,
        AuditEvent.Action.DOWNLOAD,
        found,
        chart=found.chart,
        description=f"health-records export downloaded ({'PDF' if fmt == 'pdf' else 'FHIR JSON'})",
    )
    day = timezone.localdate(found.created_at).isoformat()
    return serve_file(
        request,
        stored.name,
        content_type="application/pdf" if fmt == "pdf" else "application/fhir+json",
        filename=f"health-records-{day}.{fmt}",
        download=True,
    )
