"""Clinic side of Messages: the inbox over the user's clinics (filters, search, paging, query
count), a thread (reply, assign, done, archive), the staff bell and the patient's alerts."""

from __future__ import annotations

import re

import pytest
from django.core import mail
from django.urls import reverse

from invites import sms
from messaging.models import Message, Reader, Thread
from messaging.services import send_message
from messaging.tasks import ALERT_TEXT
from notifications.models import Notification
from patient_portal.models import PatientPreferences
from tests.messaging.conftest import a_thread


@pytest.fixture
def threads(family):
    return {
        "peter": a_thread(family.peter_a, family.peter, subject="Knee pain", to="clinician"),
        "tim": a_thread(family.tim, family.mary, subject="School form", to="office"),
        "mary_b": a_thread(family.mary_b, family.mary, subject="Skin check at Lakeside"),
    }


def test_staff_of_clinic_a_see_only_clinic_as_threads(client_for, family, threads, cast):
    client = client_for(cast.alice)  # provider at A only
    page = client.get(reverse("clinic_messaging:inbox")).content.decode()
    assert "Knee pain" in page and "School form" in page
    assert "Skin check" not in page
    b_thread = threads["mary_b"]
    for name in ("clinic_messaging:thread", "clinic_messaging:since"):
        assert client.get(reverse(name, args=[b_thread.pk])).status_code == 404
    for name in ("reply", "archive", "assign", "done"):
        response = client.post(
            reverse(f"clinic_messaging:{name}", args=[b_thread.pk]), {"body": "x"}
        )
        assert response.status_code == 404
    assert Message.objects.filter(thread=b_thread).count() == 1


def test_a_clinic_admin_of_another_clinic_sees_nothing(client_for, family, threads):
    client = client_for(family.clinics.oscar)  # clinic C
    page = client.get(reverse("clinic_messaging:inbox")).content.decode()
    assert "Knee pain" not in page and "No messages" in page
    assert (
        client.get(reverse("clinic_messaging:thread", args=[threads["peter"].pk])).status_code
        == 404
    )


def test_a_patient_never_reaches_the_clinic_inbox(client, family, threads):
    client.force_login(family.peter)
    assert client.get(reverse("clinic_messaging:inbox")).status_code == 404
    assert (
        client.get(reverse("clinic_messaging:thread", args=[threads["peter"].pk])).status_code
        == 404
    )


def test_filters_and_search(client_for, family, threads, cast):
    client = client_for(family.clinics.cadmin)  # admin of A and B
    inbox = reverse("clinic_messaging:inbox")
    page = client.get(inbox).content.decode()
    assert "Knee pain" in page and "Skin check" in page
    page = client.get(inbox, {"q": "peter"}).content.decode()
    assert "Knee pain" in page and "School form" not in page
    page = client.get(inbox, {"q": "school"}).content.decode()
    assert "School form" in page and "Knee pain" not in page
    page = client.get(inbox, {"provider": family.clinics.prov_carol.pk}).content.decode()
    assert "Skin check" in page and "Knee pain" not in page
    # Unread: opening a thread reads it for this reader only.
    client.get(reverse("clinic_messaging:thread", args=[threads["peter"].pk]))
    page = client.get(inbox, {"unread": "1"}).content.decode()
    assert "Knee pain" not in page and "School form" in page
    # Assigned to me, done, archived.
    client.post(
        reverse("clinic_messaging:assign", args=[threads["tim"].pk]),
        {"assignee": family.clinics.cadmin.pk},
    )
    page = client.get(inbox, {"assigned": "me"}).content.decode()
    assert "School form" in page and "Knee pain" not in page
    client.post(reverse("clinic_messaging:done", args=[threads["tim"].pk]), {"done": "1"})
    assert "School form" not in client.get(inbox).content.decode()
    assert "School form" in client.get(inbox, {"status": "done"}).content.decode()
    client.post(reverse("clinic_messaging:archive", args=[threads["peter"].pk]), {"archived": "1"})
    assert "Knee pain" not in client.get(inbox).content.decode()
    assert "Knee pain" in client.get(inbox, {"archived": "1"}).content.decode()
    # Archive is this reader's: alice still has it.
    assert not Reader.objects.filter(user=cast.alice, archived_at__isnull=False).exists()


def test_assign_only_to_a_member_of_the_threads_clinic(client_for, family, threads):
    client = client_for(family.clinics.cadmin)
    carol = family.clinics.prov_carol.user  # clinic B only
    response = client.post(
        reverse("clinic_messaging:assign", args=[threads["peter"].pk]), {"assignee": carol.pk}
    )
    assert response.status_code == 400
    assert Thread.objects.get(pk=threads["peter"].pk).assigned_to is None


def test_a_new_patient_message_reopens_a_done_thread(family, threads):
    thread = threads["peter"]
    Thread.objects.filter(pk=thread.pk).update(done_at="2026-01-01T00:00Z")
    send_message(thread=thread, author=family.peter, body="Still hurts", from_clinic=False)
    assert Thread.objects.get(pk=thread.pk).done_at is None


def test_reply_from_the_clinic(client_for, family, threads, cast):
    client = client_for(cast.alice)
    thread = threads["peter"]
    response = client.post(
        reverse("clinic_messaging:reply", args=[thread.pk]),
        {"body": "Rest and ice.", "client_id": "9" * 32},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 200 and "Rest and ice." in response.content.decode()
    message = Message.objects.filter(thread=thread).latest("pk")
    assert message.from_clinic and "Riverside" in message.author_name


def test_the_inbox_query_count_does_not_grow_with_rows(
    client_for, family, cast, django_assert_max_num_queries
):
    client = client_for(family.clinics.cadmin)
    inbox = reverse("clinic_messaging:inbox")
    a_thread(family.peter_a, family.peter)
    client.get(inbox)
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as few:
        client.get(inbox)
    for n in range(30):
        a_thread(family.tim if n % 2 else family.peter_a, family.mary, subject=f"Thread {n}")
    with CaptureQueriesContext(connection) as many:
        client.get(inbox)
    assert len(many) == len(few)


def test_the_patient_inbox_query_count_does_not_grow_with_rows(client, family):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from tests.messaging.conftest import as_patient

    as_patient(client, family.mary, family.tim)
    a_thread(family.tim, family.mary)
    client.get(reverse("messaging:inbox"))
    with CaptureQueriesContext(connection) as few:
        client.get(reverse("messaging:inbox"))
        client.get(reverse("patient_portal:home"))
    for n in range(30):
        thread = a_thread(family.tim, family.mary, subject=f"T{n}")
        send_message(thread=thread, author=family.clinics.cadmin, body="re", from_clinic=True)
    with CaptureQueriesContext(connection) as many:
        client.get(reverse("messaging:inbox"))
        client.get(reverse("patient_portal:home"))
    assert len(many) == len(few)


def test_a_patient_message_rings_the_providers_bell(
    family, django_capture_on_commit_callbacks, cast
):
    with django_capture_on_commit_callbacks(execute=True):
        a_thread(family.peter_a, family.peter, subject="To my doctor", to="clinician")
    bells = Notification.objects.filter(activity="new_patient_message")
    assert {n.recipient_id for n in bells} == {cast.alice.pk}
    assert bells.get().title == "New patient message"


def test_a_message_to_the_office_rings_the_clinic_staff(
    family, django_capture_on_commit_callbacks, cast
):
    with django_capture_on_commit_callbacks(execute=True):
        a_thread(family.peter_a, family.peter, subject="Billing", to="office")
    recipients = set(
        Notification.objects.filter(activity="new_patient_message").values_list(
            "recipient_id", flat=True
        )
    )
    assert recipients == {cast.alice.pk, family.clinics.cadmin.pk}


def test_patients_are_alerted_only_with_consent_and_without_phi(
    family, threads, outboxes, django_capture_on_commit_callbacks
):
    family.mary.phone = "4155550100"
    family.mary.save()
    thread = threads["tim"]
    with django_capture_on_commit_callbacks(execute=True):
        send_message(
            thread=thread, author=family.clinics.cadmin, body="Form ready", from_clinic=True
        )
    assert not mail.outbox and not sms.outbox  # no consent yet
    PatientPreferences.objects.create(
        user=family.mary, email_consent=True, email_new_messages=True, sms_new_messages=True
    )
    with django_capture_on_commit_callbacks(execute=True):
        send_message(
            thread=thread,
            author=family.clinics.cadmin,
            body="Tim's form is ready",
            from_clinic=True,
        )
    assert len(mail.outbox) == 1 and len(sms.outbox) == 1
    email = mail.outbox[0]
    text = email.subject + email.body + str(sms.outbox[0])
    assert ALERT_TEXT in email.body
    for phi in ("Tim", "Doe", "form", "Riverside", "School"):
        assert phi not in text


def test_a_patient_who_chose_no_email_gets_none(
    family, threads, outboxes, django_capture_on_commit_callbacks
):
    PatientPreferences.objects.create(
        user=family.mary, email_consent=True, email_new_messages=False
    )
    with django_capture_on_commit_callbacks(execute=True):
        send_message(
            thread=threads["tim"], author=family.clinics.cadmin, body="x", from_clinic=True
        )
    assert not mail.outbox


def test_the_inbox_pages_by_25_without_counting(client_for, family):
    for n in range(30):
        a_thread(family.peter_a, family.peter, subject=f"Numbered {n:02d}")
    client = client_for(family.clinics.cadmin)
    first = client.get(reverse("clinic_messaging:inbox")).content.decode()
    assert (
        len(re.findall(r'id="thread-\d', first)) == 25
        and "Numbered 29" in first
        and "Next" in first
    )
    second = client.get(reverse("clinic_messaging:inbox"), {"page": "2"}).content.decode()
    assert (
        len(re.findall(r'id="thread-\d', second)) == 5
        and "Numbered 00" in second
        and "Previous" in second
    )
    assert client.get(reverse("clinic_messaging:inbox"), {"page": "x9"}).status_code == 200


def test_the_unread_badge_caps_at_99(family):
    from django.template.loader import render_to_string

    html = render_to_string(
        "patient_portal/_nav_badge.html", {"count": 100, "cap": 99, "badge_id": "b"}
    )
    assert "99+" in html
