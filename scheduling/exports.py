"""The appointments part of a chart's health-records export: a PDF table and FHIR R4
`Appointment` resources, streamed (iterator) so a chart of thousands of rows stays small in
memory. The exporter has already checked that the requester may act for the chart."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from .models import Appointment

if TYPE_CHECKING:
    from patient_portal.models import Chart
    from portal.pdf import PortalPDF

FHIR_STATUS = {
    Appointment.Status.BOOKED: "booked",
    Appointment.Status.DONE: "fulfilled",
    Appointment.Status.NO_SHOW: "noshow",
    Appointment.Status.CANCELLED: "cancelled",
}


def _rows(chart: Chart) -> Iterator[Appointment]:
    return (
        Appointment.objects.filter(chart=chart)
        .select_related("type", "provider__user")
        .order_by("starts_at", "pk")
        .iterator(chunk_size=500)
    )


def appointment_count(chart: Chart) -> int:
    return Appointment.objects.filter(chart=chart).count()


def _zone(chart: Chart) -> ZoneInfo:
    try:
        return ZoneInfo(chart.clinic.time_zone)
    except (ValueError, KeyError, OSError):
        return ZoneInfo("America/New_York")


def write_appointments(doc: PortalPDF, chart: Chart) -> None:
    zone = _zone(chart)
    doc.heading("Appointments")
    doc.paragraph(f"Times in {zone.key} (the clinic's time zone).")

    def rows() -> Iterator[list[object]]:
        for appointment in _rows(chart):
            local = appointment.starts_at.astimezone(zone)
            yield [
                f"{local:%Y-%m-%d %H:%M}",
                appointment.type.name,
                appointment.provider.display_name,
                appointment.get_status_display(),
            ]

    doc.data_table(["Date and time", "Type", "Provider", "Status"], rows())


def _resource(appointment: Appointment, chart: Chart) -> dict[str, Any]:
    return {
        "resourceType": "Appointment",
        "id": f"appointment-{appointment.pk}",
        "status": FHIR_STATUS[Appointment.Status(appointment.status)],
        "serviceType": [{"text": appointment.type.name}],
        "start": appointment.starts_at.astimezone(dt.UTC).isoformat(),
        "end": appointment.ends_at.astimezone(dt.UTC).isoformat(),
        "minutesDuration": appointment.type.duration_minutes,
        "participant": [
            {"actor": {"display": chart.full_name}, "status": "accepted"},
            {"actor": {"display": appointment.provider.display_name}, "status": "accepted"},
        ],
    }


def appointment_resources(chart: Chart) -> list[dict[str, Any]]:
    """FHIR R4 Appointment resources (validated by fhir.resources in the tests)."""
    return [_resource(appointment, chart) for appointment in _rows(chart)]
