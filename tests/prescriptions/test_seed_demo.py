"""The demo data: a small book of business, the demo logins, and conversations in the chat."""

import io

import pytest
from django.core.management import call_command
from django.db.models import F

from accounts.models import User
from prescriptions.models import Patient, Prescription
from requests_chat.models import Message, Request
from requests_chat.selectors import unread_by_request

pytestmark = pytest.mark.django_db


def test_it_seeds_conversations_once_that_only_the_right_people_see():
    call_command("seed_demo", "--scale", "60", "--quiet-logins", stdout=io.StringIO())
    call_command("seed_demo", "--scale", "60", "--quiet-logins", stdout=io.StringIO())
    assert Request.objects.count() == 3
    assert Message.objects.count() == 9
    jane = User.objects.get(email="prescriber@demo.test")
    ids = list(Request.objects.values_list("pk", flat=True))
    assert Request.objects.visible_to(jane).count() == 3
    assert sum(unread_by_request(jane, ids).values()) > 0  # something waits for her
    john = User.objects.get(email="prescriber2@demo.test")
    assert Request.objects.visible_to(john).count() == 0
    # Every message reads as written by a demo user with their role, in order of time.
    for chat in Request.objects.all():
        times = list(chat.messages.order_by("pk").values_list("created_at", flat=True))
        assert times == sorted(times)
        assert chat.last_message_at == times[-1]


def test_one_run_on_an_empty_database_seeds_the_conversations():
    # The demo users were read before their prescriber was set: only a second run made chats.
    call_command("seed_demo", "--scale", "60", "--quiet-logins", stdout=io.StringIO())
    jane = User.objects.get(email="prescriber@demo.test")
    assert Request.objects.count() == 3
    assert Request.objects.visible_to(jane).count() == 3


def test_every_prescription_belongs_to_its_patients_pharmacy():
    call_command("seed_demo", "--scale", "60", "--quiet-logins", stdout=io.StringIO())
    assert Prescription.objects.exclude(pharmacy=F("patient__pharmacy")).count() == 0
    assert Patient.objects.values("pharmacy").distinct().count() == 2
