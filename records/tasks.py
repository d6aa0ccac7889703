"""Background work of the records app (Django's tasks API: inline in development and tests,
the database queue and `manage.py db_worker` in production)."""

from __future__ import annotations

import logging

from django.utils import timezone
from django_tasks import task

from .models import HealthExport

logger = logging.getLogger(__name__)


@task()
def build_health_export(export_id: int) -> None:
    """Build one "Export health records" (PDF + FHIR JSON), telling its progress as it goes.

    Run again (a retry, a lost worker), a ready export is left alone; a failure marks the
    export failed, so the patient's page stops waiting and offers to try again.
    """
    from .exports import build_export  # noqa: PLC0415 (fhir.resources loads on first use)

    export = HealthExport.objects.filter(pk=export_id).first()
    if export is None or export.status == HealthExport.Status.READY:
        return

    def progress(percent: int, step: str) -> None:
        HealthExport.objects.filter(pk=export_id).update(progress=percent, step=step[:100])

    HealthExport.objects.filter(pk=export_id).update(
        status=HealthExport.Status.RUNNING, step="Starting"
    )
    try:
        build_export(export, progress=progress)
    except Exception:
        logger.exception("Health-records export %s failed", export_id)
        HealthExport.objects.filter(pk=export_id).update(
            status=HealthExport.Status.FAILED, finished_at=timezone.now(), step="Failed"
        )
