"""Patient side of Messages: inbox, compose, thread, reply, archive; chart narrowing."""

from __future__ import annotations

import uuid

from django.urls import reverse

from audit.models import AuditEvent
from messaging.models import Attachment, Message, Reader, Thread
from messaging.services import send_message
from portal.files import DOCUMENT_CSP
from tests.messaging.conftest import a_thread, as_patient, png_upload


def test_it_composes_to_my_clinician_and_lands_on_the_thread(client, family):
    as_patient(client, family.peter, family.peter_a)
    response = client.post(
        reverse("messaging:compose"),
        {
            "to": "clinician",
            "subject": "Refill question",
            "body": "Can I take it with food?",
            "client_id": uuid.uuid4().hex,
        },
    )
    thread = Thread.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("messaging:thread", args=[thread.pk])
    assert thread.chart == family.peter_a
    assert thread.provider == family.peter_a.provider
    assert thread.last_from_patient_id == thread.messages.get().pk
    assert AuditEvent.objects.filter(action="create", chart_id=family.peter_a.pk).exists()


def test_compose_is_idempotent_by_client_id(client, family):
    as_patient(client, family.peter, family.peter_a)
    data = {"to": "office", "subject": "Bill", "body": "Hi", "client_id": "a" * 32}
    client.post(reverse("messaging:compose"), data)
    client.post(reverse("messaging:compose"), data)
    assert Thread.objects.count() == 1 and Message.objects.count() == 1


def test_a_proxy_writes_for_the_child(client, family):
    as_patient(client, family.mary, family.tim)
    client.post(
        reverse("messaging:compose"),
        {"to": "office", "subject": "School note", "body": "Please", "client_id": "b" * 32},
    )
    message = Message.objects.get()
    assert message.thread.chart == family.tim
    assert message.author_name == "Mary Doe for Tim Doe" or "for Tim Doe" in message.author_name
    event = AuditEvent.objects.filter(action="create").latest("pk")
    assert event.on_behalf_of == "Tim Doe"


def test_the_inbox_lists_only_the_chosen_charts_threads(client, family):
    a_thread(family.mary_a, family.mary, subject="Mine at A")
    a_thread(family.tim, family.mary, subject="Tim's")
    as_patient(client, family.mary, family.tim)
    page = client.get(reverse("messaging:inbox")).content.decode()
    assert "Tim&#x27;s" in page or "Tim's" in page
    assert "Mine at A" not in page


def test_the_inbox_says_what_to_do_when_empty(client, family):
    as_patient(client, family.peter, family.peter_a)
    page = client.get(reverse("messaging:inbox")).content.decode()
    assert "No messages yet" in page and "Send a message" in page


def test_a_thread_of_another_chart_is_a_404_in_every_url(client, family):
    other = a_thread(family.peter_a, family.peter)
    mine_other_chart = a_thread(family.mary_a, family.mary)
    send_message(
        thread=other,
        author=family.peter,
        body="x",
        files=[],
        from_clinic=False,
    )
    attachment_thread = a_thread(family.peter_a, family.peter, subject="photo")
    from messaging.attachments import check_attachment

    send_message(
        thread=attachment_thread,
        author=family.peter,
        body="",
        files=[check_attachment(png_upload())],
        from_clinic=False,
    )
    attachment = Attachment.objects.get()
    as_patient(client, family.mary, family.tim)
    for thread in (other, mine_other_chart):
        for name in ("messaging:thread", "messaging:since"):
            assert client.get(reverse(name, args=[thread.pk])).status_code == 404
        for name in ("messaging:reply", "messaging:archive"):
            assert client.post(reverse(name, args=[thread.pk]), {"body": "hi"}).status_code == 404
    assert client.get(reverse("messaging:attachment", args=[attachment.pk])).status_code == 404
    assert client.get("/patient/messages/99999999999999999999/").status_code == 404
    assert Message.objects.filter(thread=other).count() == 2


def test_a_revoked_proxy_gets_404_at_once(client, family):
    thread = a_thread(family.tim, family.mary)
    as_patient(client, family.mary, family.tim)
    assert client.get(reverse("messaging:thread", args=[thread.pk])).status_code == 200
    family.tim_grant.revoke(by=family.clinics.cadmin)
    # The session falls back to mary's own chart: tim's thread is gone.
    assert client.get(reverse("messaging:thread", args=[thread.pk])).status_code == 404


def test_an_expired_proxy_gets_404(client, family):
    import datetime as dt

    from django.utils import timezone

    thread = a_thread(family.peter_a, family.peter)
    as_patient(client, family.grace, family.peter_a)
    assert client.get(reverse("messaging:thread", args=[thread.pk])).status_code == 200
    family.grace_grant.ends_on = timezone.localdate() - dt.timedelta(days=1)
    family.grace_grant.save()
    assert client.get(reverse("messaging:thread", args=[thread.pk])).status_code == 404


def test_reply_with_a_photo_stores_it_reencoded_and_serves_it_inline(client, family):
    thread = a_thread(family.peter_a, family.peter)
    as_patient(client, family.peter, family.peter_a)
    response = client.post(
        reverse("messaging:reply", args=[thread.pk]),
        {"body": "Here is a photo", "client_id": "c" * 32, "attachments": [png_upload()]},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 200
    attachment = Attachment.objects.get()
    assert attachment.content_type == "image/png" and attachment.file.startswith("messages/")
    assert "rash" not in attachment.file
    served = client.get(reverse("messaging:attachment", args=[attachment.pk]))
    assert served.status_code == 200
    assert served["Content-Type"] == "image/png"
    assert served["X-Content-Type-Options"] == "nosniff"
    assert served["Content-Disposition"].startswith("inline")
    assert served["Content-Security-Policy"] == DOCUMENT_CSP  # portal.files' headers
    assert "no-store" in served["Cache-Control"]
    assert AuditEvent.objects.filter(action="download", chart_id=family.peter_a.pk).exists()


def test_archive_is_per_reader_and_a_new_message_brings_it_back(client, family):
    thread = a_thread(family.tim, family.mary)
    as_patient(client, family.mary, family.tim)
    client.post(reverse("messaging:archive", args=[thread.pk]), {"archived": "1"})
    assert Reader.objects.get(thread=thread, user=family.mary).archived_at is not None
    inbox = client.get(reverse("messaging:inbox")).content.decode()
    assert f'id="thread-{thread.pk}"' not in inbox
    archived = client.get(reverse("messaging:inbox") + "?archived=1").content.decode()
    assert f'id="thread-{thread.pk}"' in archived
    # Nobody else's state changed; the clinic replies and it is back in mary's inbox.
    assert not Reader.objects.filter(thread=thread, archived_at__isnull=False).exclude(
        user=family.mary
    )
    send_message(thread=thread, author=family.clinics.cadmin, body="Sure", from_clinic=True)
    inbox = client.get(reverse("messaging:inbox")).content.decode()
    assert f'id="thread-{thread.pk}"' in inbox


def test_unread_counts_per_reader_and_the_nav_badge(client, family):
    thread = a_thread(family.tim, family.mary)
    send_message(thread=thread, author=family.clinics.cadmin, body="One", from_clinic=True)
    send_message(thread=thread, author=family.clinics.cadmin, body="Two", from_clinic=True)
    as_patient(client, family.mary, family.tim)
    page = client.get(reverse("messaging:inbox")).content.decode()
    assert 'id="messages-badge"' in page and ">2<" in page
    client.get(reverse("messaging:thread", args=[thread.pk]))
    page = client.get(reverse("messaging:inbox")).content.decode()
    assert 'id="messages-badge" class="pp-badge" hidden' in page


def test_home_card_shows_recent_messages_and_send_a_message(client, family):
    as_patient(client, family.peter, family.peter_a)
    page = client.get(reverse("patient_portal:home")).content.decode()
    assert "No messages yet" in page and "Send a message" in page
    a_thread(family.peter_a, family.peter, subject="About my knee")
    page = client.get(reverse("patient_portal:home")).content.decode()
    assert "About my knee" in page


def test_messages_off_at_the_clinic_is_a_404(client, family):
    from patient_portal.models import PortalSettings

    PortalSettings.objects.create(clinic=family.clinics.a, messages=False)
    as_patient(client, family.peter, family.peter_a)
    assert client.get(reverse("messaging:inbox")).status_code == 404
    assert (
        "Messages"
        not in client.get(reverse("patient_portal:home"))
        .content.decode()
        .split("pp-sidebar")[1][:2000]
    )
