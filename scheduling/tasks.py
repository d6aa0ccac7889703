"""Appointment reminders, a day before: PHI-free, by email and/or SMS, only with consent and
the patient's notification choices. Queued by `send_appointment_reminders` (the scheduler
service runs it), each appointment once; each delivery is sent once (`portal.tasks.once`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.conf import settings
from django.core.mail import send_mail
from django.urls import reverse
from django_tasks import task

from portal.tasks import once

from .models import Appointment

if TYPE_CHECKING:
    from accounts.models import User

EMAIL_SUBJECT = "Appointment reminder"
# No clinic, provider, type or time: only that there is something to look at.
TEXT = "Reminder: you have an appointment tomorrow. Sign in to your patient portal to see it: {url}"


def recipients(appointment: Appointment) -> list[User]:
    """Who is reminded: the chart's own account, else (a child) its live proxies."""
    from patient_portal.models import ProxyGrant

    chart = appointment.chart
    if chart.patient_user is not None:
        return [chart.patient_user] if chart.patient_user.is_active else []
    grants = ProxyGrant.objects.live().filter(chart=chart).select_related("grantee")
    return [g.grantee for g in grants if g.grantee.is_active]


@task()
def send_appointment_reminder(appointment_id: int) -> None:
    from invites.sms import send_sms
    from patient_portal.models import PatientPreferences

    appointment = (
        Appointment.objects.filter(pk=appointment_id, status=Appointment.Status.BOOKED)
        .select_related("chart__patient_user")
        .first()
    )
    if appointment is None:
        return  # cancelled since it was queued
    url = settings.SITE_URL.rstrip("/") + reverse("scheduling:schedule")
    body = TEXT.format(url=url)
    stamp = appointment.starts_at.isoformat()
    for user in recipients(appointment):
        prefs = PatientPreferences.of(user)
        if user.email and prefs.email_consent and prefs.email_appointment_reminders:
            with once(f"scheduling.reminder.email:{appointment.pk}:{stamp}:{user.pk}") as first:
                if first:
                    send_mail(f"{settings.PRODUCT_NAME}: {EMAIL_SUBJECT}", body, None, [user.email])
        if user.phone and prefs.sms_appointment_reminders:
            with once(f"scheduling.reminder.sms:{appointment.pk}:{stamp}:{user.pk}") as first:
                if first:
                    send_sms(to=user.phone, body=body)
