"""The one helper every view uses to write the audit trail."""

from __future__ import annotations

from typing import Any

from django.db import models
from django.http import HttpRequest

from portal.security import client_ip

from .models import AuditEvent


def record(
    request: HttpRequest | None,
    action: str,
    obj: models.Model | None = None,
    *,
    patient: Any = None,
    description: str = "",
    user: Any = None,
    chart: Any = None,
    on_behalf_of: str = "",
) -> AuditEvent:
    """Write one audit event for `request.user` (or `user`) doing `action` to `obj`.

    `patient` is the patient whose data was touched (an instance or a pk), so that an auditor
    can list every access to one patient's record. `chart` is the patient-portal chart acted
    on (an instance or a pk) and `on_behalf_of` the person acted for when the actor is not that
    chart's own account (a parent for a child): the trail reads "Mary Doe for Tim Doe".
    """
    actor = user if user is not None else getattr(request, "user", None)
    if actor is not None and not getattr(actor, "is_authenticated", False):
        actor = None
    patient_id = getattr(patient, "pk", patient)
    return AuditEvent.objects.create(
        user=actor,
        user_email=getattr(actor, "email", "") or "",
        action=action,
        object_type=obj._meta.label if obj is not None else "",
        object_id=str(obj.pk) if obj is not None else "",
        patient_id=patient_id,
        chart_id=getattr(chart, "pk", chart),
        on_behalf_of=on_behalf_of[:200],
        description=description[:300],
        ip_address=client_ip(request),
        user_agent=(request.META.get("HTTP_USER_AGENT", "")[:300] if request else ""),
        path=(request.get_full_path()[:300] if request else ""),
    )
