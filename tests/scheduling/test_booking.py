"""Booking, rescheduling and cancelling: access, rules, the double-booking refusal, staff."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from notifications.models import Notification
from patient_portal.models import PortalSettings
from patient_portal.selectors import SESSION_CHART
from scheduling import services
from scheduling.models import Appointment
from scheduling.selectors import free_slots_for
from tests.conftest import sign_in

pytestmark = pytest.mark.django_db


def choose(client, chart) -> None:
    session = client.session
    session[SESSION_CHART] = chart.pk
    session.save()


def a_slot(sched, provider=None, *, days: int = 3):
    provider = provider or sched.family.clinics.prov_alice
    slots = free_slots_for(provider, sched.video)
    return next(s for s in slots if s > timezone.now() + dt.timedelta(days=days))


def test_a_patient_books_a_free_slot_and_the_clinic_is_told(client, sched):
    f = sched.family
    client.force_login(f.mary)
    choose(client, f.mary_a)
    at = a_slot(sched)
    response = client.post(
        reverse("scheduling:book"),
        {"type": sched.video.pk, "provider": f.clinics.prov_alice.pk, "at": at.isoformat()},
    )
    assert response.status_code == 302
    appointment = Appointment.objects.get()
    assert (appointment.chart, appointment.starts_at) == (f.mary_a, at)
    assert appointment.ends_at - at == dt.timedelta(minutes=30)
    told = set(
        Notification.objects.filter(activity="appointment_booked").values_list(
            "recipient", flat=True
        )
    )
    assert told == {f.clinics.prov_alice.user_id, f.clinics.cadmin.pk}
    page = client.get(reverse("scheduling:schedule")).content.decode()
    assert "Follow-up" in page and "Add to calendar" in page
    home = client.get(reverse("patient_portal:home")).content.decode()
    assert "Next appointment" in home and "Follow-up" in home


def test_the_loser_of_a_slot_is_told_and_sees_fresh_times(client, sched):
    f = sched.family
    at = a_slot(sched)
    services.book(
        chart=f.peter_a,
        provider=f.clinics.prov_alice,
        appointment_type=sched.video,
        starts_at=at,
        by=f.peter,
        as_patient=True,
    )
    client.force_login(f.mary)
    choose(client, f.mary_a)
    response = client.post(
        reverse("scheduling:book"),
        {"type": sched.video.pk, "provider": f.clinics.prov_alice.pk, "at": at.isoformat()},
    )
    assert response.status_code == 409
    html = response.content.decode()
    assert "That time was just taken — please choose another." in html
    assert "sched-slots" in html  # fresh times shown
    assert Appointment.objects.count() == 1


def test_a_proxy_books_for_the_child(client, sched):
    f = sched.family
    client.force_login(f.mary)
    choose(client, f.tim)
    at = a_slot(sched)
    client.post(
        reverse("scheduling:book"),
        {"type": sched.video.pk, "provider": f.clinics.prov_alice.pk, "at": at.isoformat()},
    )
    assert Appointment.objects.get().chart == f.tim


def test_a_patient_cannot_book_a_clinic_only_type_or_another_clinics_provider(client, sched):
    f = sched.family
    client.force_login(f.mary)
    choose(client, f.mary_a)
    at = a_slot(sched)
    for data in (
        {"type": sched.procedure.pk, "provider": f.clinics.prov_alice.pk},
        {"type": sched.video.pk, "provider": f.clinics.prov_carol.pk},
        {"type": sched.b_visit.pk, "provider": f.clinics.prov_alice.pk},
    ):
        response = client.post(reverse("scheduling:book"), {**data, "at": at.isoformat()})
        assert response.status_code == 400
    assert not Appointment.objects.exists()


def test_a_patient_cannot_book_outside_hours_or_with_garbage(client, sched):
    f = sched.family
    client.force_login(f.mary)
    choose(client, f.mary_a)
    base = {"type": sched.video.pk, "provider": f.clinics.prov_alice.pk}
    night = (timezone.now() + dt.timedelta(days=3)).replace(
        hour=6, minute=0, second=0, microsecond=0
    )
    for at in (night.isoformat(), "2027-13-45T99:00", "x" * 500, "2027-06-01T10:00\x00"):
        response = client.post(reverse("scheduling:book"), {**base, "at": at})
        assert response.status_code == 400
    assert not Appointment.objects.exists()


def test_booking_404s_when_online_booking_is_off_but_the_schedule_stays(client, sched):
    f = sched.family
    PortalSettings.objects.create(clinic=f.clinics.a, online_booking=False)
    client.force_login(f.mary)
    choose(client, f.mary_a)
    assert client.get(reverse("scheduling:book")).status_code == 404
    page = client.get(reverse("scheduling:schedule"))
    assert page.status_code == 200
    assert "call Riverside Family Clinic" in page.content.decode()


def test_an_outsider_and_a_revoked_proxy_get_404(client, sched):
    f = sched.family
    appointment = services.book(
        chart=f.tim,
        provider=f.clinics.prov_alice,
        appointment_type=sched.video,
        starts_at=a_slot(sched),
        by=f.mary,
        as_patient=True,
    )
    client.force_login(f.peter)
    for name in ("scheduling:cancel", "scheduling:reschedule", "scheduling:ics"):
        assert client.get(reverse(name, args=[appointment.pk])).status_code == 404
    f.tim_grant.revoke(by=f.clinics.cadmin)
    client.force_login(f.mary)
    choose(client, f.tim)
    assert client.get(reverse("scheduling:ics", args=[appointment.pk])).status_code == 404


def test_cancel_within_the_rules_and_refused_inside_the_cut_off(client, sched):
    f = sched.family
    soon = a_slot(sched, days=0)
    assert soon - timezone.now() < dt.timedelta(hours=48)
    late = services.book(
        chart=f.mary_a,
        provider=f.clinics.prov_alice,
        appointment_type=sched.video,
        starts_at=timezone.now().replace(second=0, microsecond=0) + dt.timedelta(hours=2),
        by=f.clinics.cadmin,
        as_patient=False,
    )
    fine = services.book(
        chart=f.mary_a,
        provider=f.clinics.prov_alice,
        appointment_type=sched.video,
        starts_at=a_slot(sched, days=5),
        by=f.mary,
        as_patient=True,
    )
    client.force_login(f.mary)
    choose(client, f.mary_a)
    refused = client.post(reverse("scheduling:cancel", args=[late.pk]))
    assert refused.status_code == 400
    assert "up to 24 hours before" in refused.content.decode()
    assert client.post(reverse("scheduling:cancel", args=[fine.pk])).status_code == 302
    fine.refresh_from_db()
    late.refresh_from_db()
    assert (fine.status, late.status) == ("cancelled", "booked")
    assert Notification.objects.filter(activity="appointment_cancelled").exists()


def test_reschedule_moves_and_frees_the_old_time(client, sched):
    f = sched.family
    first = a_slot(sched, days=5)
    appointment = services.book(
        chart=f.mary_a,
        provider=f.clinics.prov_alice,
        appointment_type=sched.video,
        starts_at=first,
        by=f.mary,
        as_patient=True,
    )
    client.force_login(f.mary)
    choose(client, f.mary_a)
    later = first + dt.timedelta(hours=1)
    response = client.post(
        reverse("scheduling:reschedule", args=[appointment.pk]), {"at": later.isoformat()}
    )
    assert response.status_code == 302
    appointment.refresh_from_db()
    assert appointment.starts_at == later
    assert first in free_slots_for(f.clinics.prov_alice, sched.video)


def test_the_ics_is_phi_minimal(client, sched):
    f = sched.family
    appointment = services.book(
        chart=f.mary_a,
        provider=f.clinics.prov_alice,
        appointment_type=sched.video,
        starts_at=a_slot(sched),
        by=f.mary,
        as_patient=True,
    )
    client.force_login(f.mary)
    choose(client, f.mary_a)
    response = client.get(reverse("scheduling:ics", args=[appointment.pk]))
    body = response.content.decode()
    assert response["Content-Type"].startswith("text/calendar")
    assert "Appointment" in body and "Riverside Family Clinic" in body
    assert "Follow-up" not in body and "Mary" not in body and "Alice" not in body


def test_staff_book_move_and_mark_only_in_their_clinics(client, sched):
    f = sched.family
    sign_in(client, f.clinics.cadmin)
    session = client.session
    session["invites_clinic_id"] = f.clinics.a.pk
    session.save()
    day = (timezone.now() + dt.timedelta(days=10)).date()
    response = client.post(
        reverse("scheduling_clinic:book") + f"?provider={f.clinics.prov_alice.pk}",
        {
            "chart": f.peter_a.pk,
            "type": sched.procedure.pk,
            "day": day.isoformat(),
            "time": "07:00",
        },
    )
    assert response.status_code == 302
    appointment = Appointment.objects.get()
    assert appointment.type == sched.procedure  # staff may book clinic-only types, any hour
    clash = client.post(
        reverse("scheduling_clinic:book") + f"?provider={f.clinics.prov_alice.pk}",
        {"chart": f.mary_a.pk, "type": sched.video.pk, "day": day.isoformat(), "time": "07:30"},
    )
    assert clash.status_code == 409
    assert "just taken" in clash.content.decode()
    moved = client.post(
        reverse("scheduling_clinic:change", args=[appointment.pk]),
        {"action": "move", "day": day.isoformat(), "time": "10:00"},
        HTTP_HX_REQUEST="true",
    )
    assert moved.status_code == 200 and "Appointment moved." in moved.content.decode()
    client.post(reverse("scheduling_clinic:change", args=[appointment.pk]), {"action": "no_show"})
    appointment.refresh_from_db()
    assert appointment.status == "no_show"
    panel = client.get(
        reverse("scheduling_clinic:change", args=[appointment.pk]), HTTP_HX_REQUEST="true"
    )
    assert panel.status_code == 200 and "Peter Pan" in panel.content.decode()
    # oscar (clinic C) reaches none of it.
    sign_in(client, f.clinics.oscar)
    assert client.get(reverse("scheduling_clinic:change", args=[appointment.pk])).status_code == 404
    assert (
        client.post(
            reverse("scheduling_clinic:change", args=[appointment.pk]), {"action": "cancel"}
        ).status_code
        == 404
    )
    assert "Peter" not in client.get(reverse("scheduling_clinic:calendar")).content.decode()


def test_the_calendar_query_count_does_not_grow_with_appointments(
    client, sched, django_assert_max_num_queries
):
    f = sched.family
    sign_in(client, f.clinics.prov_alice.user)
    url = reverse("scheduling_clinic:calendar")
    client.get(url)
    with django_assert_max_num_queries(40) as few:
        client.get(url)
    base = len(few.captured_queries)
    monday = timezone.localdate() - dt.timedelta(days=timezone.localdate().weekday())
    for i in range(20):
        services.book(
            chart=f.peter_a,
            provider=f.clinics.prov_alice,
            appointment_type=sched.video,
            starts_at=dt.datetime.combine(
                monday + dt.timedelta(days=i % 7), dt.time(14 + i // 7), tzinfo=dt.UTC
            ),
            by=f.clinics.cadmin,
            as_patient=False,
        )
    with django_assert_max_num_queries(base):
        assert "Peter Pan" in client.get(url).content.decode()
