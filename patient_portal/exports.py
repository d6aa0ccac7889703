"""The health-records export registry: how each app adds its part of a chart's export.

"Export health records" (Account) writes one paginated PDF of a chart and the same content as
FHIR R4 JSON. No app knows every other: each registers a part in its `AppConfig.ready()`, and
the exporter (in `records/`) asks every registered part, in `order`, for its PDF pages and its
FHIR resources:

    from patient_portal.exports import ExportPart, register_export_part

    register_export_part(ExportPart(
        key="appointments", title="Appointments", order=60,
        write_pdf=write_appointments,         # (doc: portal.pdf.PortalPDF, chart) -> None
        fhir_resources=appointment_resources, # (chart) -> list of FHIR resource dicts
        count=appointment_count,              # (chart) -> int, for progress and sizing
    ))

Parts must read through their model's `visible_to`-based selectors for the chart (the exporter
has already checked the requester may act for the chart) and stream large sets (iterator()),
so memory stays bounded for a chart of thousands of rows.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from portal.pdf import PortalPDF

    from .models import Chart


@dataclass(frozen=True)
class ExportPart:
    key: str
    title: str
    order: int
    write_pdf: Callable[[PortalPDF, Chart], None]
    fhir_resources: Callable[[Chart], list[dict[str, Any]]]
    count: Callable[[Chart], int] | None = None


_PARTS: dict[str, ExportPart] = {}


def register_export_part(part: ExportPart) -> None:
    """Add (or replace, by key — apps may be reloaded in tests) one part of the export."""
    _PARTS[part.key] = part


def export_parts() -> list[ExportPart]:
    """Every registered part, in order."""
    return sorted(_PARTS.values(), key=lambda part: (part.order, part.key))
