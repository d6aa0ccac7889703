"""Reads of prescription data that pages share."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from .models import Prescription, StatusChange

# One row of a prescription's timeline: "at" (when), "kind" and what the template shows.
TimelineEvent = dict[str, Any]


def prescription_timeline(
    rx: Prescription, *, also: Iterable[TimelineEvent] = ()
) -> list[TimelineEvent]:
    """The prescription's history, newest first: the pharmacy's status changes and the events
    of higher apps (`also`: the request's creation and each shared document, with who did it,
    from `requests_chat.selectors.timeline_events`; this app does not import the chat).
    The caller has checked that the user may see `rx`."""
    events: list[TimelineEvent] = [
        {"at": c.changed_at, "kind": "status", "change": c}
        for c in StatusChange.objects.filter(prescription=rx)
    ]
    events.extend(also)
    events.sort(key=lambda e: e["at"], reverse=True)
    return events
