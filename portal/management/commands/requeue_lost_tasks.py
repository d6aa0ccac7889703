"""`manage.py requeue_lost_tasks`: queue again the tasks whose worker stopped beating.

Every worker already does this on each heartbeat; this is for a scheduler or an operator
(safe to run alongside the workers).
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from portal.worker import requeue_lost_tasks


class Command(BaseCommand):
    help = "Queue again RUNNING tasks whose worker has not sent a heartbeat recently."

    def handle(self, *args: Any, **options: Any) -> None:
        count = requeue_lost_tasks()
        self.stdout.write(f"Queued again: {count} task{'s' if count != 1 else ''}.")
