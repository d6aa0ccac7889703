"""Joining a clinic makes (or links) the person's chart, however the link was created."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.contrib.auth.signals import user_logged_in, user_logged_out
from django.db.models.signals import post_save
from django.dispatch import receiver

from invites.models import ClinicPatient

from .models import Chart
from .selectors import SESSION_PORTAL_LINK
from .services import chart_for_clinic_patient, end_tracked_session

if TYPE_CHECKING:
    from django.http import HttpRequest


@receiver(post_save, sender=ClinicPatient, dispatch_uid="patient_portal.chart_for_joined")
def chart_for_joined(sender: type, instance: ClinicPatient, created: bool, **kwargs: Any) -> None:
    if created and not kwargs.get("raw"):
        chart_for_clinic_patient(instance)


@receiver(user_logged_in, dispatch_uid="patient_portal.portal_link")
def remember_portal_link(
    sender: type, request: HttpRequest | None, user: Any, **kwargs: Any
) -> None:
    """Whether the staff nav links to the patient portal, worked out once at sign-in."""
    if request is not None and hasattr(request, "session"):
        request.session[SESSION_PORTAL_LINK] = Chart.objects.in_portal_of(user).exists()


@receiver(user_logged_out, dispatch_uid="patient_portal.end_tracked_session")
def forget_session(sender: type, request: HttpRequest | None, **kwargs: Any) -> None:
    if request is not None:
        end_tracked_session(request)
