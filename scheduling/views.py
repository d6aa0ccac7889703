"""The patient's Schedule: upcoming and past appointments, book, reschedule, cancel, .ics.

Viewing is always on; booking and rescheduling need the clinic's "Online booking" portal
permission (`@patient_section("online_booking")`, 404 when off). Cancelling follows the
booking rules' cut-off whatever the permission: a patient can always tell the clinic they
cannot come, in time. Every appointment comes through `Appointment.objects.visible_to`,
narrowed to the chosen chart.
"""

from __future__ import annotations

import datetime as dt
from collections import OrderedDict
from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from audit.models import AuditEvent
from patient_portal.decorators import patient_section
from patient_portal.layout import render_patient
from patient_portal.services import record_for_chart
from portal.idempotency import created, idempotent

from . import calendar_files, selectors, services
from .models import Appointment, AppointmentType, BookingRules

MAX_PARAM = 40


def _int_param(request: HttpRequest, name: str) -> int | None:
    raw = request.GET.get(name, "") or request.POST.get(name, "")
    if not raw or len(raw) > 12 or not raw.isascii() or not raw.isdigit():
        return None
    return int(raw)


def parse_moment(raw: str) -> dt.datetime | None:
    """An aware ISO moment from a slot link ("2027-06-01T13:00:00+00:00"), else None."""
    if not raw or len(raw) > MAX_PARAM or not raw.isascii() or not raw.isprintable():
        return None
    try:
        moment = dt.datetime.fromisoformat(raw)
    except ValueError:
        return None
    if moment.tzinfo is None:
        return None
    return moment.astimezone(dt.UTC)


def group_by_day(starts: list[dt.datetime]) -> list[tuple[dt.date, list[dt.datetime]]]:
    """Slots grouped by the reader's local day (the active zone)."""
    zone = timezone.get_current_timezone()
    days: OrderedDict[dt.date, list[dt.datetime]] = OrderedDict()
    for start in starts:
        local = start.astimezone(zone)
        days.setdefault(local.date(), []).append(local)
    return list(days.items())


def _zone_context() -> dict[str, Any]:
    return {"zone_name": timezone.get_current_timezone_name()}


def _chart_appointment(request: HttpRequest, pk: int) -> Appointment:
    return get_object_or_404(
        Appointment.objects.visible_to(request.user)  # type: ignore[arg-type]
        .filter(chart=request.chart)  # type: ignore[attr-defined]
        .select_related("type", "provider__user", "provider__clinic", "chart__clinic"),
        pk=pk,
    )


@patient_section("schedule")
def schedule(request: HttpRequest) -> HttpResponse:
    chart = request.chart  # type: ignore[attr-defined]
    upcoming, past = selectors.chart_appointments(request.user, chart)  # type: ignore[arg-type]
    rules = BookingRules.for_clinic(chart.clinic_id)
    for appointment in upcoming:
        appointment.change_refused = services.patient_may_change(appointment)  # type: ignore[attr-defined]
    return render_patient(
        request,
        "scheduling/schedule.html",
        {
            "upcoming": upcoming,
            "past": past,
            "rules": rules,
            "booking_on": request.portal_settings.online_booking,  # type: ignore[attr-defined]
            **_zone_context(),
        },
    )


@patient_section("online_booking")
@require_http_methods(["GET", "POST"])
@idempotent
def book(request: HttpRequest) -> HttpResponse:
    chart = request.chart  # type: ignore[attr-defined]
    types = list(AppointmentType.objects.bookable_for(chart))
    providers = selectors.bookable_providers(chart)
    chosen_type = next((t for t in types if t.pk == _int_param(request, "type")), None)
    provider = next((p for p in providers if p.pk == _int_param(request, "provider")), None)
    raw_at = request.POST.get("at", "") if request.method == "POST" else request.GET.get("at", "")
    at = parse_moment(raw_at)
    error = ""
    status = 200
    if raw_at and at is None:
        error, status = "That time could not be read. Please choose one of the times shown.", 400
    if request.method == "POST":
        if chosen_type is None or provider is None or at is None:
            error = error or "Choose an appointment type, a provider and a time."
            status = 400
        else:
            try:
                appointment = services.book(
                    chart=chart,
                    provider=provider,
                    appointment_type=chosen_type,
                    starts_at=at,
                    by=request.user,  # type: ignore[arg-type]
                    as_patient=True,
                )
            except services.SlotTaken as taken:
                error, status, at = str(taken), 409, None
            except services.BookingRefused as refused:
                error, status, at = str(refused), 400, None
            else:
                record_for_chart(
                    request,
                    AuditEvent.Action.CREATE,
                    appointment,
                    chart=chart,
                    description=f"appointment booked online ({chosen_type.name})",
                )
                created(request)
                messages.success(request, "Your appointment is booked.")
                return redirect("scheduling:schedule")
    context: dict[str, Any] = {
        "types": types,
        "providers": providers,
        "chosen_type": chosen_type,
        "provider": provider,
        "at": at.astimezone(timezone.get_current_timezone()) if at else None,
        "error": error,
        **_zone_context(),
    }
    if chosen_type and provider and at is None:
        context["days"] = group_by_day(selectors.free_slots_for(provider, chosen_type))
        context["slot_query"] = f"type={chosen_type.pk}&provider={provider.pk}&"
    return render_patient(request, "scheduling/book.html", context, status=status)


@patient_section("online_booking")
@require_http_methods(["GET", "POST"])
def reschedule(request: HttpRequest, pk: int) -> HttpResponse:
    appointment = _chart_appointment(request, pk)
    refused = services.patient_may_change(appointment)
    raw_at = request.POST.get("at", "") if request.method == "POST" else request.GET.get("at", "")
    at = parse_moment(raw_at)
    error, status = "", 200
    if raw_at and at is None:
        error, status = "That time could not be read. Please choose one of the times shown.", 400
    if request.method == "POST" and not refused and at is not None:
        before = appointment.starts_at
        try:
            services.reschedule(
                appointment=appointment,
                starts_at=at,
                by=request.user,  # type: ignore[arg-type]
                as_patient=True,
            )
        except services.SlotTaken as taken:
            error, status, at = str(taken), 409, None
            appointment.refresh_from_db()
        except services.BookingRefused as problem:
            error, status, at = str(problem), 400, None
            appointment.refresh_from_db()
        else:
            record_for_chart(
                request,
                AuditEvent.Action.UPDATE,
                appointment,
                chart=appointment.chart,
                description=f"appointment moved from {before:%Y-%m-%d %H:%M} UTC",
            )
            messages.success(request, "Your appointment is moved.")
            return redirect("scheduling:schedule")
    elif request.method == "POST" and refused:
        status = 400
    context: dict[str, Any] = {
        "appointment": appointment,
        "refused": refused,
        "at": at.astimezone(timezone.get_current_timezone()) if at else None,
        "error": error,
        **_zone_context(),
    }
    if not refused and at is None:
        context["days"] = group_by_day(
            selectors.free_slots_for(appointment.provider, appointment.type, exclude=appointment.pk)
        )
    return render_patient(request, "scheduling/reschedule.html", context, status=status)


@patient_section("schedule")
@require_http_methods(["GET", "POST"])
def cancel(request: HttpRequest, pk: int) -> HttpResponse:
    appointment = _chart_appointment(request, pk)
    refused = services.patient_may_change(appointment)
    if request.method == "POST" and not refused:
        services.cancel(appointment=appointment, by=request.user, as_patient=True)  # type: ignore[arg-type]
        record_for_chart(
            request,
            AuditEvent.Action.UPDATE,
            appointment,
            chart=appointment.chart,
            description="appointment cancelled online",
        )
        messages.success(request, "Your appointment is cancelled.")
        return redirect("scheduling:schedule")
    return render_patient(
        request,
        "scheduling/cancel.html",
        {"appointment": appointment, "refused": refused, **_zone_context()},
        status=400 if request.method == "POST" else 200,
    )


@patient_section("schedule")
def calendar_file(request: HttpRequest, pk: int) -> HttpResponse:
    appointment = _chart_appointment(request, pk)
    if appointment.status == Appointment.Status.CANCELLED:
        raise Http404("Cancelled")
    response = HttpResponse(
        calendar_files.ics_for(appointment), content_type="text/calendar; charset=utf-8"
    )
    response["Content-Disposition"] = f'attachment; filename="appointment-{appointment.pk}.ics"'
    response["Cache-Control"] = "private, no-store"
    return response
