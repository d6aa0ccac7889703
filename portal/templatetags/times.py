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
from django.utils import timezone
from django.utils.dateformat import format as date_format
from django.utils.html import format_html

if TYPE_CHECKING:
    from portal.forms import TimeZoneForm

register = template.Library()

# style -> Django date format; portal.js has the same three.
STYLES = {
    "short": "m/d/Y g:i A",  # 11/28/2026 2:47 AM (tables)
    "long": "M j, Y g:i A",  # Nov 28, 2026 2:47 AM (chat messages)
    "date": "m/d/Y",  # 11/28/2026 (the day, on the reader's clock)
}


@register.simple_tag
def local_time(value: dt.datetime | None, style: str = "short", css_class: str = "") -> str:
    if value is None:
        return "—"
    if style not in STYLES:
        raise template.TemplateSyntaxError(f"local_time: unknown style {style!r}")
    local = timezone.localtime(value)
    text = date_format(local, STYLES[style])
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


@register.simple_tag(takes_context=True)
def time_zone_form(context: template.Context) -> TimeZoneForm:
    """`{% time_zone_form as form %}`: the profile's time zone form for the signed-in user."""
    from portal.forms import TimeZoneForm  # accounts.models imports this module's package

    return TimeZoneForm(instance=context["request"].user)
