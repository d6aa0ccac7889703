"""The Clinic area's patient-portal pages: charts and their proxies, portal settings, the
provider's Portal Dashboard message. Every chart comes through `Chart.objects.visible_to`
(read) or `editable_by` (change)."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Count, Prefetch, Q, Value
from django.db.models.functions import Concat
from django.http import Http404, HttpResponse
from django.shortcuts import render

from audit.log import record
from audit.models import AuditEvent
from invites.models import Clinic, ClinicMembership
from portal.types import AuthedHttpRequest

from .models import Chart, ProxyGrant

# The Clinic area's chosen clinic (the same session key as its Invite and Patients pages).
SESSION_CLINIC = "invites_clinic_id"
PAGE_SIZE = 25


def chosen_clinic(request: AuthedHttpRequest) -> Clinic:
    """The clinic the user works in now (as the Clinic area remembers it); 404 without one."""
    clinics = list(Clinic.objects.visible_to(request.user))
    if not clinics:
        raise Http404("No clinic")
    by_id = {c.pk: c for c in clinics}
    return by_id.get(request.session.get(SESSION_CLINIC)) or clinics[0]


def memberships(request: AuthedHttpRequest, clinic: Clinic) -> list[ClinicMembership]:
    return list(ClinicMembership.objects.filter(user=request.user, clinic=clinic))


def clinic_page(
    request: AuthedHttpRequest, template: str, clinic: Clinic, status: int = 200, **extra: object
) -> HttpResponse:
    mine = memberships(request, clinic)
    return render(
        request,
        template,
        {
            "clinic": clinic,
            "clinics": list(Clinic.objects.visible_to(request.user)),
            "is_admin": any(m.role == ClinicMembership.Role.ADMIN for m in mine),
            "is_provider": any(m.role == ClinicMembership.Role.PROVIDER for m in mine),
            **extra,
        },
        status=status,
    )


@login_required
def charts(request: AuthedHttpRequest) -> HttpResponse:
    clinic = chosen_clinic(request)
    q = request.GET.get("q", "").strip()[:100]
    found = (
        Chart.objects.visible_to(request.user)
        .filter(clinic=clinic)
        .select_related("provider__user", "patient_user")
        .annotate(live_proxies=Count("proxy_grants", filter=Q(proxy_grants__revoked_at=None)))
        .prefetch_related(
            Prefetch(
                "proxy_grants",
                queryset=ProxyGrant.objects.live().select_related("grantee"),
                to_attr="live_grants",
            )
        )
    )
    if q:
        found = found.annotate(
            _name=Concat("legal_first_name", Value(" "), "legal_last_name")
        ).filter(Q(_name__icontains=q) | Q(patient_user__email__icontains=q))
    page = Paginator(
        found.order_by("legal_last_name", "legal_first_name", "pk"), PAGE_SIZE
    ).get_page(request.GET.get("page"))
    record(request, AuditEvent.Action.LIST, description=f"charts of clinic {clinic.pk}")
    return clinic_page(request, "clinic_portal/charts.html", clinic, page=page, q=q)
