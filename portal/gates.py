"""Who may open which part of the portal: the named gates, defined here and nowhere else.

Each gate is a predicate on the signed-in user. Three readers use them:

- `RoleGateMiddleware` answers 404 for every URL whose namespace (or name) has a gate the user
  fails, before the view runs: a part of the portal you can't use does not exist for you (no
  redirect, so no redirect loop, e.g. django-otp's `otp_required` bouncing a patient, who has no
  second factor, back to sign-in and from there to the page again);
- the nav (`can.<gate>` in templates, from `portal.context_processors`) shows only those links;
- `landing_url()` sends each user to the first page they can use.

Rows inside a page are still filtered by each model's `visible_to(user)`; the gates only decide
whether the page exists for this kind of user.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib.auth.models import AnonymousUser
from django.urls import reverse


def can_use_dashboard(user: Any) -> bool:
    """Prescribers, their delegates and pharmacists: the prescriptions dashboard and records."""
    return bool(user.is_authenticated and user.works_with_prescriptions)


def can_use_requests(user: Any) -> bool:
    """The chat about prescriptions (Requests): the same people as the dashboard."""
    return can_use_dashboard(user)


def can_administer_delegates(user: Any) -> bool:
    """A prescriber with a directory record invites and removes their own delegates."""
    return bool(user.is_authenticated and user.is_prescriber and user.prescriber_id)


def can_use_clinic(user: Any) -> bool:
    """Clinic admins and providers: members of at least one clinic (invites, joined patients)."""
    from invites.models import Clinic

    # Only clinic admins and prescribers (providers) are ever members: no query for the rest.
    if not user.is_authenticated or not (user.is_clinic_admin or user.is_prescriber):
        return False
    return Clinic.objects.visible_to(user).exists()


def is_care_team(user: Any) -> bool:
    """Anyone who works in the portal, as opposed to a patient: notifications, settings pages."""
    return bool(user.is_authenticated and not user.is_patient)


def can_use_operations(user: Any) -> bool:
    """Pharmacy operations staff: the admin site (/ops/)."""
    return bool(user.is_authenticated and user.is_active and user.is_staff)


def is_patient(user: Any) -> bool:
    """A patient account: their clinics page (also before they have a chart)."""
    return bool(user.is_authenticated and user.is_patient)


def has_patient_portal(user: Any) -> bool:
    """Anyone with a chart to act for (their own, or a live proxy grant): the patient portal.

    Not a role: a clinician who is a patient somewhere, or a staff user who is a parent's
    proxy, reaches it too.
    """
    from patient_portal.models import Chart

    if not user.is_authenticated:
        return False
    return Chart.objects.in_portal_of(user).exists()


def has_profile(user: Any) -> bool:
    """The profile page (password, email, second factor, time zone) is for the care team."""
    return is_care_team(user)


GATES: dict[str, Callable[[Any], bool]] = {
    "dashboard": can_use_dashboard,
    "requests": can_use_requests,
    "administration": can_administer_delegates,
    "clinic": can_use_clinic,
    "notifications": is_care_team,
    "operations": can_use_operations,
    "patient": is_patient,
    "patient_portal": has_patient_portal,
    "profile": has_profile,
}

# URL namespace -> gate. Names listed in OPEN_NAMES or NAME_GATES override their namespace.
NAMESPACE_GATES: dict[str, str] = {
    "prescriptions": "dashboard",
    "requests_chat": "requests",
    "notifications": "notifications",
    "invites": "clinic",
    "clinic_portal": "clinic",
    "patient_portal": "patient_portal",
    "documents": "patient_portal",
    "clinic_documents": "clinic",
    "billing": "patient_portal",
    "clinic_billing": "clinic",
    "instructions": "patient_portal",
    "clinic_instructions": "clinic",
    "scheduling": "patient_portal",
    "scheduling_clinic": "clinic",
    "records": "patient_portal",
    "clinic_records": "clinic",
    "messaging": "patient_portal",
    "clinic_messaging": "clinic",
    "admin": "operations",
}

NAME_GATES: dict[str, str] = {
    # The view itself refuses (403) a colleague who is not a prescriber: the page exists for the
    # care team. A patient never sees it.
    "accounts:administration": "notifications",
    "accounts:invite_delegate": "notifications",
    "accounts:resend_invite": "notifications",
    "accounts:revoke_invite": "notifications",
    "accounts:remove_delegate": "notifications",
    # A patient's own "You have joined <clinic>" page, and their clinics.
    "invites:joined": "patient",
    "my_clinics": "patient",
    "time_zone": "profile",
}

# In a gated namespace, but open to anyone (the views check their own token or session).
OPEN_NAMES: frozenset[str] = frozenset(
    {
        "prescriptions:ingest",  # the pharmacy's bearer-token API, no user
        "invites:join_code",
        "invites:join_account",
        "invites:join_link",
    }
)


def gate_for(view_name: str, namespace: str) -> str | None:
    """The gate a URL needs, or None when it is open to every signed-in user."""
    if view_name in OPEN_NAMES:
        return None
    if view_name in NAME_GATES:
        return NAME_GATES[view_name]
    # "admin" is the first part of every admin namespace ("admin:auth_user_change").
    return NAMESPACE_GATES.get(namespace.split(":", 1)[0])


class Can:
    """`can.dashboard` in templates: each gate worked out at most once per request."""

    def __init__(self, user: Any) -> None:
        self._user = user if user is not None else AnonymousUser()
        self._seen: dict[str, bool] = {}

    def __getitem__(self, name: str) -> bool:
        if name not in self._seen:
            self._seen[name] = GATES[name](self._user)
        return self._seen[name]

    def __getattr__(self, name: str) -> bool:
        if name.startswith("_"):
            raise AttributeError(name)
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None


def staff_landing_url(user: Any) -> str | None:
    """The first staff page this user can use, or None (the patient portal links to it)."""
    if can_use_dashboard(user):
        return reverse("prescriptions:dashboard")
    if can_use_clinic(user):
        return reverse("invites:invite")
    if can_use_operations(user):
        return reverse("admin:index")
    return None


def landing_url(user: Any) -> str:
    """The first page this user can use: their work, then their clinic, then the rest; a
    patient (anyone with a chart and no staff page) lands on the patient portal's Home."""
    if staff := staff_landing_url(user):
        return staff
    if has_patient_portal(user):
        return reverse("patient_portal:home")
    if is_patient(user):
        return reverse("my_clinics")
    return reverse("accounts:profile")
