"""Update info: a patient's change is a pending change; the clinic accepts or rejects each
field; accepted values apply to the chart and keep their history; bad input stores nothing."""

from __future__ import annotations

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from PIL import Image

from audit.models import AuditEvent
from notifications.models import Activity, Notification, NotificationPreference
from records import services
from records.models import Coverage, Demographics, EmergencyContact, FieldChange, PendingChange
from tests.conftest import sign_in
from tests.records.conftest import act_for, jpeg_with_exif, js_pdf, pdf_bytes, png_with_metadata

pytestmark = pytest.mark.django_db

DEMO = {
    "demo-legal_first_name": "Mary",
    "demo-legal_last_name": "Doe",
    "demo-address_line1": "1 New Road",
    "demo-city": "Springfield",
}


def post_demographics(client, **extra):
    return client.post(reverse("records:update_demographics"), {**DEMO, **extra})


def test_a_patient_change_waits_for_the_clinic(client, family):
    act_for(client, family.mary, family.mary_a)
    response = post_demographics(client)
    assert response.status_code == 302
    pending = PendingChange.objects.filter(chart=family.mary_a)
    assert {p.field for p in pending} == {"address_line1", "city"}
    assert not Demographics.objects.filter(chart=family.mary_a).exists()
    page = client.get(reverse("records:update_info"))
    assert page.status_code == 200
    assert "Waiting for the clinic" in page.content.decode()
    assert "1 New Road" in page.content.decode()


def test_the_clinic_accepts_a_field_and_it_applies_with_history(client, family):
    act_for(client, family.mary, family.mary_a)
    post_demographics(client)
    change = PendingChange.objects.get(chart=family.mary_a, field="address_line1")
    sign_in(client, family.clinics.cadmin)
    assert client.get(reverse("clinic_records:changes")).status_code == 200
    response = client.post(reverse("clinic_records:accept", args=[change.pk]))
    assert response.status_code == 302
    assert Demographics.objects.get(chart=family.mary_a).address_line1 == "1 New Road"
    history = FieldChange.objects.get(chart=family.mary_a, field="address_line1")
    assert (history.old_value, history.new_value) == ("", "1 New Road")
    assert history.changed_by == family.clinics.cadmin
    assert history.proposed_by == family.mary
    # The other field still waits; rejecting it leaves the record alone.
    city = PendingChange.objects.get(chart=family.mary_a, field="city")
    client.post(reverse("clinic_records:reject", args=[city.pk]))
    city.refresh_from_db()
    assert city.status == "rejected"
    assert Demographics.objects.get(chart=family.mary_a).city == ""
    # The patient sees each field's state.
    act_for(client, family.mary, family.mary_a)
    body = client.get(reverse("records:update_info")).content.decode()
    assert "Accepted" in body and "Not accepted" in body
    # A decided change cannot be decided again.
    sign_in(client, family.clinics.cadmin)
    client.post(reverse("clinic_records:accept", args=[city.pk]))
    city.refresh_from_db()
    assert city.status == "rejected"


def test_a_legal_name_change_applies_to_the_chart(client, family):
    act_for(client, family.mary, family.mary_a)
    post_demographics(client, **{"demo-legal_last_name": "Smith"})
    change = PendingChange.objects.get(chart=family.mary_a, field="legal_last_name")
    services.accept_change(change=change, by=family.clinics.cadmin)
    family.mary_a.refresh_from_db()
    assert family.mary_a.legal_last_name == "Smith"


def test_a_proxy_change_is_audited_for_the_child(client, family):
    act_for(client, family.mary, family.tim)
    post_demographics(client, **{"demo-legal_first_name": "Tim"})
    assert PendingChange.objects.filter(chart=family.tim, field="address_line1").exists()
    event = AuditEvent.objects.filter(chart_id=family.tim.pk, action="create").latest("at")
    assert "for Tim Doe" in event.description


def test_an_over_long_field_is_refused_and_nothing_stored(client, family):
    act_for(client, family.mary, family.mary_a)
    response = post_demographics(client, **{"demo-city": "x" * 101})
    assert response.status_code == 400
    assert "at most 100 characters" in response.content.decode()
    assert not PendingChange.objects.exists()


def test_xss_in_free_text_is_shown_as_text(client, family):
    act_for(client, family.mary, family.mary_a)
    post_demographics(client, **{"demo-city": "<script>alert(1)</script>"})
    body = client.get(reverse("records:update_info")).content.decode()
    assert "<script>alert(1)</script>" not in body
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in body
    sign_in(client, family.clinics.cadmin)
    body = client.get(reverse("clinic_records:changes")).content.decode()
    assert "<script>alert(1)</script>" not in body


def test_a_new_contact_is_created_when_accepted_and_can_be_removed(client, family):
    act_for(client, family.mary, family.mary_a)
    response = client.post(
        reverse("records:add_contact"),
        {
            "new-contact-name": "John Doe",
            "new-contact-relationship": "Spouse",
            "new-contact-phone": "555 0101",
        },
    )
    assert response.status_code == 302
    changes = list(PendingChange.objects.filter(chart=family.mary_a, subject="contact"))
    assert len(changes) == 3
    for change in changes:
        services.accept_change(change=change, by=family.clinics.cadmin)
    contact = EmergencyContact.objects.get(chart=family.mary_a)
    assert (contact.name, contact.relationship, contact.phone) == ("John Doe", "Spouse", "555 0101")
    # A second contact, then removing the first.
    client.post(
        reverse("records:add_contact"),
        {"new-contact-name": "Ann Lee", "new-contact-email": "ann@example.com"},
    )
    client.post(reverse("records:remove_contact", args=[contact.pk]))
    removal = PendingChange.objects.get(field="remove")
    services.accept_change(change=removal, by=family.clinics.cadmin)
    assert not EmergencyContact.objects.filter(pk=contact.pk).exists()


def test_a_contact_needs_a_way_to_reach_them(client, family):
    act_for(client, family.mary, family.mary_a)
    response = client.post(reverse("records:add_contact"), {"new-contact-name": "John"})
    assert response.status_code == 400
    assert not PendingChange.objects.exists()


def _insurance(client, rank="primary", **files):
    data = {f"{rank}-payer": "Acme Health", f"{rank}-member_id": "M123"}
    for side, (name, content, ctype) in files.items():
        data[f"{rank}-{side}"] = SimpleUploadedFile(name, content, content_type=ctype)
    return client.post(reverse("records:update_insurance", args=[rank]), data)


def test_an_insurance_card_photo_is_re_encoded_without_metadata(client, family):
    act_for(client, family.mary, family.mary_a)
    response = _insurance(
        client,
        card_front=("front.jpg", jpeg_with_exif(), "image/jpeg"),
        card_back=("back.png", png_with_metadata(), "image/png"),
    )
    assert response.status_code == 302
    front = PendingChange.objects.get(field="card_front")
    back = PendingChange.objects.get(field="card_back")
    stored_front = front.file.read()
    assert b"SecretCam" not in stored_front and b"<script>" not in stored_front
    assert Image.open(io.BytesIO(stored_front)).getexif() == {}
    stored_back = back.file.read()
    assert b"GPS" not in stored_back and b"<script>" not in stored_back
    for change in PendingChange.objects.filter(chart=family.mary_a):
        services.accept_change(change=change, by=family.clinics.cadmin)
    coverage = Coverage.objects.get(chart=family.mary_a, rank="primary")
    assert coverage.payer == "Acme Health" and coverage.card_front and coverage.card_back
    # The patient and the clinic may open the card; it is served inert.
    card = client.get(reverse("records:card", args=["primary", "card_front"]))
    assert card.status_code == 200
    assert card["Content-Type"] == "image/jpeg"
    assert card["X-Content-Type-Options"] == "nosniff"
    assert "default-src 'none'" in card["Content-Security-Policy"]


def test_a_card_pdf_is_accepted(client, family):
    act_for(client, family.mary, family.mary_a)
    assert (
        _insurance(client, card_front=("card.pdf", pdf_bytes(), "application/pdf")).status_code
        == 302
    )
    assert PendingChange.objects.get(field="card_front").file_type == "application/pdf"


@pytest.mark.parametrize(
    ("name", "content", "ctype", "reason"),
    [
        ("card.jpg", b"MZ\x90\x00 this is an exe renamed", "image/jpeg", "neither"),
        ("card.png", b"<html><script>alert(1)</script></html>", "image/png", "neither"),
        ("card.pdf", js_pdf(), "application/pdf", "JavaScript"),
        ("card.jpg", b"\xff\xd8\xff\xe0 truncated", "image/jpeg", "damaged"),
    ],
)
def test_bad_card_files_are_refused_with_nothing_stored(
    client, family, media, name, content, ctype, reason
):
    act_for(client, family.mary, family.mary_a)
    response = _insurance(client, card_front=(name, content, ctype))
    assert response.status_code == 400
    assert reason in response.content.decode()
    assert not PendingChange.objects.exists()
    assert not any(p.is_file() for p in media.rglob("*")) if media.exists() else True


def test_an_oversized_card_is_refused(client, family, settings):
    settings.DOCUMENT_MAX_BYTES = 1000
    act_for(client, family.mary, family.mary_a)
    response = _insurance(
        client, card_front=("big.png", png_with_metadata((400, 400)) + b"\0" * 2000, "image/png")
    )
    assert response.status_code == 400
    assert "larger than" in response.content.decode()
    assert not PendingChange.objects.exists()


def test_a_pixel_bomb_is_refused(client, family, monkeypatch):
    monkeypatch.setattr("portal.images.MAX_PIXELS", 1000)
    act_for(client, family.mary, family.mary_a)
    response = _insurance(
        client, card_front=("big.png", png_with_metadata((100, 100)), "image/png")
    )
    assert response.status_code == 400
    assert "too large" in response.content.decode()
    assert not PendingChange.objects.exists()


def test_a_rejected_card_is_deleted(client, family, django_capture_on_commit_callbacks):
    act_for(client, family.mary, family.mary_a)
    _insurance(client, card_front=("front.png", png_with_metadata(), "image/png"))
    change = PendingChange.objects.get(field="card_front")
    name = change.file.name
    from django.core.files.storage import default_storage

    assert default_storage.exists(name)
    with django_capture_on_commit_callbacks(execute=True):
        services.reject_change(change=change, by=family.clinics.cadmin)
    assert not default_storage.exists(name)


def test_a_replaced_card_file_is_deleted(client, family, django_capture_on_commit_callbacks):
    from django.core.files.storage import default_storage

    act_for(client, family.mary, family.mary_a)
    _insurance(client, card_front=("a.png", png_with_metadata(), "image/png"))
    first = PendingChange.objects.get(field="card_front")
    services.accept_change(change=first, by=family.clinics.cadmin)
    old_name = Coverage.objects.get().card_front.name
    _insurance(client, card_front=("b.png", png_with_metadata((30, 30)), "image/png"))
    second = PendingChange.objects.get(field="card_front", status="pending")
    with django_capture_on_commit_callbacks(execute=True):
        services.accept_change(change=second, by=family.clinics.cadmin)
    assert not default_storage.exists(old_name)
    assert default_storage.exists(Coverage.objects.get().card_front.name)


def test_the_review_queue_query_count_is_independent_of_size(client, family):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    act_for(client, family.mary, family.mary_a)
    post_demographics(client)
    sign_in(client, family.clinics.cadmin)
    url = reverse("clinic_records:changes")
    client.get(url)
    with CaptureQueriesContext(connection) as few:
        client.get(url)
    for chart in (family.peter_a, family.tim):
        services.propose_changes(
            chart=chart,
            subject="demographics",
            target="",
            values={"city": "X", "phone": "1"},
            by=family.mary,
        )
    with CaptureQueriesContext(connection) as many:
        client.get(url)
    assert len(many) == len(few)


def test_sending_the_form_again_keeps_what_is_waiting(client, family):
    """The form shows the waiting values; sending it again to change another field does not
    withdraw them."""
    act_for(client, family.mary, family.mary_a)
    post_demographics(client)
    page = client.get(reverse("records:update_info")).content.decode()
    assert 'value="1 New Road"' in page
    post_demographics(client, **{"demo-phone": "555 0199"})
    assert set(
        PendingChange.objects.filter(chart=family.mary_a, status="pending").values_list(
            "field", flat=True
        )
    ) == {"address_line1", "city", "phone"}
    # Typing the record's value back withdraws the waiting change.
    post_demographics(client, **{"demo-city": "", "demo-phone": "555 0199"})
    assert not PendingChange.objects.filter(field="city").exists()


def test_the_clinic_staff_are_told_once_per_submission_without_the_patients_name(
    client, family, django_capture_on_commit_callbacks
):
    """The chart's provider and the clinic's admins get one bell item per form sent (not one per
    field); the item names no patient (the bell shows on every page) and opens the chart's
    changes; staff of other clinics and the patient get nothing."""
    act_for(client, family.mary, family.mary_a)
    with django_capture_on_commit_callbacks(execute=True):
        post_demographics(client)
    told = Notification.objects.filter(activity=Activity.RECORD_CHANGE)
    assert {n.recipient_id for n in told.all()} == {
        family.clinics.cadmin.pk,
        family.clinics.prov_alice.user_id,
    }
    item = told.get(recipient=family.clinics.cadmin)
    assert item.title == "A patient sent 2 changes to their record"
    assert "Mary" not in item.title and "Doe" not in item.title
    assert item.target_url == reverse("clinic_records:chart", args=[family.mary_a.pk])
    sign_in(client, family.clinics.cadmin)
    assert client.get(item.target_url).status_code == 200
    # Nothing for the other clinics' staff, nor for the patient who sent it.
    assert not told.filter(
        recipient__in=[family.clinics.oscar, family.clinics.prov_carol.user, family.mary]
    ).exists()
    # The same form sent again proposes nothing new and tells no one; one more field changed
    # is one more item each, for that one change.
    act_for(client, family.mary, family.mary_a)
    waiting = set(PendingChange.objects.values_list("pk", flat=True))
    with django_capture_on_commit_callbacks(execute=True):
        post_demographics(client)
    assert told.all().count() == 2
    assert set(PendingChange.objects.values_list("pk", flat=True)) == waiting
    with django_capture_on_commit_callbacks(execute=True):
        answer = post_demographics(client, **{"demo-phone": "555 0199"})
    assert answer.status_code == 302, answer.content.decode()[:3000]
    assert told.all().count() == 4
    latest = told.filter(recipient=family.clinics.cadmin).latest("pk")
    assert latest.title == "A patient sent a change to their record"
    # A contact removal tells them too.
    contact = EmergencyContact.objects.create(chart=family.mary_a, name="Ann Lee", phone="5550101")
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("records:remove_contact", args=[contact.pk]))
    assert told.all().count() == 6


def test_a_record_change_is_an_activity_staff_can_silence(client, family):
    sign_in(client, family.clinics.cadmin)
    form = client.get(reverse("notifications:preferences")).content.decode()
    assert "Record change sent by a patient" in form
    NotificationPreference.objects.create(
        user=family.clinics.cadmin, activity=Activity.RECORD_CHANGE, in_app=False, email=False
    )
    act_for(client, family.mary, family.mary_a)
    post_demographics(client)
    told = Notification.objects.filter(activity=Activity.RECORD_CHANGE)
    assert [n.recipient for n in told] == [family.clinics.prov_alice.user]
