"""The Clinic area's Charts, proxy grants (link, invite, revoke), portal settings and the
provider's Portal Dashboard message."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from accounts.models import User
from audit.models import AuditEvent
from invites import services as invite_services
from patient_portal.models import DashboardMessage, PortalSettings, ProxyGrant, ProxyInvite
from tests.conftest import make_user


def chart_urls(chart) -> list[str]:
    return [reverse("clinic_portal:chart", args=[chart.pk])]


def test_the_charts_list_shows_only_the_chosen_clinic_s_charts(client_for, family):
    client = client_for(family.clinics.cadmin)
    session = client.session
    session["invites_clinic_id"] = family.clinics.a.pk
    session.save()
    html = client.get(reverse("clinic_portal:charts")).content.decode()
    assert "Tim Doe" in html and "Peter Pan" in html
    assert "Mary Doe" in html
    # Mary's Lakeside chart (provider Carol) is on clinic B's list, not A's.
    assert "Carol Clark" not in html


def test_the_charts_search_refuses_nothing_and_finds_by_name(client_for, family):
    client = client_for(family.clinics.cadmin)
    html = client.get(reverse("clinic_portal:charts"), {"q": "tim" + "x" * 500}).content.decode()
    assert "No charts match" in html


@pytest.mark.parametrize("who", ["oscar", "carol_other_clinic", "patient", "mallory"])
def test_staff_of_another_clinic_and_patients_never_see_a_chart(
    client_for, client, family, cast, who
):
    if who == "oscar":
        c = client_for(family.clinics.oscar)
    elif who == "carol_other_clinic":
        c = client_for(cast.carol)  # provider at B: Tim's chart is at A
    elif who == "patient":
        client.force_login(family.peter)
        c = client
    else:
        c = client_for(cast.mallory)
    assert c.get(reverse("clinic_portal:chart", args=[family.tim.pk])).status_code == 404
    assert (
        c.post(
            reverse("clinic_portal:link_account", args=[family.tim.pk]),
            {"link-email": family.grace.email, "link-relationship": "parent"},
        ).status_code
        == 404
    )
    assert c.post(reverse("clinic_portal:revoke", args=[family.tim_grant.pk])).status_code == 404
    assert ProxyGrant.objects.get(pk=family.tim_grant.pk).revoked_at is None


def test_a_clinic_admin_links_an_existing_account(client_for, family):
    client = client_for(family.clinics.cadmin)
    url = reverse("clinic_portal:link_account", args=[family.peter_a.pk])
    response = client.post(
        url,
        {"link-email": family.mary.email.upper(), "link-relationship": "carer", "link-ends_on": ""},
    )
    assert response.status_code == 302
    grant = ProxyGrant.objects.get(chart=family.peter_a, grantee=family.mary)
    assert grant.relationship == "carer" and grant.granted_by == family.clinics.cadmin
    event = AuditEvent.objects.filter(chart_id=family.peter_a.pk, action="create").get()
    assert event.on_behalf_of == "Peter Pan"
    # Twice: refused with a reason.
    again = client.post(url, {"link-email": family.mary.email, "link-relationship": "carer"})
    assert again.status_code == 400
    assert "already has proxy access" in again.content.decode()


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"link-email": "nobody@example.com", "link-relationship": "parent"}, "No active account"),
        ({"link-email": "x" * 300 + "@example.com", "link-relationship": "parent"}, "at most 254"),
        ({"link-email": "not-an-email", "link-relationship": "parent"}, "valid email"),
        ({"link-email": "", "link-relationship": "parent"}, "Enter the email"),
        ({"link-email": "a@example.com", "link-relationship": "boss"}, "valid choice"),
        (
            {
                "link-email": "a@example.com",
                "link-relationship": "parent",
                "link-ends_on": "2001-01-01",
            },
            "in the past",
        ),
        (
            {"link-email": "a@example.com", "link-relationship": "parent", "link-ends_on": "soon"},
            "YYYY-MM-DD",
        ),
    ],
)
def test_bad_link_input_is_refused_with_a_clear_message(client_for, family, data, message):
    client = client_for(family.clinics.cadmin)
    response = client.post(reverse("clinic_portal:link_account", args=[family.peter_a.pk]), data)
    assert response.status_code == 400
    assert message in response.content.decode()


def test_control_characters_are_refused(client_for, family):
    client = client_for(family.clinics.cadmin)
    response = client.post(
        reverse("clinic_portal:invite_guardian", args=[family.tim.pk]),
        {
            "guardian-first_name": "Ja\x00ne",
            "guardian-last_name": "Doe",
            "guardian-email": "jane@example.com",
            "guardian-relationship": "parent",
        },
    )
    assert response.status_code == 400
    assert "guardian-first_name" in response.content.decode()


def test_revoking_takes_effect_at_once(client_for, client, family):
    staff = client_for(family.clinics.cadmin)
    response = staff.post(reverse("clinic_portal:revoke", args=[family.tim_grant.pk]))
    assert response.status_code == 302
    assert ProxyGrant.objects.get(pk=family.tim_grant.pk).revoked_at is not None
    client.force_login(family.mary)
    assert (
        client.post(reverse("patient_portal:switch"), {"chart": family.tim.pk}).status_code == 404
    )


def test_a_guardian_invite_uses_the_invite_code_and_grants_on_acceptance(
    client_for, family, django_capture_on_commit_callbacks
):
    client = client_for(family.clinics.cadmin)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("clinic_portal:invite_guardian", args=[family.tim.pk]),
            {
                "guardian-first_name": "John",
                "guardian-last_name": "Doe",
                "guardian-email": "john.doe@example.com",
                "guardian-mobile": "",
                "guardian-relationship": "parent",
                "guardian-ends_on": (timezone.localdate() + dt.timedelta(days=3650)).isoformat(),
            },
        )
    assert response.status_code == 302
    proxy = ProxyInvite.objects.get(chart=family.tim)
    assert len(mail.outbox) == 1 and proxy.invite.code in mail.outbox[0].body
    # The guardian accepts with a new account: a grant, and no place at the clinic as a patient.
    user = invite_services.join_with_new_account(
        invite=proxy.invite, email="john.doe@example.com", password="Correct-Horse-42!"
    )
    assert user is not None
    grant = ProxyGrant.objects.get(chart=family.tim, grantee=user)
    assert grant.relationship == "parent" and grant.is_live
    assert not user.clinic_links.exists()
    assert not user.own_charts.exists()


def test_a_guardian_invite_needs_an_address(client_for, family):
    client = client_for(family.clinics.cadmin)
    response = client.post(
        reverse("clinic_portal:invite_guardian", args=[family.tim.pk]),
        {
            "guardian-first_name": "John",
            "guardian-last_name": "Doe",
            "guardian-relationship": "parent",
        },
    )
    assert response.status_code == 400
    assert "Enter an email or a mobile number" in response.content.decode()


# Portal settings ---------------------------------------------------------------------------


def test_a_clinic_admin_turns_sections_off(client_for, family):
    client = client_for(family.clinics.cadmin)
    session = client.session
    session["invites_clinic_id"] = family.clinics.a.pk
    session.save()
    page = client.get(reverse("clinic_portal:settings"))
    assert page.status_code == 200
    response = client.post(
        reverse("clinic_portal:settings"),
        {"messages": "on", "documents": "on", "health_records": "on", "instructions": "on"},
    )
    assert response.status_code == 302
    settings = PortalSettings.objects.get(clinic=family.clinics.a)
    assert settings.messages and not settings.billing and not settings.online_booking
    assert PortalSettings.for_clinic(family.clinics.b).billing  # the other clinic is untouched


def test_a_provider_may_not_change_portal_settings(client_for, family, cast):
    assert client_for(cast.alice).get(reverse("clinic_portal:settings")).status_code == 403


# Dashboard message ---------------------------------------------------------------------------


def test_a_provider_edits_their_dashboard_message_and_patients_see_it(
    client_for, client, family, cast
):
    staff = client_for(cast.alice)
    response = staff.post(
        reverse("clinic_portal:dashboard_message"), {"text": "Clinic closed on Friday.\nCall us."}
    )
    assert response.status_code == 302
    assert DashboardMessage.objects.get(provider=family.clinics.prov_alice).text.startswith(
        "Clinic"
    )
    client.force_login(family.peter)
    html = client.get(reverse("patient_portal:home")).content.decode()
    assert "Clinic closed on Friday." in html


def test_a_too_long_dashboard_message_is_refused(client_for, cast, family):
    response = client_for(cast.alice).post(
        reverse("clinic_portal:dashboard_message"), {"text": "x" * 2001}
    )
    assert response.status_code == 400
    assert "at most 2,000 characters" in response.content.decode()


def test_a_clinic_admin_has_no_dashboard_message(client_for, family):
    assert (
        client_for(family.clinics.cadmin)
        .get(reverse("clinic_portal:dashboard_message"))
        .status_code
        == 403
    )


def test_staff_with_a_new_clinic_only_see_their_own(client_for, family):
    newcomer = make_user("nina.new@example.com", User.Role.CLINIC_ADMIN)
    assert client_for(newcomer).get(reverse("clinic_portal:charts")).status_code == 404
