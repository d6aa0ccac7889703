"""What the schedule adds to the patient portal: the "Schedule" section, Home's appointment
card, and the appointments part of the health-records export."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from django.http import HttpRequest

    from patient_portal.models import Chart

CALENDAR_ICON = (
    "M7 2v2H5a2 2 0 0 0-2 2v14a2 2 0 0 0 2 2h14a2 2 0 0 0 2-2V6a2 2 0 0 0-2-2h-2V2h-2v2H9V2H7Z"
    "m-2 7h14v11H5V9Zm2 2v2h2v-2H7Zm4 0v2h2v-2h-2Zm4 0v2h2v-2h-2Z"
)


def appointment_card(request: HttpRequest, chart: Chart) -> dict[str, Any] | None:
    """Home: the next appointment and "Book an appointment" (when online booking is on)."""
    from patient_portal.selectors import portal_settings

    from .selectors import next_appointment

    return {
        "next_appointment": next_appointment(request.user, chart),  # type: ignore[arg-type]
        "booking_on": portal_settings(chart).online_booking,
    }


def register_all() -> None:
    from patient_portal.exports import ExportPart, register_export_part
    from patient_portal.sections import ORDER, HomeCard, Section, register

    from . import exports

    register(
        Section(
            key="schedule",
            label="Schedule",
            url_name="scheduling:schedule",
            # Seeing one's appointments is always on; booking needs "online_booking".
            permission=None,
            order=ORDER["schedule"],
            icon=CALENDAR_ICON,
            matches=("scheduling:",),
            home_card=HomeCard(
                template="scheduling/_home_card.html", context=appointment_card, order=20
            ),
        )
    )
    register_export_part(
        ExportPart(
            key="appointments",
            title="Appointments",
            order=60,
            write_pdf=exports.write_appointments,
            fhir_resources=exports.appointment_resources,
            count=exports.appointment_count,
        )
    )
