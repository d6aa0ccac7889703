"""Each role lands on the first page it can use, sees only the links it can open, and a patient
finds no staff page at all (404, never a page and never a redirect loop)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import pytest
from django.contrib.contenttypes.models import ContentType
from django.test import Client
from django.test.client import RedirectCycleError
from django.urls import NoReverseMatch, URLPattern, URLResolver, get_resolver, reverse

from accounts.models import DelegateInvite, User
from invites.models import Clinic, ClinicMembership, ClinicPatient, Invite
from notifications.models import Notification
from prescriptions.models import SavedFilter
from requests_chat.models import Request
from tests.conftest import PASSWORD, make_user, sign_in


@dataclass
class World:
    cast: Any
    clinic: Clinic
    cadmin: User
    provider: User
    patient: User
    link: ClinicPatient
    invite: Invite
    chat: Request
    notification: Notification
    saved: SavedFilter
    delegate_invite: DelegateInvite


@pytest.fixture
def world(cast) -> World:
    """The cast plus a clinic (admin, provider), a patient who joined it and one of everything."""
    clinic = Clinic.objects.create(name="Riverside Family Clinic")
    cadmin = make_user("carla.mendes@example.com", User.Role.CLINIC_ADMIN)
    ClinicMembership.objects.create(user=cadmin, clinic=clinic, role="admin")
    membership = ClinicMembership.objects.create(
        user=cast.alice, clinic=clinic, role="provider", prescriber=cast.npi_alice
    )
    patient = make_user("pat.patient@example.com", User.Role.PATIENT)
    invite = Invite.objects.create(
        clinic=clinic, provider=membership, first_name="Pat", last_name="Patient", code="123456"
    )
    link = ClinicPatient.objects.create(clinic=clinic, provider=membership, user=patient)
    chat = Request.objects.create(prescription=cast.rx_alice, created_by=cast.alice)
    notification = Notification.objects.create(
        recipient=cast.alice, activity="message", prescription=cast.rx_alice
    )
    saved = SavedFilter.objects.create(user=cast.alice, name="Mine", query="status=x")
    delegate_invite = DelegateInvite.objects.create(
        email="dee@example.com", prescriber=cast.npi_alice, invited_by=cast.alice
    )
    return World(
        cast=cast,
        clinic=clinic,
        cadmin=cadmin,
        provider=cast.alice,
        patient=patient,
        link=link,
        invite=invite,
        chat=chat,
        notification=notification,
        saved=saved,
        delegate_invite=delegate_invite,
    )


# Every named URL ---------------------------------------------------------------------------


def named_patterns(resolver: URLResolver | None = None, prefix: str = "") -> list[tuple[str, list]]:
    """(namespaced name, parameter names) of every named URL pattern of the project."""
    resolver = resolver or get_resolver()
    found = []
    for entry in resolver.url_patterns:
        if isinstance(entry, URLResolver):
            ns = f"{prefix}{entry.namespace}:" if entry.namespace else prefix
            found += named_patterns(entry, ns)
        elif isinstance(entry, URLPattern) and entry.name:
            pattern = entry.pattern
            params = list(getattr(pattern, "converters", {}) or pattern.regex.groupindex)
            found.append((prefix + entry.name, params))
    return found


def object_ids(w: World) -> dict[str, Any]:
    """Per URL name, an existing object of the cast for its `pk` (so a 404 is the gate's)."""
    return {
        "prescriptions:patient": w.cast.pat_alice.pk,
        "prescriptions:prescription": w.cast.rx_alice.pk,
        "prescriptions:delete_filter": w.saved.pk,
        "notifications:open": w.notification.pk,
        "invites:resend": w.invite.pk,
        "invites:remove": w.invite.pk,
        "invites:joined": w.clinic.pk,
        "accounts:resend_invite": w.delegate_invite.pk,
        "accounts:revoke_invite": w.delegate_invite.pk,
        "accounts:remove_delegate": w.cast.bob.delegations.get().pk,
    }


def url_of(name: str, params: list[str], w: World) -> str:
    by_param = {
        "pk": object_ids(w).get(name, w.chat.pk),
        "prescription_pk": w.cast.rx_alice.pk,
        "object_id": str(w.cast.alice.pk),
        "id": w.cast.alice.pk,
        "content_type_id": ContentType.objects.get_for_model(User).pk,
        "token": "not-a-real-token",
        "uidb64": "MQ",
        "url": "",
        # records: an insurance card, an export (a patient's own URLs; unknown ids 404).
        "rank": "primary",
        "side": "card_front",
        "public_id": "00000000-0000-4000-8000-000000000000",
        "fmt": "pdf",
    }
    kwargs = {p: by_param[p] for p in params if p != "app_label"}
    if "app_label" in params:
        # The admin's app index only reverses for apps that have models in it.
        for label in ("accounts", "prescriptions", "audit", "auth"):
            try:
                return reverse(name, kwargs={**kwargs, "app_label": label})
            except NoReverseMatch:
                continue
    return reverse(name, kwargs=kwargs)


# Pages a patient may open (their own, sign-in and account pages, joining a clinic).
# The patient portal's sections (each app's patient-side namespace).
PATIENT_PAGES = {
    "home",
    "my_clinics",
    "invites:join_code",
    "invites:join_account",
    "invites:join_link",
    "invites:joined",
    "prescriptions:ingest",  # the pharmacy's API: a bearer token, not a session (401/405)
    "healthz",  # the proxy's and orchestrator's probes: no data, open to anyone
    "readyz",
}


PATIENT_NAMESPACES = (
    "patient_portal:",
    "messaging:",
    "instructions:",
    "documents:",
    "scheduling:",
    "billing:",
    "billing_webhooks:",
)


def patient_may_open(name: str) -> bool:
    # The patient portal and the sections apps plug into it, and the payment provider's
    # webhook (no session: it answers by signature, 405 to a GET).
    if name in PATIENT_PAGES or name.startswith(PATIENT_NAMESPACES):
        return True
    # The records app's patient side (Demographic Info, export); its clinic side is
    # clinic_records: (staff only).
    if name.startswith("records:"):
        return True
    # Sign-in, sign-out, MFA, registration, invitation links, profile, password reset.
    administration = {"administration", "invite_delegate", "resend_invite", "revoke_invite"}
    return name.startswith("accounts:") and name.split(":")[1] not in {
        *administration,
        "remove_delegate",
    }


def test_the_walk_covers_every_kind_of_page(world):
    names = {name for name, _ in named_patterns()}
    for expected in (
        "prescriptions:dashboard",
        "requests_chat:create",
        "notifications:list",
        "notifications:preferences",
        "invites:invite",
        "admin:index",
        "admin:accounts_user_change",
    ):
        assert expected in names


def test_no_staff_page_exists_for_a_patient_and_nothing_loops(client, world):
    client.force_login(world.patient)  # patients have no second factor
    answered = {}
    for name, params in named_patterns():
        url = url_of(name, params, world)
        try:
            final = client.get(url, follow=True)
        except RedirectCycleError as loop:
            pytest.fail(f"{name} ({url}) redirects in a loop for a patient: {loop}")
        first = client.get(url)
        answered[name] = first.status_code
        assert final.status_code < 500, f"{name} ({url}) fails for a patient"
        if patient_may_open(name):
            continue
        assert first.status_code == 404, (
            f"{name} ({url}) is a staff page; a patient got {first.status_code}"
        )
    # The pages the issue names, explicitly.
    for name in ("prescriptions:dashboard", "requests_chat:create", "notifications:list"):
        assert answered[name] == 404
    assert answered["notifications:preferences"] == 404


def test_a_patient_signs_in_and_lands_on_the_patient_portal_home(world):
    browser = Client()
    response = browser.post(
        reverse("accounts:login"),
        {"username": world.patient.email, "password": PASSWORD},
        follow=True,
    )
    assert response.redirect_chain[-1][0] == reverse("patient_portal:home")
    page = response.content.decode()
    assert "Me — Alice Adams, Riverside Family Clinic" in page
    assert "Clinician Information" in page
    # The patient layout: its own section nav, no staff links.
    assert 'aria-label="Patient portal"' in page
    assert '<nav class="mainnav"' not in page
    # The welcome page after joining still exists, and leads to the portal.
    joined = browser.get(reverse("invites:joined", args=[world.clinic.pk])).content.decode()
    assert "You have joined Riverside Family Clinic" in joined
    assert reverse("patient_portal:home") in joined


def test_a_patient_of_two_clinics_lands_on_home_and_can_switch(client, world):
    other = Clinic.objects.create(name="Lakeside Dermatology")
    membership = ClinicMembership.objects.create(
        user=world.cast.carol, clinic=other, role="provider"
    )
    ClinicPatient.objects.create(clinic=other, provider=membership, user=world.patient)
    client.force_login(world.patient)
    response = client.get(reverse("home"), follow=True)
    assert response.redirect_chain[-1][0] == reverse("patient_portal:home")
    page = response.content.decode()
    assert "Lakeside Dermatology" in page and "Riverside Family Clinic" in page
    # Their clinics list is still there.
    clinics = client.get(reverse("my_clinics"), follow=True).content.decode()
    assert "Lakeside Dermatology" in clinics and "Riverside Family Clinic" in clinics


def test_my_clinics_is_a_404_for_the_care_team(client_for, world):
    assert client_for(world.cast.alice).get(reverse("my_clinics")).status_code == 404


# Landing and nav, per role ------------------------------------------------------------------


def nav_links(response) -> list[str]:
    html = response.content.decode()
    nav = re.search(r'<nav class="mainnav".*?</nav>', html, re.S)
    assert nav, "no main nav"
    return [
        re.sub(r"<[^>]+>", "", text).strip()
        for text in re.findall(r"<a [^>]*>(.*?)</a>", nav.group(0), re.S)
    ]


ROLES = {
    # role: (user in the world, landing URL name, nav links)
    "prescriber": (
        lambda w: w.cast.carol,
        "prescriptions:dashboard",
        ["Dashboard", "Requests", "Administration", "Profile"],
    ),
    "provider": (
        lambda w: w.provider,
        "prescriptions:dashboard",
        ["Dashboard", "Requests", "Administration", "Clinic", "Profile"],
    ),
    "delegate": (
        lambda w: w.cast.bob,
        "prescriptions:dashboard",
        ["Dashboard", "Requests", "Profile"],
    ),
    "pharmacist": (
        lambda w: w.cast.phil,
        "prescriptions:dashboard",
        ["Dashboard", "Requests", "Profile"],
    ),
    "clinic admin": (lambda w: w.cadmin, "invites:invite", ["Clinic", "Profile"]),
    "ops": (lambda w: w.cast.olivia, "admin:index", ["Profile", "Operations"]),
}


@pytest.mark.parametrize("role", list(ROLES))
def test_each_role_lands_on_its_first_page_and_sees_only_its_links(client, world, role):
    who, landing, links = ROLES[role]
    user = who(world)
    sign_in(client, user)
    response = client.get(reverse("home"))
    assert response.status_code == 302
    assert response.url == reverse(landing)
    # Ops land in the admin, which has its own header: read the nav on the profile page.
    page = client.get(reverse("accounts:profile") if role == "ops" else response.url)
    assert page.status_code == 200
    assert nav_links(page) == links
    # Every link in the nav opens.
    for href in re.findall(r'<nav class="mainnav".*?</nav>', page.content.decode(), re.S)[0].split(
        'href="'
    )[1:]:
        url = href.split('"', 1)[0]
        assert client.get(url).status_code == 200, f"{role}: {url}"


def test_a_clinic_admin_gets_no_dashboard_and_no_requests(client_for, world):
    client = client_for(world.cadmin)
    for name in ("prescriptions:dashboard", "requests_chat:list", "requests_chat:create"):
        assert client.get(reverse(name)).status_code == 404


def test_the_care_team_keeps_notifications(client_for, world):
    client = client_for(world.cast.alice)
    assert client.get(reverse("notifications:list")).status_code == 200
    assert client.get(reverse("notifications:preferences")).status_code == 200


def test_a_colleague_who_is_not_a_prescriber_still_gets_403_on_administration(client_for, world):
    response = client_for(world.cast.bob).get(reverse("accounts:administration"))
    assert response.status_code == 403
    # The portal's layout: one main landmark, a heading, the nav.
    page = response.content.decode()
    assert page.count("<main") == 1 and "<h1" in page and 'aria-label="Main"' in page


def test_the_home_page_asks_anonymous_visitors_to_sign_in(client):
    response = client.get(reverse("home"))
    assert response.status_code == 302
    assert response.url.startswith(reverse("accounts:login"))
