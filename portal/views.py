"""The portal's own pages: where each user lands, and a patient's clinics."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render

from invites.models import ClinicPatient

from .gates import is_patient, landing_url
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
