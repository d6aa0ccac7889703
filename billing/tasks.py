"""Background work of billing: the payment receipt email (with consent only, PHI-free)."""

from __future__ import annotations

from django.conf import settings
from django.core.mail import send_mail
from django.utils import timezone
from django_tasks import task

from patient_portal.models import PatientPreferences
from portal.tasks import once

from .models import Payment
from .money import format_cents


@task()
def send_payment_receipt(payment_id: int) -> bool:
    """Email the payer a receipt: amount and clinic only (no diagnoses, codes or services).

    Only to a payer who consented to unencrypted email; at most once per payment (a retried
    task skips what went out).
    """
    payment = (
        Payment.objects.select_related("chart__clinic", "created_by")
        .filter(pk=payment_id, status=Payment.Status.SUCCEEDED)
        .first()
    )
    payer = payment.created_by if payment else None
    if payment is None or payer is None or not payer.email:
        return False
    if not PatientPreferences.of(payer).email_consent:
        return False
    with once(f"billing-receipt:{payment.pk}") as due:
        if not due:
            return False
        clinic = payment.chart.clinic.name
        send_mail(
            f"Payment received by {clinic}",
            f"Thank you. {clinic} received your payment of {format_cents(payment.amount_cents)} "
            f"on {timezone.localtime(payment.completed_at):%B %d, %Y}.\n\nSign in to the patient portal to see "
            f"your receipt and billing history: {settings.SITE_URL}/patient/billing/history/\n",
            None,
            [payer.email],
        )
        Payment.objects.filter(pk=payment.pk).update(receipt_sent=True)
    return True
