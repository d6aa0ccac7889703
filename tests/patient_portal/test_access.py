"""Who reaches which chart: own charts, live proxy grants, clinic staff; nobody else."""

from __future__ import annotations

import datetime as dt

from django.urls import reverse
from django.utils import timezone

from patient_portal.models import Chart, PortalSettings
from patient_portal.selectors import SESSION_CHART


def ids(qs) -> set[int]:
    return set(qs.values_list("pk", flat=True))


def test_it_shows_a_patient_their_own_charts_and_their_proxies(family):
    assert ids(Chart.objects.visible_to(family.mary)) == {
        family.mary_a.pk,
        family.mary_b.pk,
        family.tim.pk,
    }
    assert ids(Chart.objects.visible_to(family.peter)) == {family.peter_a.pk}


def test_a_revoked_grant_gives_nothing_at_once(family):
    family.tim_grant.revoke(by=family.clinics.cadmin)
    assert family.tim.pk not in ids(Chart.objects.visible_to(family.mary))
    assert family.tim.pk not in ids(Chart.objects.in_portal_of(family.mary))


def test_a_grant_lasts_through_its_end_date_then_stops(family):
    assert family.peter_a.pk in ids(Chart.objects.visible_to(family.grace))
    family.grace_grant.ends_on = timezone.localdate()
    family.grace_grant.save()
    assert family.peter_a.pk in ids(Chart.objects.visible_to(family.grace))
    family.grace_grant.ends_on = timezone.localdate() - dt.timedelta(days=1)
    family.grace_grant.save()
    assert ids(Chart.objects.visible_to(family.grace)) == set()


def test_staff_see_only_their_clinics_charts(family, cast):
    c = family.clinics
    assert ids(Chart.objects.visible_to(cast.alice)) == {
        family.mary_a.pk,
        family.tim.pk,
        family.peter_a.pk,
    }
    assert ids(Chart.objects.visible_to(cast.carol)) == {family.mary_b.pk}
    assert ids(Chart.objects.visible_to(c.oscar)) == set()
    assert ids(Chart.objects.editable_by(c.oscar)) == set()
    assert ids(Chart.objects.visible_to(cast.mallory)) == set()
    # Staff reach no chart on the patient side.
    assert ids(Chart.objects.in_portal_of(cast.alice)) == set()


def test_an_inactive_account_reaches_nothing(family):
    family.mary.is_active = False
    family.mary.save()
    assert ids(Chart.objects.visible_to(family.mary)) == set()


def test_joining_a_clinic_made_the_chart(family):
    chart = family.mary_a
    assert chart.patient_user == family.mary
    assert chart.provider == family.clinics.prov_alice
    assert chart.legal_first_name == family.mary.first_name


# Pages -----------------------------------------------------------------------------------


def test_a_patient_lands_on_home(client, family):
    client.force_login(family.peter)
    response = client.get(reverse("home"))
    assert response.status_code == 302
    assert response.url == reverse("patient_portal:home")
    page = client.get(response.url)
    assert page.status_code == 200
    html = page.content.decode()
    assert "Clinician Information" in html
    assert family.clinics.prov_alice.display_name in html


def test_the_switch_lists_each_person_and_clinician(client, family):
    client.force_login(family.mary)
    html = client.get(reverse("patient_portal:home")).content.decode()
    assert "Me — Alice Adams, Riverside Family Clinic" in html
    assert "Me — Carol Clark, Lakeside Dermatology" in html
    assert "Tim Doe (child) — Alice Adams, Riverside Family Clinic" in html


def test_switching_to_the_child_shows_the_child(client, family):
    client.force_login(family.mary)
    response = client.post(reverse("patient_portal:switch"), {"chart": family.tim.pk})
    assert response.status_code == 302
    html = client.get(reverse("patient_portal:home")).content.decode()
    assert "You are acting for <strong>Tim Doe</strong>" in html


def test_switching_to_a_foreign_chart_is_a_404(client, family):
    client.force_login(family.mary)
    for chart in (family.peter_a, Chart(pk=999_999)):
        response = client.post(reverse("patient_portal:switch"), {"chart": chart.pk})
        assert response.status_code == 404
    for junk in ("", "x", "-1", "9" * 40, "1e3"):
        assert client.post(reverse("patient_portal:switch"), {"chart": junk}).status_code == 404


def test_a_tampered_session_chart_is_ignored(client, family):
    client.force_login(family.mary)
    session = client.session
    session[SESSION_CHART] = family.peter_a.pk
    session.save()
    html = client.get(reverse("patient_portal:home")).content.decode()
    assert "Peter" not in html
    assert client.session[SESSION_CHART] in {family.mary_a.pk, family.mary_b.pk}


def test_a_revoked_proxy_falls_back_to_own_chart(client, family):
    client.force_login(family.mary)
    client.post(reverse("patient_portal:switch"), {"chart": family.tim.pk})
    family.tim_grant.revoke(by=family.clinics.cadmin)
    html = client.get(reverse("patient_portal:home")).content.decode()
    assert "Tim Doe" not in html


def test_a_proxy_only_account_loses_the_portal_when_revoked(client, family):
    client.force_login(family.grace)
    assert client.get(reverse("patient_portal:home")).status_code == 200
    family.grace_grant.ends_on = timezone.localdate() - dt.timedelta(days=1)
    family.grace_grant.save()
    assert client.get(reverse("patient_portal:home")).status_code == 404
    assert client.get(reverse("patient_portal:account")).status_code == 404


def test_staff_without_a_chart_find_no_patient_portal(client_for, family, cast):
    client = client_for(cast.alice)
    assert client.get(reverse("patient_portal:home")).status_code == 404


def test_staff_with_a_proxy_reach_both_areas(client_for, family, cast):
    from patient_portal.models import ProxyGrant

    ProxyGrant.objects.create(chart=family.peter_a, grantee=cast.carol, relationship="other")
    client = client_for(cast.carol)
    assert client.get(reverse("home")).url == reverse("prescriptions:dashboard")
    dashboard = client.get(reverse("prescriptions:dashboard")).content.decode()
    assert reverse("patient_portal:home") in dashboard
    home = client.get(reverse("patient_portal:home"))
    assert home.status_code == 200
    assert "Work area" in home.content.decode()


def test_home_and_reads_are_audited_as_x_for_y(client, family):
    from audit.models import AuditEvent

    client.force_login(family.mary)
    client.post(reverse("patient_portal:switch"), {"chart": family.tim.pk})
    client.get(reverse("patient_portal:home"))
    event = AuditEvent.objects.filter(chart_id=family.tim.pk, action="view").first()
    assert event is not None
    assert event.on_behalf_of == "Tim Doe"
    assert event.description.startswith("Mary Doe for Tim Doe:")
    client.post(reverse("patient_portal:switch"), {"chart": family.mary_a.pk})
    client.get(reverse("patient_portal:home"))
    own = AuditEvent.objects.filter(chart_id=family.mary_a.pk, action="view").first()
    assert own is not None and own.on_behalf_of == ""


def test_portal_settings_default_to_every_section_on(family):
    settings = PortalSettings.for_clinic(family.clinics.a)
    assert settings.pk is None
    assert all(settings.allows(p) for p in ("messages", "billing", "documents"))
