"""`{% local_time value "short" %}`: a moment written so each reader sees it on their own clock.

The server writes `<time datetime="ISO 8601" data-local="style">` with the text in the reader's
zone as the request knows it (portal.middleware.TimeZoneMiddleware: profile, browser cookie, or
the portal's default; what shows without JavaScript); static/js/portal.js rewrites the text in
the reader's zone, in the same style (a websocket push is rendered once for every reader). Only for moments (DateTimeFields): a date of birth or a ship
date has no time zone and is shown as it is.

Registered as a template builtin (settings.TEMPLATES), so no `{% load %}` is needed.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from django import template
from django.template.defaultfilters import date as date_filter
from django.utils import timezone
from django.utils.dates import MONTHS_3
from django.utils.html import format_html
from django.utils.translation import gettext

if TYPE_CHECKING:
    from portal.forms import TimeZoneForm

register = template.Library()

# style -> Django date format; portal.js has the same three.
STYLES = {
    "short": "m/d/Y g:i A",  # 11/28/2026 2:47 AM (tables)
    "long": "M j, Y g:i A",  # Nov 28, 2026 2:47 AM (chat messages)
    "date": "m/d/Y",  # 11/28/2026 (the day, on the reader's clock)
}


def format_style(local: dt.datetime, style: str) -> str:
    """`django.utils.dateformat.format(local, STYLES[style])`, written out for the three styles.

    The same text (the same month abbreviations and AM/PM, translated alike; a test compares the
    two), at a tenth of the cost: Django's formatter parses the format and dispatches each
    character on every call, about 50 µs, and a chat page writes a moment per message.
    """
    day = f"{local.month:02d}/{local.day:02d}/{local.year:04d}"
    if style == "date":
        return day
    clock = (
        f"{local.hour % 12 or 12}:{local.minute:02d} {gettext('PM' if local.hour > 11 else 'AM')}"
    )
    if style == "short":
        return f"{day} {clock}"
    return f"{MONTHS_3[local.month].title()} {local.day}, {local.year:04d} {clock}"


@register.simple_tag
def local_time(value: dt.datetime | None, style: str = "short", css_class: str = "") -> str:
    if value is None:
        return "—"
    if style not in STYLES:
        raise template.TemplateSyntaxError(f"local_time: unknown style {style!r}")
    local = timezone.localtime(value)
    text = format_style(local, style)
    if css_class:
        return format_html(
            '<time class="{}" datetime="{}" data-local="{}">{}</time>',
            css_class,
            local.isoformat(),
            style,
            text,
        )
    return format_html(
        '<time datetime="{}" data-local="{}">{}</time>', local.isoformat(), style, text
    )


# Days (DateFields: a date of birth, a ship date) in the two fixed formats the tables use. The
# same text as `|date:"m/d/Y"` and `|date:"Y-m-d"` (fixed formats, nothing translated; a test
# compares them), without Django's general formatter: a dashboard page writes 50 of them.


@register.filter
def us_date(value: dt.date | dt.datetime | str | None) -> str:
    """`{{ value|us_date }}` = `{{ value|date:"m/d/Y" }}`: 11/28/2026, "" for no date."""
    if type(value) is dt.date:
        return f"{value.month:02d}/{value.day:02d}/{value.year:04d}"
    return date_filter(value, "m/d/Y")


@register.filter
def iso_date(value: dt.date | dt.datetime | str | None) -> str:
    """`{{ value|iso_date }}` = `{{ value|date:"Y-m-d" }}`: 2026-11-28, "" for no date."""
    if type(value) is dt.date:
        return f"{value.year:04d}-{value.month:02d}-{value.day:02d}"
    return date_filter(value, "Y-m-d")


@register.simple_tag(takes_context=True)
def time_zone_form(context: template.Context) -> TimeZoneForm:
    """`{% time_zone_form as form %}`: the profile's time zone form for the signed-in user."""
    from portal.forms import TimeZoneForm  # accounts.models imports this module's package

    return TimeZoneForm(instance=context["request"].user)
