"""Reads of clinic data that the invites pages share."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.http import Http404

from .models import Clinic, ClinicMembership

if TYPE_CHECKING:
    from accounts.models import User


@dataclass
class ClinicContext:
    clinics: list[Clinic]
    clinic: Clinic
    is_admin: bool
    providers: list[ClinicMembership]
    provider: ClinicMembership | None


def clinic_context(
    user: User,
    *,
    clinic_id: int | None = None,
    remembered_clinic_id: int | None = None,
    provider_id: int | None = None,
) -> ClinicContext:
    """The clinic the user works in now and the chosen provider.

    The clinic is `clinic_id` when given (one the user is not a member of is a 404), else the
    one the caller remembered, else the first; the provider is `provider_id` for an admin, if it
    is one of that clinic's providers (a provider is their own). Users with no clinic get a 404,
    like any page they cannot see.
    """
    clinics = list(Clinic.objects.visible_to(user))
    if not clinics:
        raise Http404("No clinic")
    if clinic_id is not None:
        clinic = next((c for c in clinics if c.pk == clinic_id), None)
        if clinic is None:
            raise Http404("No clinic")
    else:
        clinic = next((c for c in clinics if c.pk == remembered_clinic_id), clinics[0])
    mine = ClinicMembership.objects.of_user(user).filter(clinic=clinic)
    is_admin = Clinic.objects.administered_by(user).filter(pk=clinic.pk).exists()
    if is_admin:
        providers = list(
            ClinicMembership.objects.visible_to(user)
            .providers()
            .filter(clinic=clinic)
            .select_related("user")
        )
        chosen = next((p for p in providers if p.pk == provider_id), None)
        provider = chosen or (providers[0] if len(providers) == 1 else None)
    else:
        providers = list(mine.providers())
        provider = providers[0] if providers else None
        for p in providers:
            p.user = user
    return ClinicContext(clinics, clinic, is_admin, providers, provider)


def require_clinic_member(user: User) -> None:
    """The gate of the clinic pages that show no clinic data: 404 for a user of no clinic."""
    if not Clinic.objects.visible_to(user).exists():
        raise Http404("No clinic")
