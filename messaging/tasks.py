"""Background work of Messages: the staff bell for a patient's message, and the patient's
PHI-free email/SMS alert for a clinic's message (only with their consent and choice)."""

from __future__ import annotations

import logging

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.urls import reverse
from django_tasks import task

from portal.tasks import once

from .models import Message, Thread
from .services import patient_readers, staff_audience

logger = logging.getLogger(__name__)

# The only words a patient alert carries: no name, clinic, subject or text.
ALERT_SUBJECT = "You have a new message from your clinic"
ALERT_TEXT = "You have a new message from your clinic — sign in to read it"


@task()
def alert_new_message(message_id: int) -> None:
    """Ring the staff bell (a patient wrote) or alert the patient side (the clinic wrote)."""
    message = (
        Message.objects.select_related("thread__chart", "author").filter(pk=message_id).first()
    )
    if message is None:
        return
    if message.from_clinic:
        alert_patients(message)
    else:
        ring_staff_bell(message)


def staff_recipients(thread: Thread) -> list[int]:
    """ "My clinician": the chart's provider (when still a member); "the office": the clinic's
    staff in general."""
    if thread.to == Thread.To.CLINICIAN and thread.provider_id:
        provider_user = thread.provider.user_id if thread.provider is not None else None
        if provider_user is not None and provider_user in staff_audience(thread):
            return [provider_user]
    return staff_audience(thread)


def ring_staff_bell(message: Message) -> None:
    from notifications.services import notify  # noqa: PLC0415

    thread = message.thread
    with once(f"messaging.bell:{message.pk}") as first:
        if not first:
            return
        try:
            with transaction.atomic():
                notify(
                    activity="new_patient_message",
                    obj=thread,
                    actor=message.author,
                    recipients=staff_recipients(thread),
                    url=reverse("clinic_messaging:thread", args=[thread.pk]),
                )
        except Exception:
            logger.exception("Could not ring the bell for message %s", message.pk)


def alert_patients(message: Message) -> None:
    """Email/SMS each patient-side reader who consented to unencrypted notifications and chose
    this one; the text names nothing but "your clinic"."""
    from accounts.models import User  # noqa: PLC0415
    from invites.sms import send_sms  # noqa: PLC0415
    from patient_portal.models import PatientPreferences  # noqa: PLC0415

    link = settings.SITE_URL.rstrip("/") + reverse("patient_portal:home")
    for user in User.objects.filter(pk__in=patient_readers(message.thread.chart), is_active=True):
        if user.pk == message.author_id:
            continue
        prefs = PatientPreferences.of(user)
        if not prefs.email_consent:
            continue
        if prefs.email_new_messages and user.email:
            with once(f"messaging.alert.email:{message.pk}:{user.pk}") as first:
                if first:
                    send_mail(
                        ALERT_SUBJECT,
                        f"{ALERT_TEXT}.\n\n{link}\n",
                        None,
                        [user.email],
                    )
        if prefs.sms_new_messages and user.phone:
            with once(f"messaging.alert.sms:{message.pk}:{user.pk}") as first:
                if first:
                    send_sms(to=user.phone, body=f"{ALERT_TEXT}.")
