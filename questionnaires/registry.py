"""How Documents plugs into the patient portal: the "Documents" section (permission
"documents"), its Home card (pending documents with count and due dates) and its part of the
health-records export. Called from the app's ready()."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from patient_portal.exports import ExportPart, register_export_part
from patient_portal.sections import ORDER, HomeCard, Section, register

from . import exports
from .selectors import pending

if TYPE_CHECKING:
    from django.http import HttpRequest

    from patient_portal.models import Chart

# A clipboard with a check mark (24×24).
ICON = (
    "M9 2h6a1 1 0 0 1 1 1v1h2a2 2 0 0 1 2 2v14a2 2 0 0 1-2 2H6a2 2 0 0 1-2-2V6a2 2 0 0 1 2-2h2V3a1"
    " 1 0 0 1 1-1Zm1 2v2h4V4h-4Zm5.3 6.3-4.3 4.3-2.3-2.3-1.4 1.4 3.7 3.7 5.7-5.7-1.4-1.4Z"
)
CARD_ROWS = 3


def pending_card(request: HttpRequest, chart: Chart) -> dict[str, Any]:
    """Home: how many documents wait to be filled, and the first few with their due dates."""
    waiting = pending(request.user, chart)  # type: ignore[arg-type]
    rows = list(waiting[: CARD_ROWS + 1])
    total = len(rows) if len(rows) <= CARD_ROWS else waiting.count()
    return {"pending_rows": rows[:CARD_ROWS], "pending_count": total}


def register_all() -> None:
    register(
        Section(
            key="documents",
            label="Documents",
            url_name="documents:list",
            permission="documents",
            order=ORDER["documents"],
            icon=ICON,
            matches=("documents:",),
            home_card=HomeCard(
                template="questionnaires/_home_card.html", context=pending_card, order=50
            ),
        )
    )
    register_export_part(
        ExportPart(
            key="documents",
            title="Documents",
            order=50,
            write_pdf=exports.write_pdf,
            fhir_resources=exports.fhir_resources,
            count=exports.count,
        )
    )
