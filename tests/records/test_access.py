"""Access to every records URL and file: the chart's own person and live proxies on the patient
side, the chart's clinic staff on the clinic side; everyone else gets a 404 (or the sign-in)."""

from __future__ import annotations

import pytest
from django.urls import reverse

from records import services
from records.models import Coverage, EmergencyContact, HealthExport, HealthRecord, PendingChange
from records.services import add_health_record
from tests.conftest import sign_in
from tests.records.conftest import act_for, pdf_bytes, png_with_metadata

pytestmark = pytest.mark.django_db


@pytest.fixture
def objects(family):
    """Mary's Riverside chart with one of everything."""
    from records.files import check_card

    chart = family.mary_a
    contact = EmergencyContact.objects.create(chart=chart, name="John", phone="1")
    Coverage.objects.create(chart=chart, rank="primary", payer="Acme")
    card = services.propose_card(
        chart=chart,
        rank="primary",
        side="card_front",
        checked=check_card(png_with_metadata()),
        by=family.mary,
    )
    services.accept_change(change=card, by=family.clinics.cadmin)
    pending = services.propose_card(
        chart=chart,
        rank="primary",
        side="card_back",
        checked=check_card(png_with_metadata()),
        by=family.mary,
    )
    health = add_health_record(
        chart=chart,
        kind="letter",
        title="Letter",
        pdf_bytes=pdf_bytes(),
        source="clinic",
        created_by=None,
    )
    export = HealthExport.objects.create(chart=chart, requested_by=family.mary)
    from records.exports import build_export

    build_export(export)
    return {
        "chart": chart,
        "contact": contact,
        "pending": pending,
        "health": health,
        "export": export,
    }


def patient_gets(o) -> list[str]:
    return [
        reverse("records:health_record", args=[o["health"].pk]),
        reverse("records:card", args=["primary", "card_front"]),
        reverse("records:export", args=[o["export"].public_id]),
        reverse("records:export_file", args=[o["export"].public_id, "pdf"]),
        reverse("records:export_file", args=[o["export"].public_id, "json"]),
    ]


def patient_posts(o) -> list[str]:
    return [
        reverse("records:update_contact", args=[o["contact"].pk]),
        reverse("records:remove_contact", args=[o["contact"].pk]),
    ]


def clinic_gets(o) -> list[str]:
    return [
        reverse("clinic_records:chart", args=[o["chart"].pk]),
        reverse("clinic_records:pending_file", args=[o["pending"].pk]),
        reverse("clinic_records:health_record", args=[o["health"].pk]),
        reverse("clinic_records:card", args=[o["chart"].pk, "primary", "card_front"]),
    ]


def clinic_posts(o) -> list[str]:
    return [
        reverse("clinic_records:accept", args=[o["pending"].pk]),
        reverse("clinic_records:reject", args=[o["pending"].pk]),
        reverse("clinic_records:upload", args=[o["chart"].pk]),
    ]


def test_the_owner_reaches_every_patient_url(client, family, objects):
    act_for(client, family.mary, family.mary_a)
    for url in patient_gets(objects):
        assert client.get(url).status_code == 200, url
    for name in ("records:update_info", "records:health_records", "records:exports"):
        assert client.get(reverse(name)).status_code == 200, name


def test_the_clinic_reaches_every_clinic_url(client, family, objects):
    sign_in(client, family.clinics.cadmin)
    for url in clinic_gets(objects):
        assert client.get(url).status_code == 200, url


@pytest.mark.parametrize("who", ["peter", "grace", "carol_staff_b", "oscar", "mallory"])
def test_everyone_else_gets_404(client, family, cast, objects, who):
    user = {
        "peter": family.peter,
        "grace": family.grace,
        "carol_staff_b": cast.carol,
        "oscar": family.clinics.oscar,
        "mallory": cast.mallory,
    }[who]
    sign_in(client, user)
    for url in patient_gets(objects) + clinic_gets(objects):
        assert client.get(url).status_code == 404, url
    for url in patient_posts(objects) + clinic_posts(objects):
        assert client.post(url).status_code == 404, url
    assert PendingChange.objects.filter(status="pending").count() == 1
    assert EmergencyContact.objects.filter(pk=objects["contact"].pk).exists()


def test_the_patient_never_reaches_clinic_pages(client, family, objects):
    act_for(client, family.mary, family.mary_a)
    for url in clinic_gets(objects):
        assert client.get(url).status_code == 404, url
    for url in clinic_posts(objects):
        assert client.post(url).status_code == 404, url
    assert not HealthRecord.objects.exclude(pk=objects["health"].pk).exists()


def test_a_revoked_proxy_404s_at_once(client, family):
    contact = EmergencyContact.objects.create(chart=family.tim, name="Gran", phone="1")
    health = add_health_record(
        chart=family.tim,
        kind="letter",
        title="School letter",
        pdf_bytes=pdf_bytes(),
        source="clinic",
        created_by=None,
    )
    act_for(client, family.mary, family.tim)
    url = reverse("records:health_record", args=[health.pk])
    assert client.get(url).status_code == 200
    family.tim_grant.revoke(by=family.clinics.cadmin)
    assert client.get(url).status_code == 404
    assert client.post(reverse("records:update_contact", args=[contact.pk])).status_code == 404


def test_signed_out_is_sent_to_sign_in(client, family, objects):
    for url in patient_gets(objects) + clinic_gets(objects):
        response = client.get(url)
        assert response.status_code == 302 and "/accounts/login/" in response.url, url


def test_the_other_chart_of_the_same_person_is_not_mixed_in(client, family, objects):
    """Mary acting for her Lakeside chart does not reach her Riverside chart's files."""
    act_for(client, family.mary, family.mary_b)
    for url in patient_gets(objects):
        assert client.get(url).status_code == 404, url


def test_an_unknown_insurance_rank_or_card_side_404s(client, family, objects):
    act_for(client, family.mary, family.mary_a)
    assert client.post(reverse("records:update_insurance", args=["tertiary"])).status_code == 404
    assert client.get(reverse("records:card", args=["primary", "selfie"])).status_code == 404
