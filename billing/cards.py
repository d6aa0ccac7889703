"""Home's balance-due card."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .models import Invoice
from .services import chart_balance

if TYPE_CHECKING:
    from django.http import HttpRequest

    from patient_portal.models import Chart


def balance_due(request: HttpRequest, chart: Chart) -> dict[str, Any]:
    """The chart's balance and how many invoices are open (the card says what to do)."""
    return {
        "balance_cents": chart_balance(chart),
        "open_invoices": Invoice.objects.filter(chart=chart, status=Invoice.Status.OPEN).count(),
    }
