"""A stopped worker loses nothing; a task run again (retry, lost worker) sends nothing twice."""

from __future__ import annotations

import pytest
from django.core import mail
from django_tasks_db.models import DBTaskResult

from accounts.services import queue_portal_email
from invites import sms
from invites.models import Invite
from invites.services import invite_patients, resend_invite
from notifications.models import Activity, Notification
from notifications.services import notify
from portal.models import DeliveryMarker
from requests_chat.services import create_request

from .conftest import work

pytestmark = pytest.mark.django_db(transaction=True)

PATIENTS = [
    {"first_name": "Pat", "last_name": "One", "email": "pat.one@example.com", "mobile": ""},
    {"first_name": "Sam", "last_name": "Two", "email": "", "mobile": "+15551230002"},
]


def queue_everything(cast, clinics) -> None:
    invite_patients(
        clinic=clinics.a, provider=clinics.prov_alice, patients=PATIENTS, invited_by=cast.alice
    )
    notify(activity=Activity.NEW_MESSAGE, obj=cast.rx_alice, recipients=[cast.alice, cast.bob])
    queue_portal_email(
        to="someone@example.com",
        subject="Welcome",
        template="accounts/email/registered.txt",
        context={"name": "Someone"},
    )


def sent_to() -> list[str]:
    return sorted([to for m in mail.outbox for to in m.to] + [s["to"] for s in sms.outbox])


def test_a_stopped_worker_loses_nothing_and_sends_each_once_on_restart(queue, cast, clinics):
    queue_everything(cast, clinics)
    # No worker running: nothing is sent, everything waits in the queue.
    assert sent_to() == []
    assert DBTaskResult.objects.ready().count() == 3
    work()
    assert sent_to() == sorted(
        ["pat.one@example.com", "+15551230002", cast.alice.email, cast.bob.email]
        + ["someone@example.com"]
    )
    assert not DBTaskResult.objects.exclude(status="SUCCESSFUL").exists()
    # A second worker start finds nothing more to do.
    work()
    assert len(sent_to()) == 5


def test_a_task_run_again_sends_nothing_twice(queue, cast, clinics):
    queue_everything(cast, clinics)
    work()
    assert len(sent_to()) == 5
    # As if every worker had died after sending but before recording success: the same tasks
    # run again.
    DBTaskResult.objects.update(status="READY")
    work()
    assert len(sent_to()) == 5
    assert Invite.objects.filter(sent_at__isnull=False).count() == 2


def test_a_chat_notification_task_run_again_notifies_once(queue, cast):
    create_request(prescription=cast.rx_alice, author=cast.phil, body="Any news?")
    work()
    rows = Notification.objects.filter(prescription=cast.rx_alice).count()
    assert rows >= 1
    emails = len(mail.outbox)
    DBTaskResult.objects.update(status="READY")
    work()
    assert Notification.objects.filter(prescription=cast.rx_alice).count() == rows
    assert len(mail.outbox) == emails
    assert DeliveryMarker.objects.filter(key__startswith="requests_chat.notify:").count() == 1


def test_resend_sends_an_invite_again(queue, cast, clinics):
    outcome = invite_patients(
        clinic=clinics.a, provider=clinics.prov_alice, patients=PATIENTS[:1], invited_by=cast.alice
    )
    work()
    resend_invite(invite=Invite.objects.get(pk=outcome.invited[0].pk))
    work()
    assert sent_to() == ["pat.one@example.com", "pat.one@example.com"]
