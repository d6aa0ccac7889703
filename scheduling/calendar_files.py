"""Add to calendar: one appointment as an .ics file (PHI-minimal: "Appointment" and the
clinic's name; no type, provider, diagnosis or chart)."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone
from icalendar import Calendar, Event

from .models import Appointment


def ics_for(appointment: Appointment) -> bytes:
    clinic = appointment.chart.clinic
    calendar = Calendar()
    calendar.add("prodid", "-//Care portal//Schedule//EN")
    calendar.add("version", "2.0")
    event = Event()
    event.add("uid", f"appointment-{appointment.pk}@care-portal")
    event.add("dtstamp", timezone.now().astimezone(dt.UTC))
    event.add("dtstart", appointment.starts_at.astimezone(dt.UTC))
    event.add("dtend", appointment.ends_at.astimezone(dt.UTC))
    event.add("summary", f"Appointment · {clinic.name}")
    event.add("location", clinic.name)
    calendar.add_component(event)
    return calendar.to_ical()
