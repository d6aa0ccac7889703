"""Delete health-records exports past their expiry (files and rows). Run it hourly (cron)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from records.services import purge_expired_exports


class Command(BaseCommand):
    help = "Delete health-records exports (PDF and FHIR JSON) older than their 24-hour life."

    def handle(self, *args: Any, **options: Any) -> None:
        gone = purge_expired_exports()
        self.stdout.write(f"Deleted {gone} expired health-records export(s).")
