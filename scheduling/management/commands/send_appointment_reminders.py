"""Queue the day-before reminders (run periodically by the compose `scheduler` service).

Idempotent: an appointment is claimed by a conditional update of `reminder_queued_at` before
its task is queued, so any number of runs (or two schedulers) queue each reminder once; a
rescheduled appointment is reminded again for its new time.
"""

from __future__ import annotations

import datetime as dt
from functools import partial
from typing import Any

from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone

from scheduling.models import Appointment
from scheduling.tasks import send_appointment_reminder

AHEAD = dt.timedelta(hours=24)


class Command(BaseCommand):
    help = "Queue reminders for appointments starting within the next 24 hours (each once)."

    def handle(self, *args: Any, **options: Any) -> None:
        now = timezone.now()
        due = Appointment.objects.filter(
            status=Appointment.Status.BOOKED,
            reminder_queued_at__isnull=True,
            starts_at__gt=now,
            starts_at__lte=now + AHEAD,
        ).values_list("pk", flat=True)
        queued = 0
        for pk in list(due[:5000]):
            with transaction.atomic():
                claimed = Appointment.objects.filter(pk=pk, reminder_queued_at__isnull=True).update(
                    reminder_queued_at=now
                )
                if claimed:
                    transaction.on_commit(partial(send_appointment_reminder.enqueue, pk))
                    queued += 1
        self.stdout.write(f"Queued {queued} appointment reminder(s).")
