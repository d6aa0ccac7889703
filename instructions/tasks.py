"""Background alerts of a new instruction to the chart's readers (Django's tasks API)."""

from __future__ import annotations

from django.conf import settings
from django.urls import reverse
from django_tasks import task

from portal.tasks import RetryLater, is_transient, once

from .models import Instruction

# PHI-free: no clinic, clinician, title or patient name — only that there is something to read.
EMAIL_SUBJECT = "New information in your patient portal"
SMS_TEXT = "Your clinic shared something new in your patient portal. Sign in to read it: {link}"


@task()
def alert_new_instruction(instruction_id: int) -> None:
    """Tell the chart's own account and its live proxies that an instruction is waiting.

    Email only with the account's consent to unencrypted email and its "new documents" email
    choice; a text message only with its "new documents" text choice and a mobile number.
    Each (reader, channel) goes out once (`portal.tasks.once`), so a retry sends only what
    failed; transient failures make the worker try again later.
    """
    from accounts.services import send_portal_email
    from invites.sms import send_sms
    from patient_portal.models import PatientPreferences, ProxyGrant

    instruction = (
        Instruction.objects.published()
        .select_related("chart__patient_user")
        .filter(pk=instruction_id)
        .first()
    )
    if instruction is None:
        return  # unpublished (or deleted) before the alert went: nothing to tell
    chart = instruction.chart
    readers = [chart.patient_user] if chart.patient_user else []
    readers += [
        g.grantee for g in ProxyGrant.objects.live().filter(chart=chart).select_related("grantee")
    ]
    link = settings.SITE_URL.rstrip("/") + reverse("instructions:list")
    failed = 0
    for reader in {r.pk: r for r in readers if r.is_active}.values():
        prefs = PatientPreferences.of(reader)
        sends = []
        if reader.email and prefs.email_consent and prefs.email_new_documents:
            sends.append(
                (
                    "email",
                    lambda r=reader: send_portal_email(
                        to=r.email,
                        subject=EMAIL_SUBJECT,
                        template="instructions/email/new_instruction.txt",
                        context={"link": link},
                    ),
                )
            )
        if reader.phone and prefs.sms_new_documents:
            sends.append(
                ("sms", lambda r=reader: send_sms(to=r.phone, body=SMS_TEXT.format(link=link)))
            )
        for channel, send in sends:
            try:
                with once(f"instructions.alert:{instruction.pk}:{reader.pk}:{channel}") as first:
                    if first:
                        send()
            except Exception as error:
                if not is_transient(error):
                    raise
                failed += 1
    if failed:
        raise RetryLater(f"{failed} instruction alert(s) will be tried again")
