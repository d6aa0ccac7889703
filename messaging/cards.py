"""Home's messages card and the nav badge (the patient frame calls these per page)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .selectors import patient_threads, unread_for_chart

if TYPE_CHECKING:
    from django.http import HttpRequest

    from patient_portal.models import Chart

HOME_THREADS = 3


def recent_messages(request: HttpRequest, chart: Chart) -> dict[str, Any]:
    """The chart's latest threads (not archived by this reader) and its unread count."""
    user: Any = request.user
    threads = list(patient_threads(user, chart)[:HOME_THREADS])
    return {
        "threads": threads,
        "unread": sum(getattr(t, "unread", 0) for t in threads),
        "provider": chart.provider,
    }


def messages_badge(request: HttpRequest, chart: Chart) -> int:
    """Unread clinic messages in the chosen chart's threads, for this reader."""
    user: Any = request.user
    return unread_for_chart(user, chart)
