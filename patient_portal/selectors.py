"""Reads of the patient portal: the charts an account may act for, and the chosen one."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from .models import Chart, PortalSettings, ProxyGrant

if TYPE_CHECKING:
    from django.http import HttpRequest

    from accounts.models import User

# The session key of the chosen chart's id (validated on every request, never trusted).
SESSION_CHART = "patient_portal_chart_id"
_CACHE_ATTR = "_patient_portal_choices"


@dataclass(frozen=True)
class ChartChoice:
    """One entry of the switch: a chart and how the account relates to it."""

    chart: Chart
    grant: ProxyGrant | None

    @property
    def is_own(self) -> bool:
        return self.grant is None

    @property
    def person(self) -> str:
        """ "Me", or "Tim Doe (child)"."""
        if self.grant is None:
            return "Me"
        return f"{self.chart.full_name} ({self.grant.their_side})"

    @property
    def label(self) -> str:
        """ "Me — Jane Smith, Riverside Family Clinic"."""
        return f"{self.person} — {self.chart.provider.display_name}, {self.chart.clinic.name}"


def chart_choices(user: User) -> list[ChartChoice]:
    """Every person × clinician the account may act for: own charts first, then proxies.

    Two queries, whatever the number of charts; always read afresh (a revoked grant is gone
    from the very next request).
    """
    charts = list(
        Chart.objects.in_portal_of(user)
        .select_related("clinic", "provider__user")
        .order_by("legal_last_name", "legal_first_name", "clinic__name", "pk")
    )
    grants = {
        g.chart_id: g
        for g in ProxyGrant.objects.live().filter(grantee=user, chart__in=[c.pk for c in charts])
    }
    choices = [
        ChartChoice(chart, None if chart.patient_user_id == user.pk else grants.get(chart.pk))
        for chart in charts
    ]
    return sorted(choices, key=lambda c: (not c.is_own, c.chart.full_name, c.chart.clinic.name))


def request_choices(request: HttpRequest) -> list[ChartChoice]:
    """`chart_choices` of the signed-in user, computed once per request."""
    cached = getattr(request, _CACHE_ATTR, None)
    if cached is None:
        cached = chart_choices(request.user)  # type: ignore[arg-type]
        setattr(request, _CACHE_ATTR, cached)
    return cached


def current_choice(request: HttpRequest) -> ChartChoice | None:
    """The chosen entry of the switch, validated against `chart_choices` on every request.

    A chart id in the session that the account can no longer (or never could) act for — a
    revoked or expired proxy, another person's chart — is ignored and replaced by the first
    entry (the account's own chart when it has one). None: the account has no chart.
    """
    if not getattr(request.user, "is_authenticated", False):
        return None
    choices = request_choices(request)
    if not choices:
        request.session.pop(SESSION_CHART, None)
        return None
    wanted = request.session.get(SESSION_CHART)
    chosen = next((c for c in choices if c.chart.pk == wanted), None)
    if chosen is None:
        chosen = choices[0]
        request.session[SESSION_CHART] = chosen.chart.pk
    return chosen


def current_chart(request: HttpRequest) -> Chart | None:
    """The chart every patient page shows and changes (see `current_choice`)."""
    choice = current_choice(request)
    return choice.chart if choice else None


def portal_settings(chart: Chart) -> PortalSettings:
    return PortalSettings.for_clinic(chart.clinic_id)


# The staff nav's "Patient portal" link (templates/includes/nav.html) reads this session flag,
# set at sign-in (receivers.py) and by every patient-portal page, so that staff pages keep
# their query counts. Only the link uses it; access never does (the gate and every page ask
# the database), so a stale flag shows at most a link that answers 404.
SESSION_PORTAL_LINK = "patient_portal_link"
