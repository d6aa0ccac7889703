"""Request-wide rules of the portal: the role gates and the reader's time zone."""

from __future__ import annotations

import zoneinfo
from collections.abc import Callable
from urllib.parse import unquote

from django.http import Http404, HttpRequest, HttpResponse
from django.urls import Resolver404, resolve
from django.utils import timezone

from .gates import GATES, gate_for
from .timezones import COOKIE, is_valid_zone


class RoleGateMiddleware:
    """A URL whose gate the signed-in user fails is a 404, before its view runs.

    Runs after `MFARequiredMiddleware`, so a colleague who has not passed the second factor is
    still sent to it first. Anonymous requests go on to the view (which asks them to sign in).
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            try:
                match = resolve(request.path_info)
            except Resolver404:
                match = None
            if match is not None:
                gate = gate_for(match.view_name, match.namespace)
                if gate is not None and not GATES[gate](user):
                    raise Http404("No such page.")
        return self.get_response(request)


class TimeZoneMiddleware:
    """Show moments in the reader's zone: profile choice, else the browser's (cookie), else the
    portal's default. Stored values stay in UTC; only what is shown changes."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        name, request.time_zone_source = reader_zone(request)  # type: ignore[attr-defined]
        if name:
            timezone.activate(zoneinfo.ZoneInfo(name))
        else:
            timezone.deactivate()
        try:
            return self.get_response(request)
        finally:
            timezone.deactivate()


def reader_zone(request: HttpRequest) -> tuple[str, str]:
    """The IANA name of the reader's zone ("" for the portal's default), and where it came from:
    "profile", "browser" or "default"."""
    user = getattr(request, "user", None)
    chosen = getattr(user, "time_zone", "") if user is not None and user.is_authenticated else ""
    if chosen and is_valid_zone(chosen):
        return chosen, "profile"
    reported = unquote(request.COOKIES.get(COOKIE, ""))
    if is_valid_zone(reported):
        return reported, "browser"
    return "", "default"
