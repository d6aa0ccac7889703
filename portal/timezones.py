"""Time zones: one rule everywhere. Moments are stored in UTC and shown in the reader's zone.

The reader's zone is their profile choice (`User.time_zone`, an IANA name), or, when that is
empty, the zone their browser reports (the `tz` cookie portal.js sets), or else the portal's
default (settings.TIME_ZONE). `TimeZoneMiddleware` activates it for each request, so pages,
the admin and `{% local_time %}` agree; file names that carry a moment use UTC and say so.
"""

from __future__ import annotations

import datetime as dt
import functools
import zoneinfo

from django.core.exceptions import ValidationError
from django.utils import timezone

COOKIE = "tz"


@functools.cache
def known_zones() -> frozenset[str]:
    """IANA names this machine's zone database knows (read once per process)."""
    return frozenset(zoneinfo.available_timezones())


def is_valid_zone(name: str) -> bool:
    # Only names from the database: no paths, no control characters, nothing over 64 chars.
    return bool(name) and len(name) <= 64 and name.isprintable() and name in known_zones()


def validate_time_zone(value: str) -> None:
    """Model/form validator: an IANA time zone name such as America/Chicago (or empty)."""
    if value and not is_valid_zone(value):
        raise ValidationError(
            "Choose a time zone from the list, such as America/Chicago.", code="invalid_time_zone"
        )


def zone_choices() -> list[tuple[str, str]]:
    """Every known zone for a <select>, with the empty choice meaning the browser's zone."""
    zones = sorted(z for z in known_zones() if "/" in z and not z.startswith(("Etc/", "SystemV/")))
    return [
        ("", "My browser's time zone"),
        ("UTC", "UTC"),
        *((z, z.replace("_", " ")) for z in zones),
    ]


def utc_stamp(moment: dt.datetime | None = None) -> str:
    """A moment for a file name, in UTC and saying so: 2026-12-01-0028-UTC."""
    moment = (moment or timezone.now()).astimezone(dt.UTC)
    return f"{moment:%Y-%m-%d-%H%M}-UTC"
