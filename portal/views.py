"""The portal's own pages: where each user lands, and a patient's clinics."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from audit.log import record
from audit.models import AuditEvent
from invites.models import ClinicPatient

from .forms import TimeZoneForm
from .gates import has_profile, is_patient, landing_url
from .types import AuthedHttpRequest


@login_required
def home(request: AuthedHttpRequest) -> HttpResponse:
    """Send each user to the first page they can use (see `portal.gates.landing_url`)."""
    return redirect(landing_url(request.user))


@login_required
def my_clinics(request: AuthedHttpRequest) -> HttpResponse:
    """A patient's clinics, until the patient portal exists: one clinic is its "joined" page."""
    if not is_patient(request.user):
        raise Http404("No such page.")
    links = list(
        ClinicPatient.objects.of_patient(request.user)
        .select_related("clinic", "provider__user")
        .order_by("clinic__name")
    )
    if len(links) == 1:
        return redirect("invites:joined", links[0].clinic_id)
    return render(request, "portal/my_clinics.html", {"links": links})


@login_required
@require_POST
def time_zone(request: AuthedHttpRequest) -> HttpResponse:
    """Save the profile's time zone (the form is on the profile page)."""
    if not has_profile(request.user):
        raise Http404("No such page.")
    form = TimeZoneForm(request.POST, instance=request.user)
    if not form.is_valid():
        messages.error(request, " ".join(str(e) for e in form.errors["time_zone"]))
        return redirect("accounts:profile")
    form.save()
    record(request, AuditEvent.Action.UPDATE, request.user, description="time zone")
    zone = request.user.time_zone or "your browser's time zone"
    messages.success(request, f"Dates and times are now shown in {zone}.")
    return redirect("accounts:profile")
