"""Leftovers of the frame: the clinic edits a chart's person fields; guardian invites live on
the chart page, not on Invited Patients; the invite names the time zone of its expiry."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from audit.models import AuditEvent
from invites.models import Invite
from invites.services import invite_message
from patient_portal import services
from patient_portal.models import Chart


def person_url(chart: Chart) -> str:
    return reverse("clinic_portal:edit_person", args=[chart.pk])


def test_clinic_staff_edit_the_chart_s_legal_name_and_date_of_birth(client_for, family):
    client = client_for(family.clinics.prov_alice.user)
    response = client.post(
        person_url(family.tim),
        {
            "person-legal_first_name": " Timothy ",
            "person-legal_last_name": "Doe-Smith",
            "person-date_of_birth": "2017-09-04",
        },
    )
    assert response.status_code == 302
    tim = Chart.objects.get(pk=family.tim.pk)
    assert (tim.legal_first_name, tim.legal_last_name) == ("Timothy", "Doe-Smith")
    assert tim.date_of_birth == dt.date(2017, 9, 4)
    event = AuditEvent.objects.get(chart_id=tim.pk, action="update")
    assert "legal first name" in event.description and "date of birth" in event.description
    assert event.on_behalf_of  # staff acting on someone's chart


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (
            {"person-legal_first_name": "", "person-legal_last_name": "Doe"},
            "Enter the legal first name",
        ),
        ({"person-legal_first_name": "T" * 101, "person-legal_last_name": "Doe"}, "at most 100"),
        (
            {"person-legal_first_name": "Tim", "person-legal_last_name": "Doe\tX"},
            "control characters",
        ),
        (
            {
                "person-legal_first_name": "Tim",
                "person-legal_last_name": "Doe",
                "person-date_of_birth": "2999-01-01",
            },
            "in the future",
        ),
        (
            {
                "person-legal_first_name": "Tim",
                "person-legal_last_name": "Doe",
                "person-date_of_birth": "1850-01-01",
            },
            "after 1900",
        ),
        (
            {
                "person-legal_first_name": "Tim",
                "person-legal_last_name": "Doe",
                "person-date_of_birth": "31/31/2020",
            },
            "YYYY-MM-DD",
        ),
    ],
)
def test_bad_person_fields_are_refused_with_clear_messages(client_for, family, data, message):
    client = client_for(family.clinics.cadmin)
    response = client.post(person_url(family.tim), data)
    assert response.status_code == 400
    assert message in response.content.decode()
    tim = Chart.objects.get(pk=family.tim.pk)
    assert tim.legal_first_name == "Tim" and tim.date_of_birth == dt.date(2017, 9, 3)


@pytest.mark.parametrize("who", ["oscar", "carol_other_clinic", "patient", "proxy"])
def test_only_the_chart_s_clinic_edits_its_person(client_for, family, cast, who):
    users = {
        "oscar": family.clinics.oscar,
        "carol_other_clinic": cast.carol,
        "patient": family.peter,
        "proxy": family.mary,
    }
    client = client_for(users[who])
    response = client.post(
        person_url(family.tim),
        {"person-legal_first_name": "X", "person-legal_last_name": "Y"},
    )
    assert response.status_code == 404
    assert Chart.objects.get(pk=family.tim.pk).legal_first_name == "Tim"


def test_the_chart_page_shows_the_person_form(client_for, family):
    client = client_for(family.clinics.cadmin)
    html = client.get(reverse("clinic_portal:chart", args=[family.tim.pk])).content.decode()
    assert person_url(family.tim) in html and 'value="Tim"' in html


def guardian_invite(family):
    return services.invite_guardian(
        chart=family.tim,
        first_name="John",
        last_name="Doe",
        email="john.doe@example.com",
        mobile="",
        relationship="parent",
        ends_on=None,
        invited_by=family.clinics.cadmin,
    )


def test_guardian_invites_are_not_on_invited_patients_but_on_the_chart(client_for, family):
    proxy = guardian_invite(family)
    client = client_for(family.clinics.cadmin)
    session = client.session
    session["invites_clinic_id"] = family.clinics.a.pk
    session.save()
    for name in ("invites:invite", "invites:patients"):
        html = client.get(reverse(name)).content.decode()
        assert "john.doe@example.com" not in html, name
    chart_url = reverse("clinic_portal:chart", args=[family.tim.pk])
    html = client.get(chart_url).content.decode()
    assert "John Doe" in html and proxy.invite.code in html
    # Resend and Remove work from the chart page and come back to it.
    assert reverse("invites:resend", args=[proxy.invite.pk]) in html
    response = client.post(reverse("invites:remove", args=[proxy.invite.pk]), {"next": chart_url})
    assert response.status_code == 302 and response["Location"] == chart_url
    assert Invite.objects.get(pk=proxy.invite.pk).removed_at is not None


def test_an_expired_guardian_invite_stays_on_the_chart_page_to_resend(client_for, family):
    proxy = guardian_invite(family)
    Invite.objects.filter(pk=proxy.invite.pk).update(
        expires_at=timezone.now() - dt.timedelta(days=1)
    )
    client = client_for(family.clinics.cadmin)
    html = client.get(reverse("clinic_portal:chart", args=[family.tim.pk])).content.decode()
    assert "John Doe" in html and "Expired" in html
    assert reverse("invites:resend", args=[proxy.invite.pk]) in html


def test_the_invite_names_the_time_zone_of_its_expiry(family):
    proxy = guardian_invite(family)
    invite = proxy.invite
    invite.expires_at = dt.datetime(2026, 12, 15, 14, 5, tzinfo=dt.UTC)
    _subject, body = invite_message(invite, "token")
    assert "expires on December 15, 2026 at 2:05 PM UTC" in body
