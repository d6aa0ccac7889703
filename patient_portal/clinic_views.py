"""The Clinic area's patient-portal pages: charts and their proxies, portal settings, the
provider's Portal Dashboard message. Every chart comes through `Chart.objects.visible_to`
(read) or `editable_by` (change)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Count, Prefetch, Q, Value
from django.db.models.functions import Concat
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from audit.log import record
from audit.models import AuditEvent
from invites.models import Clinic, ClinicMembership, Invite
from portal.types import AuthedHttpRequest

from . import services
from .forms import (
    ChartPersonForm,
    DashboardMessageForm,
    GuardianInviteForm,
    LinkAccountForm,
    PortalSettingsForm,
)
from .models import PERMISSIONS, Chart, DashboardMessage, PortalSettings, ProxyGrant, ProxyInvite
from .services import record_for_chart

# The Clinic area's chosen clinic (the same session key as its Invite and Patients pages).
SESSION_CLINIC = "invites_clinic_id"
PAGE_SIZE = 25


def chosen_clinic(request: AuthedHttpRequest) -> Clinic:
    """The clinic the user works in now (as the Clinic area remembers it); 404 without one."""
    from invites.selectors import clinic_context

    remembered = request.session.get(SESSION_CLINIC)
    return clinic_context(
        request.user, remembered_clinic_id=remembered if isinstance(remembered, int) else None
    ).clinic


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
    return clinic_page(
        request,
        "clinic_portal/charts.html",
        clinic,
        page=page,
        q=q,
        chart_url_name="clinic_portal:chart",
    )


def _chart_page(
    request: AuthedHttpRequest,
    chart: Chart,
    *,
    link_form: LinkAccountForm | None = None,
    invite_form: GuardianInviteForm | None = None,
    person_form: ChartPersonForm | None = None,
    status: int = 200,
) -> HttpResponse:
    grants = list(
        ProxyGrant.objects.visible_to(request.user)
        .filter(chart=chart)
        .select_related("grantee", "granted_by", "revoked_by")
        .order_by("revoked_at", "-created_at")
    )
    # Guardian invites not yet accepted nor removed (expired ones too, to resend): they are
    # listed here rather than on Invited Patients.
    invites = list(
        ProxyInvite.objects.filter(chart=chart, grant__isnull=True, invite__removed_at__isnull=True)
        .exclude(invite__status=Invite.Status.ACCEPTED)
        .select_related("invite")
        .order_by("-invite__invited_at")
    )
    return clinic_page(
        request,
        "clinic_portal/chart.html",
        chart.clinic,
        status=status,
        chart=chart,
        live_grants=[g for g in grants if g.is_live],
        past_grants=[g for g in grants if not g.is_live],
        pending_invites=invites,
        link_form=link_form or LinkAccountForm(prefix="link"),
        invite_form=invite_form or GuardianInviteForm(prefix="guardian"),
        person_form=person_form or ChartPersonForm(instance=chart, prefix="person"),
    )


@login_required
def chart(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    found = get_object_or_404(
        Chart.objects.visible_to(request.user)
        .filter(clinic__in=Clinic.objects.visible_to(request.user))
        .select_related("clinic", "provider__user", "patient_user"),
        pk=pk,
    )
    record_for_chart(request, AuditEvent.Action.VIEW, chart=found, description="chart (clinic)")
    return _chart_page(request, found)


def _editable_chart(request: AuthedHttpRequest, pk: int) -> Chart:
    return get_object_or_404(
        Chart.objects.editable_by(request.user).select_related("clinic", "provider__user"),
        pk=pk,
    )


@login_required
@require_POST
def edit_person(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    """The chart's legal name and date of birth, corrected by the clinic's staff."""
    found = _editable_chart(request, pk)
    before = {f: getattr(found, f) for f in ChartPersonForm.Meta.fields}
    form = ChartPersonForm(request.POST, instance=found, prefix="person")
    if form.is_valid():
        changed = [
            str(form.fields[f].label).lower()
            for f, old in before.items()
            if form.cleaned_data[f] != old
        ]
        if changed:
            form.save()
            record_for_chart(
                request,
                AuditEvent.Action.UPDATE,
                chart=found,
                description="chart details changed: " + ", ".join(changed),
            )
            messages.success(request, f"The chart of {found.full_name} is updated.")
        else:
            messages.info(request, "Nothing changed.")
        return redirect("clinic_portal:chart", found.pk)
    # The form holds what was typed; the page shows the chart as stored.
    for field, value in before.items():
        setattr(found, field, value)
    return _chart_page(request, found, person_form=form, status=400)


@login_required
@require_POST
def link_account(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    found = _editable_chart(request, pk)
    form = LinkAccountForm(request.POST, prefix="link")
    if form.is_valid():
        try:
            grant = services.grant_proxy(
                chart=found,
                grantee=form.grantee,  # type: ignore[arg-type]  # set when the form is valid
                relationship=form.cleaned_data["relationship"],
                ends_on=form.cleaned_data["ends_on"],
                granted_by=request.user,
            )
        except services.GrantRefused as refused:
            form.add_error("email", str(refused))
        else:
            record_for_chart(
                request,
                AuditEvent.Action.CREATE,
                grant,
                chart=found,
                description=f"proxy access granted to {grant.grantee.email}",
            )
            messages.success(
                request,
                f"{grant.grantee.get_full_name() or grant.grantee.email} can now act for {found.full_name}.",
            )
            return redirect("clinic_portal:chart", found.pk)
    return _chart_page(request, found, link_form=form, status=400)


@login_required
@require_POST
def invite_guardian(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    found = _editable_chart(request, pk)
    form = GuardianInviteForm(request.POST, prefix="guardian")
    if form.is_valid():
        data = form.cleaned_data
        proxy = services.invite_guardian(
            chart=found,
            first_name=data["first_name"],
            last_name=data["last_name"],
            email=data["email"],
            mobile=data["mobile"],
            relationship=data["relationship"],
            ends_on=data["ends_on"],
            invited_by=request.user,
        )
        record_for_chart(
            request,
            AuditEvent.Action.CREATE,
            proxy.invite,
            chart=found,
            description="guardian invited for proxy access",
        )
        messages.success(
            request,
            f"Invitation sent to {proxy.invite.full_name}. Their invite code is {proxy.invite.code}.",
        )
        return redirect("clinic_portal:chart", found.pk)
    return _chart_page(request, found, invite_form=form, status=400)


@login_required
@require_POST
def revoke(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    grant = get_object_or_404(
        ProxyGrant.objects.editable_by(request.user).select_related("chart", "grantee"), pk=pk
    )
    services.revoke_proxy(grant=grant, by=request.user)
    record_for_chart(
        request,
        AuditEvent.Action.UPDATE,
        grant,
        chart=grant.chart,
        description=f"proxy access of {grant.grantee.email} revoked",
    )
    messages.success(
        request,
        f"{grant.grantee.get_full_name() or grant.grantee.email} can no longer act for "
        f"{grant.chart.full_name}. Their open pages lose access at once.",
    )
    return redirect("clinic_portal:chart", grant.chart_id)


@login_required
def settings_page(request: AuthedHttpRequest) -> HttpResponse:
    clinic = chosen_clinic(request)
    if not Clinic.objects.filter(
        pk=clinic.pk,
        memberships__user=request.user,
        memberships__role=ClinicMembership.Role.ADMIN,
    ).exists():
        raise PermissionDenied("Only the clinic's admins change its portal settings.")
    current = PortalSettings.for_clinic(clinic)
    form = PortalSettingsForm(request.POST or None, instance=current)
    if request.method == "POST" and form.is_valid():
        saved = form.save(commit=False)
        saved.clinic = clinic
        saved.updated_at = timezone.now()
        saved.updated_by = request.user
        saved.save()
        on = [label for key, label in PERMISSIONS.items() if getattr(saved, key)]
        record(
            request,
            AuditEvent.Action.UPDATE,
            saved,
            description="portal settings: on: " + (", ".join(on) or "none"),
        )
        messages.success(request, "Portal settings saved. Patients see the change at once.")
        return redirect("clinic_portal:settings")
    return clinic_page(
        request,
        "clinic_portal/settings.html",
        clinic,
        status=400 if form.errors else 200,
        form=form,
    )


@login_required
def dashboard_message(request: AuthedHttpRequest) -> HttpResponse:
    clinic = chosen_clinic(request)
    membership = ClinicMembership.objects.filter(
        user=request.user, clinic=clinic, role=ClinicMembership.Role.PROVIDER
    ).first()
    if membership is None:
        raise PermissionDenied("Only the clinic's providers have a Portal Dashboard message.")
    current = DashboardMessage.objects.filter(provider=membership).first() or DashboardMessage(
        provider=membership
    )
    form = DashboardMessageForm(request.POST or None, instance=current)
    if request.method == "POST" and form.is_valid():
        saved = form.save(commit=False)
        saved.updated_at = timezone.now()
        saved.save()
        record(request, AuditEvent.Action.UPDATE, saved, description="Portal Dashboard message")
        messages.success(
            request, "Your Portal Dashboard message is saved; patients see it on Home."
        )
        return redirect("clinic_portal:dashboard_message")
    return clinic_page(
        request,
        "clinic_portal/dashboard_message.html",
        clinic,
        status=400 if form.errors else 200,
        form=form,
        membership=membership,
    )
