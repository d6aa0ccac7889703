"""The Clinic area's schedule: a provider's week calendar (book for a chart, move, cancel,
mark done / no-show) and the schedule settings (types, hours, time off, rules).

Staff reach only their clinics: the clinic is the Clinic area's chosen one (its members
only), providers come from `ClinicMembership.objects.visible_to`, appointments from
`Appointment.objects.visible_to` / `editable_by`, charts from `Chart.objects.editable_by`.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import Value
from django.db.models.functions import Concat
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from audit.log import record
from audit.models import AuditEvent
from invites.models import Clinic, ClinicMembership
from patient_portal.clinic_views import chosen_clinic, clinic_page
from patient_portal.models import Chart
from patient_portal.services import record_for_chart
from portal.rendering import render_page
from portal.types import AuthedHttpRequest

from . import selectors, services
from .forms import (
    AppointmentTypeForm,
    HoursForm,
    MoveForm,
    RulesForm,
    StaffBookingForm,
    TimeOffForm,
)
from .models import Appointment, AppointmentType, BookingRules, TimeOff, WorkingHours

# The calendar's grid: rows of 15 minutes on the clinic's clock.
ROW_MINUTES = 15
DEFAULT_DAY = (dt.time(8), dt.time(18))
# The grid classes portal.css defines (sched-r2…sched-r97, sched-s1…sched-s32): the page's CSP
# allows no inline styles.
MAX_ROW = 97
MAX_SPAN = 32
CHART_MATCHES = 20


def _providers(request: AuthedHttpRequest, clinic: Clinic) -> Any:
    return (
        ClinicMembership.objects.visible_to(request.user)
        .providers()
        .filter(clinic=clinic)
        .select_related("user", "clinic")
    )


def _week_start(raw: str, today: dt.date) -> dt.date:
    try:
        day = dt.date.fromisoformat(raw) if raw and len(raw) == 10 and raw.isascii() else today
    except ValueError:
        day = today
    return day - dt.timedelta(days=day.weekday())


def _calendar_context(
    request: AuthedHttpRequest, clinic: Clinic, *, provider_id: str = "", week_of: str = ""
) -> dict[str, Any]:
    providers = list(_providers(request, clinic))
    wanted = provider_id or request.GET.get("provider") or request.POST.get("provider", "")
    provider = next((p for p in providers if str(p.pk) == wanted), None)
    if provider is None:
        mine = next((p for p in providers if p.user_id == request.user.pk), None)
        provider = mine or (providers[0] if providers else None)
    zone = selectors.clinic_zone(provider or ClinicMembership(clinic=clinic))
    today = timezone.now().astimezone(zone).date()
    week = _week_start(week_of or request.GET.get("week") or request.POST.get("week", ""), today)
    days = [week + dt.timedelta(days=i) for i in range(7)]
    context: dict[str, Any] = {
        "providers": providers,
        "provider": provider,
        "zone_name": zone.key,
        "week": week,
        "prev_week": week - dt.timedelta(days=7),
        "next_week": week + dt.timedelta(days=7),
        "today": today,
        "days": [],
        "rows": [],
    }
    if provider is None:
        return context
    hours = list(WorkingHours.objects.filter(provider=provider))
    first = min([h.start for h in hours] + [DEFAULT_DAY[0]])
    last = max([h.end for h in hours] + [DEFAULT_DAY[1]])
    first_minute = first.hour * 60
    last_minute = min(24 * 60, (last.hour + (1 if last.minute else 0)) * 60)
    start = dt.datetime.combine(week, dt.time(0), tzinfo=zone)
    end = dt.datetime.combine(week + dt.timedelta(days=7), dt.time(0), tzinfo=zone)
    appointments = selectors.week_appointments(request.user, provider, start, end)
    by_day: dict[dt.date, list[dict[str, Any]]] = {d: [] for d in days}
    for appointment in appointments:
        local_start = appointment.starts_at.astimezone(zone)
        local_end = appointment.ends_at.astimezone(zone)
        minute = local_start.hour * 60 + local_start.minute
        length = max(
            ROW_MINUTES, int((appointment.ends_at - appointment.starts_at).total_seconds() // 60)
        )
        row = max(0, (minute - first_minute) // ROW_MINUTES)
        span = max(1, -(-length // ROW_MINUTES))
        if local_start.date() in by_day:
            by_day[local_start.date()].append(
                {
                    "appointment": appointment,
                    "start": local_start,
                    "end": local_end,
                    "row": min(row + 2, MAX_ROW),
                    "span": min(span, MAX_SPAN),
                }
            )
    working = {(h.weekday) for h in hours}
    context["days"] = [
        {"date": d, "items": by_day[d], "works": d.weekday() in working} for d in days
    ]
    context["rows"] = [
        {"label": f"{m // 60:02d}:{m % 60:02d}", "row": (m - first_minute) // ROW_MINUTES + 2}
        for m in range(first_minute, last_minute, 60)
    ]
    context["row_count"] = (last_minute - first_minute) // ROW_MINUTES
    # The chart select lists only the charts found by the "Find patient" search (at most
    # CHART_MATCHES): rendering every chart of a large clinic would cost seconds.
    q = (request.GET.get("q") or "").strip()[:100]
    context["q"] = q if q.isprintable() else ""
    found = Chart.objects.none()
    if context["q"]:
        found = (
            Chart.objects.editable_by(request.user)
            .filter(clinic=clinic)
            .annotate(_name=Concat("legal_first_name", Value(" "), "legal_last_name"))
            .filter(_name__icontains=context["q"])
            .order_by("legal_last_name", "legal_first_name", "pk")[:CHART_MATCHES]
        )
    context["booking_form"] = StaffBookingForm(
        charts=found,
        types=AppointmentType.objects.visible_to(request.user).filter(clinic=clinic, active=True),
        zone=zone,
        initial={"day": today},
    )
    return context


def _calendar(
    request: AuthedHttpRequest,
    clinic: Clinic,
    status: int = 200,
    provider_id: str = "",
    week_of: str = "",
    **extra: Any,
) -> HttpResponse:
    context = {
        **_calendar_context(request, clinic, provider_id=provider_id, week_of=week_of),
        **extra,
    }
    if request.htmx:
        return render_page(
            request,
            "scheduling/clinic/calendar.html",
            {"clinic": clinic, **context},
            partial="calendar",
            status=status,
        )
    return clinic_page(request, "scheduling/clinic/calendar.html", clinic, status=status, **context)


def _back(appointment: Appointment) -> str:
    return services.calendar_url(appointment)


@login_required
def calendar(request: AuthedHttpRequest) -> HttpResponse:
    clinic = chosen_clinic(request)
    record(request, AuditEvent.Action.LIST, description=f"calendar of clinic {clinic.pk}")
    return _calendar(request, clinic)


@login_required
@require_POST
def book(request: AuthedHttpRequest) -> HttpResponse:
    clinic = chosen_clinic(request)
    context = _calendar_context(request, clinic)
    provider = context["provider"]
    if provider is None:
        raise PermissionDenied("This clinic has no providers.")
    form = StaffBookingForm(
        request.POST,
        charts=Chart.objects.editable_by(request.user).filter(clinic=clinic),
        types=AppointmentType.objects.visible_to(request.user).filter(clinic=clinic, active=True),
        zone=selectors.clinic_zone(provider),
    )
    error = ""
    if form.is_valid():
        chart = form.cleaned_data["chart"]
        try:
            appointment = services.book(
                chart=chart,
                provider=provider,
                appointment_type=form.cleaned_data["type"],
                starts_at=form.starts_at(),
                by=request.user,
                as_patient=False,
            )
        except (services.SlotTaken, services.BookingRefused) as problem:
            error = str(problem)
        else:
            record_for_chart(
                request,
                AuditEvent.Action.CREATE,
                appointment,
                chart=chart,
                description="appointment booked (clinic)",
            )
            if request.htmx:
                return _calendar(request, clinic, notice="Appointment booked.")
            messages.success(request, "Appointment booked.")
            return redirect(_back(appointment))
    else:
        error = "Check the booking: " + "; ".join(
            f"{form.fields[name].label or name}: {' '.join(str(e) for e in errs)}"
            if name in form.fields
            else " ".join(str(e) for e in errs)
            for name, errs in form.errors.items()
        )
    return _calendar(request, clinic, status=409 if "taken" in error else 400, error=error)


def _editable(request: AuthedHttpRequest, pk: int) -> Appointment:
    return get_object_or_404(
        Appointment.objects.editable_by(request.user).select_related(
            "type", "provider__clinic", "chart__clinic"
        ),
        pk=pk,
    )


@login_required
@require_http_methods(["GET", "POST"])
def change(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    """GET: the appointment's panel (move, cancel, mark). POST: do the button's `action`."""
    appointment = _editable(request, pk)
    clinic = appointment.chart.clinic
    if request.method == "GET":
        zone = selectors.clinic_zone(appointment.provider)
        record_for_chart(
            request,
            AuditEvent.Action.VIEW,
            appointment,
            chart=appointment.chart,
            description="appointment (clinic)",
        )
        context: dict[str, Any] = {
            "appointment": appointment,
            "local_start": appointment.starts_at.astimezone(zone),
            "local_end": appointment.ends_at.astimezone(zone),
            "zone_name": zone.key,
            "back_url": _back(appointment),
        }
        if request.htmx:
            return render_page(
                request,
                "scheduling/clinic/appointment.html",
                {"clinic": clinic, **context},
                partial="appt-panel",
            )
        return clinic_page(request, "scheduling/clinic/appointment.html", clinic, **context)
    request.session["invites_clinic_id"] = clinic.pk
    action = request.POST.get("action", "")
    error, notice = "", ""
    try:
        if action == "move":
            form = MoveForm(request.POST)
            if not form.is_valid():
                raise services.BookingRefused("Give the new day and time.")
            before = appointment.starts_at
            from .forms import local_moment

            services.reschedule(
                appointment=appointment,
                starts_at=local_moment(
                    form.cleaned_data["day"],
                    form.cleaned_data["time"],
                    selectors.clinic_zone(appointment.provider),
                ),
                by=request.user,
                as_patient=False,
            )
            description, notice = (
                f"appointment moved from {before:%Y-%m-%d %H:%M} UTC (clinic)",
                "Appointment moved.",
            )
        elif action == "cancel":
            services.cancel(appointment=appointment, by=request.user, as_patient=False)
            description, notice = "appointment cancelled (clinic)", "Appointment cancelled."
        elif action in {"done", "no_show"}:
            services.mark(appointment=appointment, status=action)
            description = f"appointment marked {appointment.get_status_display()}"
            notice = f"Marked {appointment.get_status_display().lower()}."
        else:
            raise services.BookingRefused("Choose an action.")
    except (services.SlotTaken, services.BookingRefused) as problem:
        error = str(problem)
        appointment.refresh_from_db()
    else:
        record_for_chart(
            request,
            AuditEvent.Action.UPDATE,
            appointment,
            chart=appointment.chart,
            description=description,
        )
    if request.htmx:
        local = appointment.starts_at.astimezone(selectors.clinic_zone(appointment.provider))
        return _calendar(
            request,
            clinic,
            status=400 if error else 200,
            provider_id=str(appointment.provider_id),
            week_of=request.POST.get("week", "") or local.date().isoformat(),
            error=error,
            notice=notice,
        )
    if error:
        messages.error(request, error)
    else:
        messages.success(request, notice)
    return redirect(_back(appointment))


# Settings (clinic admins) ------------------------------------------------------------------


def _admin_clinic(request: AuthedHttpRequest) -> Clinic:
    clinic = chosen_clinic(request)
    if not Clinic.objects.administered_by(request.user).filter(pk=clinic.pk).exists():
        raise PermissionDenied("Only the clinic's admins change its schedule settings.")
    return clinic


@login_required
def settings_page(request: AuthedHttpRequest) -> HttpResponse:
    clinic = _admin_clinic(request)
    providers = _providers(request, clinic)
    zone = selectors.clinic_zone(ClinicMembership(clinic=clinic))
    rules = BookingRules.for_clinic(clinic)
    action = request.POST.get("form", "") if request.method == "POST" else ""
    type_form = AppointmentTypeForm(request.POST if action == "type" else None, prefix="type")
    hours_form = HoursForm(
        request.POST if action == "hours" else None, providers=providers, prefix="hours"
    )
    off_form = TimeOffForm(
        request.POST if action == "off" else None, providers=providers, zone=zone, prefix="off"
    )
    rules_form = RulesForm(
        request.POST if action == "rules" else None, instance=rules, clinic=clinic, prefix="rules"
    )
    if request.method == "POST":
        saved: Any = None
        if action == "type" and type_form.is_valid():
            saved = type_form.save(commit=False)
            saved.clinic = clinic
            saved.save()
            what = f"appointment type {saved.name!r} added"
        elif action == "hours" and hours_form.is_valid():
            saved = hours_form.save()
            what = f"hours of provider {saved.provider_id} added"
        elif action == "off" and off_form.is_valid():
            saved = off_form.time_off()
            saved.save()
            what = f"time off of provider {saved.provider_id} added"
        elif action == "rules" and rules_form.is_valid():
            saved = rules_form.save(commit=False)
            saved.clinic = clinic
            saved.save()
            clinic.time_zone = rules_form.cleaned_data["time_zone"]
            clinic.save(update_fields=["time_zone"])
            what = "booking rules saved"
        elif action in {"type_toggle", "hours_delete", "off_delete"}:
            what = _small_change(request, clinic, action)
            saved = what
        if saved is not None:
            record(
                request, AuditEvent.Action.UPDATE, clinic, description=f"schedule settings: {what}"
            )
            messages.success(request, "Saved.")
            return redirect("scheduling_clinic:settings")
    return clinic_page(
        request,
        "scheduling/clinic/settings.html",
        clinic,
        status=400 if request.method == "POST" else 200,
        types=AppointmentType.objects.visible_to(request.user).filter(clinic=clinic),
        hours=WorkingHours.objects.filter(provider__in=providers).select_related("provider__user"),
        time_off=TimeOff.objects.filter(
            provider__in=providers, ends_at__gt=timezone.now()
        ).select_related("provider__user"),
        type_form=type_form,
        hours_form=hours_form,
        off_form=off_form,
        rules_form=rules_form,
        zone_name=clinic.time_zone,
    )


def _small_change(request: AuthedHttpRequest, clinic: Clinic, action: str) -> str:
    raw = request.POST.get("pk", "")
    pk = int(raw) if raw.isascii() and raw.isdigit() and len(raw) < 12 else 0
    if action == "type_toggle":
        found = get_object_or_404(
            AppointmentType.objects.visible_to(request.user).filter(clinic=clinic), pk=pk
        )
        found.active = not found.active
        found.save(update_fields=["active"])
        return f"appointment type {found.name!r} {'on' if found.active else 'off'}"
    if action == "hours_delete":
        hours = get_object_or_404(WorkingHours.objects.filter(provider__clinic=clinic), pk=pk)
        hours.delete()
        return "hours removed"
    away = get_object_or_404(TimeOff.objects.filter(provider__clinic=clinic), pk=pk)
    away.delete()
    return "time off removed"


def calendar_link(provider_id: int, week: dt.date) -> str:
    return (
        reverse("scheduling_clinic:calendar") + f"?provider={provider_id}&week={week.isoformat()}"
    )
