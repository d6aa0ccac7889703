import csv
from collections.abc import Iterator

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import QuerySet
from django.http import HttpResponse, QueryDict, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST
from django.views.decorators.vary import vary_on_headers
from django_htmx.http import push_url

from audit.log import record
from audit.models import AuditEvent
from portal.rendering import render_page
from portal.timezones import utc_stamp
from portal.types import AuthedHttpRequest
from requests_chat.selectors import timeline_events, with_unread_count

from .dashboard import DashboardQuery, attach_chat, url_maker
from .filters import canonical_params
from .forms import SavedFilterForm
from .models import Patient, Prescription, SavedFilter, Status
from .selectors import prescription_timeline

# Dashboard ---------------------------------------------------------------------------------


@login_required
@vary_on_headers("HX-Request")
def dashboard(request: AuthedHttpRequest) -> HttpResponse:
    query = DashboardQuery(request)
    # A plain form GET carries every empty field: send the browser to the short, shareable URL.
    if not query.is_canonical(request.GET) and not request.htmx:
        return redirect(query.canonical_url)
    page, rows = query.page()
    patient_url = url_maker("prescriptions:patient")
    for rx in rows:
        rx.patient_url = patient_url(rx.patient_id)  # type: ignore[attr-defined]  # for the row
    attach_chat(request.user, rows, counted=True)
    record(
        request,
        AuditEvent.Action.LIST,
        description=f"dashboard page {page.number}: {query.params.urlencode()}"[:300],
    )
    response = render_page(
        request, "prescriptions/dashboard.html", query.context(page, rows), partial="results"
    )
    if request.htmx:
        push_url(response, query.canonical_url)
    return response


class Echo:
    """A file-like object whose write() returns the line, for csv.writer in a stream."""

    def write(self, value: str) -> str:
        return value


FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value: object) -> str:
    """Defuse spreadsheet formula injection: a cell starting with = + - @ tab or CR gets a '."""
    text = "" if value is None else str(value)
    return f"'{text}" if text.startswith(FORMULA_PREFIXES) else text


EXPORT_HEADER = [
    "Patient Name",
    "Date of Birth",
    "Medication",
    "Rx Number",
    "Status",
    "Last Shipped",
    "Provider",
    "Priority",
    "Refills Remaining",
]


def export_rows(queryset: QuerySet[Prescription]) -> Iterator[list]:
    status_labels = dict(Status.choices)  # the status field's choices
    rows = queryset.values_list(
        "patient__first_name",
        "patient__last_name",
        "patient__date_of_birth",
        "medication_name",
        "strength",
        "dosage_form",
        "rx_number",
        "status",
        "last_shipped",
        "prescriber__first_name",
        "prescriber__last_name",
        "priority",
        "refills_remaining",
    )
    for (
        first,
        last,
        dob,
        med,
        strength,
        form,
        rx_number,
        status,
        shipped,
        p_first,
        p_last,
        priority,
        refills,
    ) in rows.iterator(chunk_size=2000):
        yield [
            f"{first} {last}",
            dob.isoformat() if dob else "",
            " ".join(p for p in (med, strength, form) if p),
            rx_number,
            status_labels.get(status, status),
            shipped.isoformat() if shipped else "",
            f"{p_first} {p_last}".strip(),
            priority,
            "" if refills is None else refills,
        ]


@login_required
def export(request: AuthedHttpRequest) -> StreamingHttpResponse:
    query = DashboardQuery(request)
    filterset = query.filterset
    record(
        request,
        AuditEvent.Action.EXPORT,
        description=f"dashboard CSV: {query.params.urlencode()}"[:300],
    )
    writer = csv.writer(Echo())

    def stream() -> Iterator[str]:
        yield writer.writerow(EXPORT_HEADER)
        for row in export_rows(filterset.qs):
            yield writer.writerow([neutralise(cell) for cell in row])

    # The moment in the name is in UTC and says so (readers in different zones, one rule).
    filename = f"prescriptions-{utc_stamp()}.csv"
    return StreamingHttpResponse(
        stream(),
        content_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="{filename}"',
            "Cache-Control": "no-store",
        },
    )


# Saved filters ---------------------------------------------------------------------------


@login_required
@require_POST
def save_filter(request: AuthedHttpRequest) -> HttpResponse:
    form = SavedFilterForm(request.POST)
    query = canonical_params(QueryDict(request.POST.get("query", "").lstrip("?")))
    query.pop("page", None)
    if form.is_valid():
        SavedFilter.objects.update_or_create(
            user=request.user,
            name=form.cleaned_data["name"],
            defaults={"query": query.urlencode()},
        )
        messages.success(request, f"Saved filter “{form.cleaned_data['name']}”.")
    else:
        messages.error(request, " ".join(str(e) for errors in form.errors.values() for e in errors))
    return redirect(f"{reverse('prescriptions:dashboard')}?{query.urlencode()}")


@login_required
@require_POST
def delete_filter(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    saved = get_object_or_404(SavedFilter.objects.visible_to(request.user), pk=pk)
    saved.delete()
    messages.success(request, f"Deleted saved filter “{saved.name}”.")
    return redirect("prescriptions:dashboard")


# Patient profile and prescription details ------------------------------------------------


@login_required
def patient(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    patient = get_object_or_404(Patient.objects.visible_to(request.user), pk=pk)
    # Each row's unread count in the rows' own statement (as on the dashboard), not a second
    # query built from another visible_to(): the same rule, one statement and less ORM work.
    prescriptions = list(
        with_unread_count(
            request.user,
            Prescription.objects.visible_to(request.user)
            .filter(patient=patient)
            .select_related("prescriber", "pharmacy"),
        ).order_by("medication_name", "pk")
    )
    attach_chat(request.user, prescriptions, counted=True)
    active = [rx for rx in prescriptions if rx.is_active]
    physicians = list(
        dict.fromkeys(
            rx.prescriber.display_name
            for rx in sorted(prescriptions, key=lambda rx: rx.updated_at, reverse=True)
        )
    )
    record(request, AuditEvent.Action.VIEW, patient, patient=patient, description="patient profile")
    return render(
        request,
        "prescriptions/patient.html",
        {
            "patient": patient,
            "active": active,
            "past": [rx for rx in prescriptions if not rx.is_active],
            "physicians": physicians,
            "dashboard_url": f"{reverse('prescriptions:dashboard')}?patient={patient.pk}",
        },
    )


@login_required
@vary_on_headers("HX-Request")
def prescription(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    rx = get_object_or_404(
        Prescription.objects.visible_to(request.user).select_related(
            "patient", "prescriber", "pharmacy"
        ),
        pk=pk,
    )
    attach_chat(request.user, [rx])
    timeline = prescription_timeline(rx, also=timeline_events(request.user, rx))
    record(
        request,
        AuditEvent.Action.VIEW,
        rx,
        patient=rx.patient_id,
        description="prescription details",
    )
    return render_page(
        request,
        "prescriptions/prescription.html",
        {"rx": rx, "timeline": timeline},
        partial="prescription-detail",
    )
