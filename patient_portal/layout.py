"""What every patient-portal page's layout needs: the switch, the nav, the link to staff areas."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.shortcuts import render
from django.template.loader import render_to_string
from django.utils.safestring import SafeString, mark_safe

from . import sections
from .selectors import current_choice, portal_settings, request_choices

if TYPE_CHECKING:
    from django.http import HttpRequest, HttpResponse

    from .models import Chart

# On phones the bottom bar holds this many sections; the rest go under "More".
TAB_BAR_SIZE = 4


@dataclass(frozen=True)
class NavEntry:
    section: sections.Section
    url: str
    current: bool
    # The section's count (Section.badge), None when it has none.
    badge: int | None = None


def nav_entries(
    request: HttpRequest, enabled: list[sections.Section], chart: Chart | None = None
) -> list[NavEntry]:
    match = getattr(request, "resolver_match", None)
    view_name = match.view_name if match else ""
    entries = []
    for section in enabled:
        current = view_name == section.url_name or any(
            view_name.startswith(prefix) for prefix in section.matches
        )
        badge = section.badge(request, chart) if section.badge and chart is not None else None
        entries.append(NavEntry(section, section.url, current, badge))
    return entries


def layout_context(request: HttpRequest) -> dict[str, Any]:
    """The patient layout's context: `chart_choices`, `chart_choice`, `patient_nav`…"""
    from portal.gates import staff_landing_url

    choice = current_choice(request)
    choices = request_choices(request)
    enabled = sections.enabled_sections(portal_settings(choice.chart)) if choice else []
    nav = nav_entries(request, enabled, choice.chart if choice else None)
    return {
        "chart_choices": choices,
        "chart_choice": choice,
        "chart": choice.chart if choice else None,
        "patient_nav": nav,
        "patient_tabs": nav[:TAB_BAR_SIZE] if len(nav) > TAB_BAR_SIZE + 1 else nav,
        "patient_more": nav[TAB_BAR_SIZE:] if len(nav) > TAB_BAR_SIZE + 1 else [],
        "staff_area_url": staff_landing_url(request.user),
    }


def render_patient(
    request: HttpRequest, template: str, context: dict[str, Any] | None = None, status: int = 200
) -> HttpResponse:
    """Render a page that extends `patient_portal/_base.html` (the switch and nav filled in)."""
    return render(request, template, {**layout_context(request), **(context or {})}, status=status)


def home_cards(request: HttpRequest) -> list[SafeString]:
    """The enabled Home cards of the chosen chart, rendered in order (a card whose context
    function answers None is left out)."""
    choice = current_choice(request)
    if choice is None:
        return []
    rendered = []
    for card in sections.enabled_cards(portal_settings(choice.chart)):
        extra = card.context(request, choice.chart) if card.context else {}
        if extra is None:
            continue
        html = render_to_string(
            card.template, {"chart": choice.chart, "chart_choice": choice, **extra}, request
        )
        rendered.append(mark_safe(html))  # noqa: S308 - our own rendered template
    return rendered
