"""Two requests book the same slot at the same moment, on PostgreSQL: the exclusion
constraint lets exactly one through, and the other is told the time was just taken.

Skipped on a laptop's SQLite (said so); CI runs it on PostgreSQL and fails if it cannot.
"""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from django.db import connection, connections
from django.utils import timezone

from scheduling import services
from scheduling.models import Appointment
from tests.conftest import require

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]

ROUNDS = 50


def test_two_simultaneous_bookings_of_one_slot_give_exactly_one_appointment(sched):
    require(connection.vendor == "postgresql", "PostgreSQL (DATABASE_URL)")
    f = sched.family
    provider = f.clinics.prov_alice
    base = (timezone.now() + dt.timedelta(days=7)).replace(minute=0, second=0, microsecond=0)
    for round_ in range(ROUNDS):
        at = base + dt.timedelta(hours=round_)
        barrier = threading.Barrier(2)
        outcomes: list[str] = []
        lock = threading.Lock()

        def attempt(chart, user, at=at, barrier=barrier, outcomes=outcomes, lock=lock) -> None:
            try:
                barrier.wait(timeout=10)
                services.book(
                    chart=chart,
                    provider=provider,
                    appointment_type=sched.video,
                    starts_at=at,
                    by=user,
                    as_patient=False,
                )
                result = "booked"
            except services.SlotTaken as taken:
                result = str(taken)
            finally:
                connections.close_all()  # each thread had its own connection
            with lock:
                outcomes.append(result)

        threads = [
            threading.Thread(target=attempt, args=(f.mary_a, f.mary)),
            threading.Thread(target=attempt, args=(f.peter_a, f.peter)),
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
        assert sorted(outcomes) == sorted(["booked", services.TAKEN_MESSAGE]), round_
        assert Appointment.objects.live().filter(provider=provider, starts_at=at).count() == 1
    assert Appointment.objects.count() == ROUNDS


def test_the_constraint_itself_refuses_an_overlap_written_around_the_service(sched):
    require(connection.vendor == "postgresql", "PostgreSQL (DATABASE_URL)")
    from django.db import IntegrityError

    f = sched.family
    at = timezone.now() + dt.timedelta(days=3)
    common = {"provider": f.clinics.prov_alice, "type": sched.video}
    Appointment.objects.create(
        chart=f.mary_a, starts_at=at, ends_at=at + dt.timedelta(minutes=30), **common
    )
    with pytest.raises(IntegrityError):
        Appointment.objects.create(
            chart=f.peter_a,
            starts_at=at + dt.timedelta(minutes=15),
            ends_at=at + dt.timedelta(minutes=45),
            **common,
        )
