"""The Home cards the patient portal itself owns."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .models import DashboardMessage

if TYPE_CHECKING:
    from django.http import HttpRequest

    from .models import Chart


def clinician_information(request: HttpRequest, chart: Chart) -> dict[str, Any]:
    """Clinician Information: the chart's provider, clinic and "Portal Dashboard message"."""
    message = DashboardMessage.objects.filter(provider_id=chart.provider_id).first()
    return {
        "provider": chart.provider,
        "clinic": chart.clinic,
        "dashboard_message": message.text.strip() if message else "",
    }
