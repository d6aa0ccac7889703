"""Notification email: sent from a task, batched by digest and quiet hours, free of PHI."""

import datetime as dt
import io
import re
from zoneinfo import ZoneInfo

import pytest
from django.core import mail
from django.core.management import call_command
from django.utils import timezone

from accounts.models import User
from notifications.models import (
    Activity,
    Notification,
    NotificationPreference,
    NotificationSettings,
)
from notifications.services import notify
from notifications.tasks import send_notification_digests
from prescriptions.importer import prescription_status_changed
from prescriptions.models import Patient, Prescription, Status

pytestmark = pytest.mark.django_db


def all_email_on(users):
    NotificationPreference.objects.bulk_create(
        [
            NotificationPreference(user=u, activity=a, in_app=True, email=True)
            for u in users
            for a in Activity
        ]
    )


def phi_terms() -> set[str]:
    """Every patient name, date of birth, medication and Rx number in the database."""
    terms: set[str] = set()
    for p in Patient.objects.all():
        terms |= {p.first_name, p.last_name, p.full_name}
        dob = p.date_of_birth
        terms |= {dob.isoformat(), dob.strftime("%m/%d/%Y"), dob.strftime("%B %-d, %Y")}
    for rx in Prescription.objects.all():
        terms |= {rx.medication_name, rx.rx_number, rx.pharmacy_rx_id}
    return {t for t in terms if t}


def assert_no_phi(messages):
    terms = phi_terms()
    for message in messages:
        text = f"{message.subject}\n{message.body}"
        leaked = [t for t in terms if re.search(rf"\b{re.escape(t)}\b", text, re.IGNORECASE)]
        assert not leaked, f"PHI in email to {message.to}: {leaked}\n{text}"


def test_no_email_contains_patient_data(db, django_capture_on_commit_callbacks):
    call_command("seed_demo", "--scale", "60", stdout=io.StringIO())
    users = list(User.objects.all())
    all_email_on(users)
    # Half of the people get digests, so both kinds of email are checked.
    NotificationSettings.objects.bulk_create(
        [NotificationSettings(user=u, digest="hourly") for u in users[::2]]
    )
    rxs = list(Prescription.objects.select_related("patient")[:40])
    with django_capture_on_commit_callbacks(execute=True):
        for rx in rxs:
            for activity in [Activity.NEW_REQUEST, Activity.NEW_MESSAGE, Activity.NEW_DOCUMENT]:
                notify(activity=activity, obj=rx)
        prescription_status_changed.send(
            sender=Prescription, changes=[(rx.pk, rx.status, Status.ON_HOLD) for rx in rxs]
        )
        notify(activity=Activity.INVITE_ACCEPTED, obj=rxs[0].patient, recipients=users[:3])
    send_notification_digests.call()
    assert len(mail.outbox) > 10
    assert any(m.subject.startswith("You have a new") for m in mail.outbox)
    assert any("new notifications" in m.subject for m in mail.outbox)
    assert_no_phi(mail.outbox)


def test_it_sends_one_short_email_with_a_link(cast, django_capture_on_commit_callbacks, settings):
    settings.SITE_URL = "https://portal.example.com"
    with django_capture_on_commit_callbacks(execute=True):
        [n] = notify(activity=Activity.NEW_MESSAGE, obj=cast.rx_alice, recipients=[cast.alice])
    [message] = mail.outbox
    assert message.to == [cast.alice.email]
    assert message.subject.startswith("You have a new message")
    assert f"https://portal.example.com/notifications/{n.pk}/open/" in message.body
    assert_no_phi(mail.outbox)
    n.refresh_from_db()
    assert n.emailed_at is not None and not n.email_pending


def test_hourly_digest_waits_and_batches(cast, django_capture_on_commit_callbacks):
    NotificationSettings.objects.create(user=cast.alice, digest="hourly")
    with django_capture_on_commit_callbacks(execute=True):
        notify(activity=Activity.NEW_MESSAGE, obj=cast.rx_alice, recipients=[cast.alice])
        notify(activity=Activity.NEW_REQUEST, obj=cast.rx_alice, recipients=[cast.alice])
    assert mail.outbox == []
    call_command("send_notification_digests", stdout=io.StringIO())
    [message] = mail.outbox
    assert message.subject.startswith("You have 2 new notifications")
    assert "New message" in message.body and "New request" in message.body
    # Within the hour, new items wait for the next digest.
    with django_capture_on_commit_callbacks(execute=True):
        notify(activity=Activity.NEW_MESSAGE, obj=cast.rx_alice, recipients=[cast.alice])
    send_notification_digests.call()
    assert len(mail.outbox) == 1
    NotificationSettings.objects.filter(user=cast.alice).update(
        last_digest_at=timezone.now() - dt.timedelta(hours=1)
    )
    send_notification_digests.call()
    assert len(mail.outbox) == 2


def test_quiet_hours_hold_email_until_they_end(cast, django_capture_on_commit_callbacks):
    now = timezone.localtime()
    settings_row = NotificationSettings.objects.create(
        user=cast.alice,
        quiet_hours_start=(now - dt.timedelta(hours=1)).time(),
        quiet_hours_end=(now + dt.timedelta(hours=1)).time(),
    )
    with django_capture_on_commit_callbacks(execute=True):
        notify(activity=Activity.NEW_MESSAGE, obj=cast.rx_alice, recipients=[cast.alice])
    assert mail.outbox == []
    assert Notification.objects.get(recipient=cast.alice).email_pending
    send_notification_digests.call()
    assert mail.outbox == []
    settings_row.quiet_hours_end = (now - dt.timedelta(minutes=30)).time()
    settings_row.save()
    send_notification_digests.call()
    assert len(mail.outbox) == 1


def test_quiet_hours_can_span_midnight():
    s = NotificationSettings(quiet_hours_start=dt.time(22), quiet_hours_end=dt.time(7))
    at = timezone.make_aware(dt.datetime(2026, 1, 5, 23, 30))
    assert s.in_quiet_hours(at)
    assert s.in_quiet_hours(at + dt.timedelta(hours=7))
    assert not s.in_quiet_hours(at + dt.timedelta(hours=8))


def test_quiet_hours_follow_the_users_own_time_zone():
    """22:00–07:00 in Los Angeles is 01:00–10:00 in New York (the portal's default zone)."""
    pacific = NotificationSettings(
        quiet_hours_start=dt.time(22), quiet_hours_end=dt.time(7), time_zone="America/Los_Angeles"
    )
    portal_clock = NotificationSettings(quiet_hours_start=dt.time(22), quiet_hours_end=dt.time(7))
    eleven_pm_eastern = dt.datetime(2026, 1, 5, 23, 0, tzinfo=ZoneInfo("America/New_York"))
    assert portal_clock.in_quiet_hours(eleven_pm_eastern)
    assert not pacific.in_quiet_hours(eleven_pm_eastern)  # 20:00 in Los Angeles
    assert pacific.in_quiet_hours(eleven_pm_eastern + dt.timedelta(hours=3))  # 23:00 there
    assert pacific.in_quiet_hours(eleven_pm_eastern + dt.timedelta(hours=10))  # 06:00 there
    assert not pacific.in_quiet_hours(eleven_pm_eastern + dt.timedelta(hours=11))  # 07:00
