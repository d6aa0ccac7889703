import csv
from collections.abc import Iterator

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse, QueryDict, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST
from django.views.decorators.vary import vary_on_headers
from django_htmx.http import push_url

from audit.log import record
from audit.models import AuditEvent
from portal.timezones import utc_stamp
from portal.types import AuthedHttpRequest
from requests_chat.models import Document, Request
from requests_chat.selectors import unread_by_prescription

from .filters import (
    DEFAULT_SORT,
    FIELD_FILTERS,
    PAGE_SIZES,
    QUICK_FILTERS,
    RECORD_FILTERS,
    PrescriptionFilter,
    active_filters,
    canonical_params,
    with_params,
)
from .forms import SavedFilterForm
from .models import Patient, Prescription, SavedFilter, StatusChange

COLUMNS = [
    ("patient", "Patient Name"),
    ("dob", "Date of Birth"),
    ("medication", "Medication"),
    ("status", "Status"),
    ("last_shipped", "Last Shipped"),
    ("provider", "Provider"),
    ("priority", "Priority"),
    ("chat", "Chat"),
]


# Chat (requests app) -----------------------------------------------------------------------


PK_PLACEHOLDER = 987654321


def url_maker(name: str):
    """A function pk -> URL of `name`, reversing once per page rather than once per row."""
    pattern = reverse(name, args=[PK_PLACEHOLDER])
    return lambda pk: pattern.replace(str(PK_PLACEHOLDER), str(int(pk)))


def attach_chat(user, prescriptions: list[Prescription]) -> None:
    """Set `.unread` and `.chat_url` on each row: one query for the whole page."""
    unread = unread_by_prescription(user, [p.pk for p in prescriptions])
    make_url = url_maker("requests_chat:for_prescription")
    for rx in prescriptions:
        rx.unread = unread.get(rx.pk, 0)
        rx.chat_url = make_url(rx.pk)


# Dashboard ---------------------------------------------------------------------------------


def filtered(request: AuthedHttpRequest, params) -> PrescriptionFilter:
    """The user's visible prescriptions under `params`; a record they can't see is a 404."""
    base = Prescription.objects.visible_to(request.user).select_related("patient", "prescriber")
    filterset = PrescriptionFilter(params, queryset=base, request=request)
    if not filterset.is_valid() and any(name in filterset.errors for name in RECORD_FILTERS):
        raise Http404("No such provider or patient.")
    return filterset


def page_size(params) -> int:
    try:
        size = int(params.get("per_page", ""))
    except ValueError:
        return settings.DASHBOARD_PAGE_SIZE
    return size if size in PAGE_SIZES else settings.DASHBOARD_PAGE_SIZE


@login_required
@vary_on_headers("HX-Request")
def dashboard(request: AuthedHttpRequest) -> HttpResponse:
    params = canonical_params(request.GET)
    canonical = f"{request.path}?{params.urlencode()}" if params else request.path
    # A plain form GET carries every empty field: send the browser to the short, shareable URL.
    if params.urlencode() != request.GET.urlencode() and not request.htmx:
        return redirect(canonical)

    filterset = filtered(request, params)
    # Two steps: the page's ids (narrow rows, often straight from an index), then those rows
    # with their patient and prescriber. Sorting 50,000 joined rows to keep 25 is what's slow.
    paginator = Paginator(filterset.qs.values_list("pk", flat=True), page_size(params))
    page = paginator.get_page(params.get("page"))
    ids = list(page.object_list)
    # The same visible_to() queryset the ids came from (built once: it is not free to build).
    found = filterset.queryset.in_bulk(ids)
    rows = [found[pk] for pk in ids if pk in found]
    patient_url = url_maker("prescriptions:patient")
    for rx in rows:
        rx.patient_url = patient_url(rx.patient_id)
    attach_chat(request.user, rows)
    record(
        request,
        AuditEvent.Action.LIST,
        description=f"dashboard page {page.number}: {params.urlencode()}"[:300],
    )

    sort = filterset.sort_key if filterset.is_valid() else DEFAULT_SORT
    columns = []
    for key, label in COLUMNS:
        current = sort.removeprefix("-") == key
        descending = sort.startswith("-")
        columns.append(
            {
                "key": key,
                "label": label,
                "aria_sort": ("descending" if descending else "ascending") if current else "",
                "url": with_params(params, sort=f"-{key}" if current and not descending else key),
            }
        )
    quick = [
        {
            "key": key,
            "label": label,
            "pressed": key in params.getlist("quick"),
            "url": with_params(
                params,
                quick=(
                    [k for k in params.getlist("quick") if k != key]
                    if key in params.getlist("quick")
                    else [*params.getlist("quick"), key]
                )
                or None,
            ),
        }
        for key, label in QUICK_FILTERS.items()
    ]
    field_filters = [
        {
            "name": name,
            "label": filterset.form.fields[name].label,
            # One query for the provider list, whatever the template does with it.
            "choices": [(v, label) for v, label in filterset.form.fields[name].choices if v]
            if name in ("status", "provider")
            else [],
        }
        for name in FIELD_FILTERS
        if name != "provider" or not request.user.is_prescriber
    ]
    # Hidden copies of the current state, so that adding a field filter keeps the others.
    hidden = [(name, value) for name in params for value in params.getlist(name) if name != "page"]
    context = {
        "page": page,
        "rows": rows,
        "params": params,
        "query": params.urlencode(),
        "columns": columns,
        "quick_filters": quick,
        "field_filters": field_filters,
        "active_filters": active_filters(filterset, params),
        "errors": [
            (filterset.form.fields[name].label, error)
            for name, errors in filterset.errors.items()
            for error in errors
        ],
        "hidden": hidden,
        "page_sizes": [(n, with_params(params, per_page=n)) for n in PAGE_SIZES],
        "per_page": paginator.per_page,
        "page_urls": {
            "previous": with_params(params, page=page.previous_page_number())
            if page.has_previous()
            else "",
            "next": with_params(params, page=page.next_page_number()) if page.has_next() else "",
        },
        "clear_url": with_params(params, **dict.fromkeys(("quick", *FIELD_FILTERS, "patient"))),
        "saved_filters": list(SavedFilter.objects.visible_to(request.user)),
        "sort": sort,
        "dashboard_url": request.path,
        # The column headers sort on wide screens; phones (no table header) get a menu.
        "sort_options": [
            (f"{prefix}{key}", f"{label} ({direction})")
            for key, label in COLUMNS
            for prefix, direction in (("", "ascending"), ("-", "descending"))
        ],
    }
    template = "prescriptions/dashboard.html"
    if request.htmx and not request.htmx.history_restore_request:
        template += "#results"
    response = render(request, template, context)
    if request.htmx:
        push_url(response, canonical)
    return response


class Echo:
    """A file-like object whose write() returns the line, for csv.writer in a stream."""

    def write(self, value: str) -> str:
        return value


FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value) -> str:
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


def export_rows(queryset) -> Iterator[list]:
    status_labels = dict(Prescription._meta.get_field("status").choices)
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
    params = canonical_params(request.GET)
    filterset = filtered(request, params)
    record(
        request, AuditEvent.Action.EXPORT, description=f"dashboard CSV: {params.urlencode()}"[:300]
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
        messages.error(request, " ".join(e for errors in form.errors.values() for e in errors))
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
    prescriptions = list(
        Prescription.objects.visible_to(request.user)
        .filter(patient=patient)
        .select_related("prescriber", "pharmacy")
        .order_by("medication_name", "pk")
    )
    attach_chat(request.user, prescriptions)
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


def _actor(user, fallback_name: str = "", fallback_role: str = "") -> str:
    """'Dana Rivers (Prescriber delegate)': who did it, so a prescriber sees their delegates' work."""
    if user is None:
        return fallback_name or "A former user"
    return f"{user.get_full_name() or user.email} ({user.get_role_display()})"


def prescription_timeline(user, rx: Prescription) -> list[dict]:
    """The prescription's history, newest first: the pharmacy's status changes, the request's
    creation and each shared document, with who did it."""
    events = [
        {"at": c.changed_at, "kind": "status", "change": c}
        for c in StatusChange.objects.filter(prescription=rx)
    ]
    for req in (
        Request.objects.visible_to(user).filter(prescription=rx).select_related("created_by")
    ):
        events.append(
            {
                "at": req.created_at,
                "kind": "request",
                "actor": _actor(req.created_by),
                "url": reverse("requests_chat:detail", args=[req.pk]),
            }
        )
    for doc in (
        Document.objects.visible_to(user)
        .filter(request__prescription=rx)
        .select_related("uploaded_by")
    ):
        events.append(
            {
                "at": doc.created_at,
                "kind": "document",
                "actor": _actor(doc.uploaded_by),
                "title": doc.title,
            }
        )
    events.sort(key=lambda e: e["at"], reverse=True)
    return events


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
    timeline = prescription_timeline(request.user, rx)
    record(
        request,
        AuditEvent.Action.VIEW,
        rx,
        patient=rx.patient_id,
        description="prescription details",
    )
    template = "prescriptions/prescription.html"
    if request.htmx:
        template += "#prescription-detail"
    return render(request, template, {"rx": rx, "timeline": timeline})
