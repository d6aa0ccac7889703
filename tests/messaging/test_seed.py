"""seed_messaging: demo threads for the demo patient and her child; running it again adds none."""

from __future__ import annotations

from django.core.management import call_command

from messaging.models import Message, Thread


def test_it_seeds_threads_once(db):
    call_command("seed_demo", verbosity=0)
    call_command("seed_clinics", verbosity=0)
    call_command("seed_patient_portal", verbosity=0)
    call_command("seed_messaging", verbosity=0)
    threads, messages = Thread.objects.count(), Message.objects.count()
    assert threads == 3 and messages == 5
    assert Thread.objects.exclude(chart__patient_user__email="patient@demo.test").exists()
    call_command("seed_messaging", verbosity=0)
    assert (Thread.objects.count(), Message.objects.count()) == (threads, messages)
