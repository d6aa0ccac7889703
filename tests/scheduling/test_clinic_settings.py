"""Schedule settings (clinic admins): types, hours, time off, rules and the clinic's zone."""

from __future__ import annotations

import pytest
from django.urls import reverse

from scheduling.models import AppointmentType, BookingRules, TimeOff, WorkingHours
from tests.conftest import sign_in

pytestmark = pytest.mark.django_db
URL = "/clinic/schedule/settings/"


def admin_client(client, sched):
    sign_in(client, sched.family.clinics.cadmin)
    session = client.session
    session["invites_clinic_id"] = sched.family.clinics.a.pk
    session.save()
    return client


def test_an_admin_adds_a_type_hours_time_off_and_rules(client, sched):
    c = sched.family.clinics
    admin_client(client, sched)
    assert client.get(reverse("scheduling_clinic:settings")).status_code == 200
    response = client.post(
        URL,
        {
            "form": "type",
            "type-name": "Intake",
            "type-duration_minutes": 45,
            "type-mode": "video",
            "type-visit_link": "https://video.example.com/x",
            "type-bookable_online": "on",
        },
    )
    assert response.status_code == 302
    assert AppointmentType.objects.filter(clinic=c.a, name="Intake", mode="video").exists()
    client.post(
        URL,
        {
            "form": "hours",
            "hours-provider": c.prov_alice.pk,
            "hours-weekday": 5,
            "hours-start": "10:00",
            "hours-end": "12:00",
        },
    )
    assert WorkingHours.objects.filter(provider=c.prov_alice, weekday=5, start="10:00").exists()
    client.post(
        URL,
        {
            "form": "off",
            "off-provider": c.prov_alice.pk,
            "off-first_day": "2027-07-01",
            "off-last_day": "2027-07-02",
            "off-note": "Conference",
        },
    )
    away = TimeOff.objects.get()
    assert (away.ends_at - away.starts_at).days == 2
    client.post(
        URL,
        {
            "form": "rules",
            "rules-min_notice_hours": 2,
            "rules-horizon_days": 30,
            "rules-cancel_cutoff_hours": 12,
            "rules-time_zone": "America/Chicago",
        },
    )
    c.a.refresh_from_db()
    assert c.a.time_zone == "America/Chicago"
    assert BookingRules.objects.get(clinic=c.a).cancel_cutoff_hours == 12


def test_hostile_settings_input_is_refused_with_reasons(client, sched):
    c = sched.family.clinics
    admin_client(client, sched)
    cases = [
        {
            "form": "type",
            "type-name": "Bad\x07name",
            "type-duration_minutes": 30,
            "type-mode": "in_person",
        },
        {
            "form": "type",
            "type-name": "Video",
            "type-duration_minutes": 30,
            "type-mode": "video",
            "type-visit_link": "http://insecure.example.com",
        },
        {
            "form": "type",
            "type-name": "Long",
            "type-duration_minutes": 9999,
            "type-mode": "in_person",
        },
        {
            "form": "hours",
            "hours-provider": c.prov_carol.pk,
            "hours-weekday": 1,
            "hours-start": "10:00",
            "hours-end": "12:00",
        },  # another clinic's provider
        {
            "form": "hours",
            "hours-provider": c.prov_alice.pk,
            "hours-weekday": 1,
            "hours-start": "12:00",
            "hours-end": "10:00",
        },
        {
            "form": "rules",
            "rules-min_notice_hours": 2,
            "rules-horizon_days": 30,
            "rules-cancel_cutoff_hours": 12,
            "rules-time_zone": "../../etc/passwd",
        },
    ]
    for data in cases:
        assert client.post(URL, data).status_code == 400, data
    assert not AppointmentType.objects.filter(name__in=["Video", "Long"]).exists()
    assert not WorkingHours.objects.filter(weekday=1, start="10:00").exists()


def test_a_provider_cannot_change_settings_and_oscar_sees_no_other_clinic(client, sched):
    c = sched.family.clinics
    sign_in(client, c.prov_alice.user)
    assert client.get(URL).status_code == 403
    sign_in(client, c.oscar)
    session = client.session
    session["invites_clinic_id"] = c.a.pk
    session.save()
    page = client.get(URL)
    assert page.status_code == 200  # his own clinic C
    assert "Follow-up" not in page.content.decode()
