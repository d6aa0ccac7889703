"""The patient side: Home, the switch, Account."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import redirect
from django.urls import Resolver404, resolve
from django.views.decorators.http import require_POST

from audit.models import AuditEvent
from portal.security import safe_next
from portal.types import AuthedHttpRequest

from . import sections
from .decorators import patient_section
from .layout import home_cards, render_patient
from .selectors import SESSION_CHART, chart_choices, portal_settings
from .services import record_for_chart


def _id(value: str | None) -> int:
    """A database id from a form value; 0 for anything else (never an overflow error)."""
    try:
        number = int((value or "0").strip())
    except ValueError:
        return 0
    return number if 0 < number < 2**63 else 0


@patient_section("home")
def home(request: AuthedHttpRequest) -> HttpResponse:
    return render_patient(request, "patient_portal/home.html", {"cards": home_cards(request)})


@login_required
@require_POST
def switch(request: AuthedHttpRequest) -> HttpResponse:
    """Choose the chart (person × clinician) the following pages act for.

    Only an entry of the account's own switch is accepted: any other id is a 404. The page
    comes back to the same section for the new chart, or to Home when it has no such section.
    """
    wanted = _id(request.POST.get("chart"))
    choice = next((c for c in chart_choices(request.user) if c.chart.pk == wanted), None)
    if choice is None:
        raise Http404("No chart")
    request.session[SESSION_CHART] = choice.chart.pk
    record_for_chart(
        request, AuditEvent.Action.VIEW, chart=choice.chart, description="switched to this chart"
    )
    return redirect(_same_section_url(request, choice.chart))


def _same_section_url(request: AuthedHttpRequest, chart: object) -> str:
    target = safe_next(request, request.POST.get("next"))
    enabled = sections.enabled_sections(portal_settings(chart))  # type: ignore[arg-type]
    home = sections.get("home")
    fallback = home.url if home else "/"
    if not target:
        return fallback
    try:
        view_name = resolve(target.split("?", 1)[0]).view_name
    except Resolver404:
        return fallback
    for section in enabled:
        if view_name == section.url_name or any(view_name.startswith(m) for m in section.matches):
            return section.url
    return fallback


@patient_section("account")
def account(request: AuthedHttpRequest) -> HttpResponse:
    return render_patient(request, "patient_portal/account.html")
