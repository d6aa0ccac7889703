"""Middleware for every request: refuse control characters, keep pages out of caches, the role
gates and the reader's time zone."""

from __future__ import annotations

import zoneinfo
from collections.abc import Callable, Iterable
from urllib.parse import unquote

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBadRequest
from django.urls import Resolver404, resolve
from django.utils import timezone
from django.utils.cache import add_never_cache_headers
from django.utils.html import format_html

from portal.gates import GATES, gate_for
from portal.http import CONTROL_CHARACTERS, CONTROL_CHARACTERS_IN_TEXT
from portal.timezones import COOKIE, is_valid_zone

FORM_CONTENT_TYPES = {"application/x-www-form-urlencoded", "multipart/form-data"}
REFUSED_TITLE = "This could not be accepted"


class ControlCharacterMiddleware:
    """Refuse requests whose path, query or form fields hold control characters, with a 400.

    A NUL in a search box used to reach PostgreSQL and end in a 500; other control characters
    corrupt logs, CSV exports and the chat. POSTed values may keep tab, line feed and carriage
    return (text areas); nothing else may. Session and CSRF cookies holding them are dropped
    (as if absent) rather than refused, so a bad cookie cannot lock anyone out.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        for name in (settings.SESSION_COOKIE_NAME, settings.CSRF_COOKIE_NAME):
            if CONTROL_CHARACTERS.search(request.COOKIES.get(name, "")):
                del request.COOKIES[name]
        if field := self.refused_field(request):
            return refused_response(request, field)
        return self.get_response(request)

    def refused_field(self, request: HttpRequest) -> str | None:
        """The name of the first place holding a control character ("the address" for the path)."""
        if CONTROL_CHARACTERS.search(request.path_info) or CONTROL_CHARACTERS.search(request.path):
            return "the address"
        if field := first_bad(request.GET.lists(), CONTROL_CHARACTERS):
            return field
        if request.method == "POST" and request.content_type in FORM_CONTENT_TYPES:
            if field := first_bad(request.POST.lists(), CONTROL_CHARACTERS_IN_TEXT):
                return field
            for name, files in request.FILES.lists():
                if CONTROL_CHARACTERS.search(name):
                    return "a field name"
                if any(CONTROL_CHARACTERS.search(file.name or "") for file in files):
                    return name
        return None


def first_bad(items: Iterable[tuple[str, list[str]]], pattern: object) -> str | None:
    for name, values in items:
        if CONTROL_CHARACTERS.search(name):
            return "a field name"
        if any(pattern.search(value) for value in values):  # type: ignore[attr-defined]
            return name
    return None


def refused_response(request: HttpRequest, field: str) -> HttpResponse:
    where = field if field in {"the address", "a field name"} else f"the field “{field}”"
    message = (
        f"The text in {where} contains a control character (an invisible character such as "
        "NUL) that cannot be accepted. Remove it — retyping the text usually does — and try again."
    )
    if getattr(request, "htmx", False) or request.headers.get("HX-Request"):
        # portal.js shows the text of a response marked so in the page's alert region.
        response = HttpResponseBadRequest(message, content_type="text/plain; charset=utf-8")
        response["X-Refused-Reason"] = "control-characters"
        return response
    return HttpResponseBadRequest(
        format_html(
            '<!doctype html><html lang="en"><head><meta charset="utf-8">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            "<title>{} · {}</title></head><body><main>"
            "<h1>{}</h1><p>{}</p><p>Use your browser's Back button to return to what you "
            'typed, or <a href="/">go to the start page</a>.</p></main></body></html>',
            REFUSED_TITLE,
            settings.PRODUCT_NAME,
            REFUSED_TITLE,
            message,
        )
    )


class NoStoreMiddleware:
    """Every page, fragment, JSON answer and file the views send: `Cache-Control: no-store`.

    They carry patient data (or, signed out, invitation names and one-time forms), so no browser
    or proxy cache may keep them: a shared computer's back button or disk cache would show the
    last user's patients. Static files never reach this (WhiteNoise answers them first).
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if not request.path_info.startswith(settings.STATIC_URL):
            add_never_cache_headers(response)
        return response


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
